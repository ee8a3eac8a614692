"""The invalidation queue: each message becomes one CloudFront invalidation, retried by
SQS until CloudFront takes it (imgpro.invalidation)."""

from typing import Any

from imgpro.invalidation import handle_queue_event


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_queue_event(event, context)
