"""The resize function's adapter: a Lambda Function URL event (payload 2.0) in, the
delivery's bytes out. CloudFront sends the rewritten key path as the request path, and
the viewer's own path and query in `x-imgpro-viewer-url` (set by the viewer function),
which a body too big for a buffered response is redirected to (`imgpro.delivery`).

Each request is one invocation (`imgpro.observability`): its log lines carry the method
and key path, never the query or the viewer URL, which hold a signed URL's signature."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from typing import Any

from imgpro import observability
from imgpro.clients import bind_table

logger = logging.getLogger("imgpro")

INTERNAL_ERROR = "internal_error"
MAX_LOGGED_PATH = 256


def origin_handler() -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    observability.setup()

    def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        request_context = event.get("requestContext") or {}
        method = str(request_context.get("http", {}).get("method", "GET"))
        path = str(event.get("rawPath") or "/")
        with observability.invocation(
            f"{method} origin",
            context,
            route=f"{method} origin",
            path=path[:MAX_LOGGED_PATH],
            correlation_id=request_context.get("requestId"),
        ) as current:
            response = _respond(event, method, path)
            current.status = int(response["statusCode"])
            return response

    return handler


def _respond(event: Mapping[str, Any], method: str, path: str) -> dict[str, Any]:
    from imgpro.delivery import VIEWER_URL_HEADER, from_origin

    if method not in ("GET", "HEAD"):
        return {"statusCode": 405, "headers": {"Allow": "GET, HEAD"}, "body": ""}
    bind_table()
    try:
        # Function URL events name headers in lower case.
        viewer = (event.get("headers") or {}).get(VIEWER_URL_HEADER)
        delivered = from_origin(path, viewer=viewer)
    except Exception:
        observability.add_error(INTERNAL_ERROR)
        logger.exception("resize failed for %s", path)
        # Not cached by CloudFront for long, and says nothing about the bug.
        return {"statusCode": 500, "headers": {"Cache-Control": "no-store"}, "body": ""}
    return {
        "statusCode": delivered.status,
        "headers": delivered.headers,
        "body": base64.b64encode(delivered.body).decode() if method == "GET" else "",
        "isBase64Encoded": method == "GET",
    }
