"""DynamoDB stream of the table, filtered to TTL deletions of media items: delete their
bytes, release them from the team's quota, invalidate the CDN (imgpro.expiry)."""

from imgpro.expiry import handle_stream_event
from imgpro.observability import worker_handler

handler = worker_handler("expire_media", handle_stream_event)
