"""DynamoDB stream of the table, filtered to TTL deletions of media items: delete their
bytes, release them from the team's quota, invalidate the CDN (imgpro.expiry)."""

from typing import Any

from imgpro.expiry import handle_stream_event


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_stream_event(event, context)
