"""The resize function's adapter: a Lambda Function URL event (payload 2.0) in, the
delivery's bytes out. CloudFront sends the rewritten key path as the request path, and
the viewer's own path and query in `x-imgpro-viewer-url` (set by the viewer function),
which a body too big for a buffered response is redirected to (`imgpro.delivery`)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from typing import Any

from imgpro.clients import bind_table

logger = logging.getLogger("imgpro")


def origin_handler() -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        from imgpro.delivery import VIEWER_URL_HEADER, from_origin

        method = (event.get("requestContext") or {}).get("http", {}).get("method", "GET")
        if method not in ("GET", "HEAD"):
            return {"statusCode": 405, "headers": {"Allow": "GET, HEAD"}, "body": ""}
        bind_table()
        try:
            # Function URL events name headers in lower case.
            viewer = (event.get("headers") or {}).get(VIEWER_URL_HEADER)
            delivered = from_origin(str(event.get("rawPath") or "/"), viewer=viewer)
        except Exception:
            logger.exception("resize failed for %s", event.get("rawPath"))
            # Not cached by CloudFront for long, and says nothing about the bug.
            return {"statusCode": 500, "headers": {"Cache-Control": "no-store"}, "body": ""}
        return {
            "statusCode": delivered.status,
            "headers": delivered.headers,
            "body": base64.b64encode(delivered.body).decode() if method == "GET" else "",
            "isBase64Encoded": method == "GET",
        }

    return handler
