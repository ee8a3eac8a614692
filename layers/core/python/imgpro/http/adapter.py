"""Turn an endpoint into a Lambda handler: event in, proxy response out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from imgpro.clients import bind_table
from imgpro.errors import ApiError
from imgpro.http.requests import Request, request_from_event
from imgpro.http.responses import Response

logger = logging.getLogger("imgpro")

Endpoint = Callable[[Request], Response]
Handler = Callable[[Mapping[str, Any], Any], dict[str, Any]]

INTERNAL_ERROR = {"error": "Internal server error", "code": "internal_error"}

# Tests set this so that a bug fails the test with its traceback instead of
# hiding in a 500 (Starlette's TestClient does the same).
raise_server_errors = False


def lambda_handler(endpoint: Endpoint) -> Handler:
    def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return handle(endpoint, event, context).to_proxy()

    handler.__name__ = f"{endpoint.__name__}_handler"
    handler.__doc__ = endpoint.__doc__
    return handler


def handle(endpoint: Endpoint, event: Mapping[str, Any], context: Any = None) -> Response:
    try:
        bind_table()
        return endpoint(request_from_event(event, context))
    except ApiError as error:
        return error_response(error)
    except Exception:
        if raise_server_errors:
            raise
        logger.exception("unhandled error in %s", endpoint.__name__)
        return Response.json(500, INTERNAL_ERROR)


def error_response(error: ApiError) -> Response:
    return Response.json(error.status, error.body(), error.headers())
