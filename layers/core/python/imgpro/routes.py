"""The route table: one entry per API Gateway method, each served by its own Lambda.

Shared by the CDK stack (which wires each route to `functions/<function>/handler.py`)
and by the local stack (which dispatches HTTP requests to the same handler files), so
the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpro.keys import INCOMING

# What the deployed RestApi is configured with, and what the local stack mimics.
BINARY_MEDIA_TYPES: tuple[str, ...] = ("multipart/form-data", "image/*", "application/octet-stream")
"""Bodies of these types reach a function base64-encoded; all others as UTF-8 text."""
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
"""API Gateway's hard payload limit (10 MB, counted in MiB)."""
LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024
"""A synchronous Lambda invocation's payload limit; API Gateway answers 413 above it."""

# API Gateway answers both of its own 413s before any function runs, and AWS documents
# customizing the REQUEST_TOO_LARGE gateway response as unsupported: these are AWS's
# bodies, as observed (not documented), which the local stack answers too. Below them the
# upload function's own JSON 413 (`payload_too_large`) names POST /v1/upload/direct.
EVENT_TOO_LARGE = ("application/json", b'{"message": "Request Too Long"}')
"""Content type and body of API Gateway's 413 for an event over Lambda's 6 MB: a binary
upload over about 4.7 MB once base64-encoded."""
BODY_TOO_LARGE = ("text; charset=utf-8", b"HTTP content length exceeded 10485760 bytes.")
"""Content type and body of API Gateway's 413 for a body over its 10 MB."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """API Gateway resource path; `{name}` marks a path parameter."""
    function: str
    """Folder under `functions/` holding `handler.py` with a `handler(event, context)`."""
    decodes_images: bool = False
    """Whether the function needs the imaging layer (Pillow)."""


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "service_info"),
    Route("POST", "/v1/upload", "upload", decodes_images=True),
    Route("POST", "/v1/upload/direct", "upload_direct"),
    Route("POST", "/v1/import", "import_url", decodes_images=True),
    Route("GET", "/v1/media", "list_media"),
    Route("PATCH", "/v1/media", "batch_update"),
    Route("DELETE", "/v1/media", "batch_delete"),
    Route("GET", "/v1/media/{uid}", "get_media"),
    Route("PATCH", "/v1/media/{uid}", "update_media"),
    Route("DELETE", "/v1/media/{uid}", "delete_media"),
    Route("GET", "/{uid}", "share"),
    # Resumable uploads, in the shapes of Companion's S3 multipart API (imgpro.resumable).
    Route("POST", "/v1/uploads/s3/multipart", "multipart_create"),
    Route("GET", "/v1/uploads/s3/multipart/{uploadId}", "multipart_list_parts"),
    Route("DELETE", "/v1/uploads/s3/multipart/{uploadId}", "multipart_abort"),
    Route("GET", "/v1/uploads/s3/multipart/{uploadId}/batch", "multipart_sign_parts"),
    Route("GET", "/v1/uploads/s3/multipart/{uploadId}/{partNumber}", "multipart_sign_part"),
    Route("POST", "/v1/uploads/s3/multipart/{uploadId}/complete", "multipart_complete"),
    # Documentation: the OpenAPI document generated from this table (imgpro.openapi) and
    # the playground page that drives it (imgpro.playground).
    Route("GET", "/openapi.json", "openapi"),
    Route("GET", "/docs", "playground"),
    Route("GET", "/docs/{asset}", "playground"),
)


@dataclass(frozen=True)
class Worker:
    """A function that no route invokes: it runs on an event."""

    function: str
    """Folder under `functions/`, as for routes."""
    s3_prefix: str
    """It runs for every object created under this key prefix of the media bucket."""
    decodes_images: bool = True


# Large uploads land under `incoming/` through a presigned POST; this worker turns each
# into stored media (imgpro.processing).
WORKERS: tuple[Worker, ...] = (Worker("process_upload", s3_prefix=INCOMING),)
