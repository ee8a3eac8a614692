"""S3 ObjectCreated on incoming/ : process a large upload into stored media."""

from typing import Any

from imgpro.observability import worker_handler
from imgpro.processing import handle_s3_event


def process(event: dict[str, Any], context: Any) -> None:
    handle_s3_event(event)


handler = worker_handler("process_upload", process)
