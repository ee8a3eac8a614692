"""The invalidation queue: each message becomes one CloudFront invalidation, retried by
SQS until CloudFront takes it (imgpro.invalidation)."""

from imgpro.invalidation import handle_queue_event
from imgpro.observability import worker_handler

handler = worker_handler("invalidate", handle_queue_event)
