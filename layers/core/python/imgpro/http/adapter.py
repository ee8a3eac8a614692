"""Turn an endpoint into a Lambda handler: event in, proxy response out."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from imgpro import config, ratelimit
from imgpro.clients import bind_table
from imgpro.errors import ApiError
from imgpro.http.requests import Request, request_from_event
from imgpro.http.responses import Response

logger = logging.getLogger("imgpro")

Endpoint = Callable[[Request], Response]
Handler = Callable[[Mapping[str, Any], Any], dict[str, Any]]

CORS_ORIGINS = config.CORS_ORIGINS
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
    """The endpoint's response, or its error's; either way with the rate-limit headers of
    the token the request was charged to, if any (imgpro.ratelimit)."""
    ratelimit.begin_request()
    response = with_rate_limit_headers(_respond(endpoint, event, context), ratelimit.current())
    return with_cors_headers(response, event)


def with_cors_headers(response: Response, event: Mapping[str, Any]) -> Response:
    """`Access-Control-Allow-Origin` for a request from an origin IMGPRO_CORS_ORIGINS
    allows (the stack's `imgpro:corsOrigins`); the response unchanged otherwise. The
    gateway answers preflights itself."""
    allowed = [o.strip() for o in os.environ.get(CORS_ORIGINS, "").split(",") if o.strip()]
    if not allowed:
        return response
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    if "*" in allowed:
        value = "*"
    elif origin in allowed:
        value = str(origin)
    else:
        return response
    cors = {
        "Access-Control-Allow-Origin": value,
        "Access-Control-Expose-Headers": (
            "X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After"
        ),
    }
    if value != "*":
        cors["Vary"] = "Origin"
    return dataclasses.replace(response, headers={**response.headers, **cors})


def _respond(endpoint: Endpoint, event: Mapping[str, Any], context: Any) -> Response:
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


def with_rate_limit_headers(response: Response, usage: ratelimit.Usage | None) -> Response:
    """`X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds) of the window that
    binds first; the response unchanged when the request was not charged to a token."""
    if usage is None:
        return response
    headers = {
        **response.headers,
        "X-RateLimit-Limit": str(usage.limit),
        "X-RateLimit-Remaining": str(usage.remaining),
        "X-RateLimit-Reset": str(usage.reset),
    }
    return dataclasses.replace(response, headers=headers)


def error_response(error: ApiError) -> Response:
    return Response.json(error.status, error.body(), error.headers())
