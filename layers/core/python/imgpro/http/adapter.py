"""Turn an endpoint into a Lambda handler: event in, proxy response out."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from imgpro import config, observability, ratelimit
from imgpro.clients import bind_table
from imgpro.errors import ApiError, QuotaExceeded, RateLimited
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
    """The Lambda handler of a route: one invocation (`imgpro.observability`) per request,
    its log lines keyed by route, request ids and team, its summary line and metrics
    written at its end."""
    observability.setup()

    def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        route = route_of(event)
        with observability.invocation(
            route,
            context,
            route=route,
            # The path only: a query string is never logged.
            path=str(event.get("path") or "")[:MAX_LOGGED_PATH] or None,
            correlation_id=(event.get("requestContext") or {}).get("requestId"),
        ) as current:
            response = handle(endpoint, event, context)
            current.status = response.status
            return response.to_proxy()

    handler.__name__ = f"{endpoint.__name__}_handler"
    handler.__doc__ = endpoint.__doc__
    return handler


MAX_LOGGED_PATH = 256
"""Characters of a request's path its log lines carry."""


def route_of(event: Mapping[str, Any]) -> str:
    """`METHOD /resource/{path}`: the API Gateway resource, not the path asked for."""
    request_context = event.get("requestContext") or {}
    method = str(event.get("httpMethod") or request_context.get("httpMethod") or "?").upper()
    resource = event.get("resource") or request_context.get("resourcePath") or "?"
    return f"{method} {resource}"


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
        observe_error(error)
        return error_response(error)
    except Exception:
        observability.add_error(INTERNAL_ERROR["code"])
        if raise_server_errors:
            raise
        logger.exception("unhandled error in %s", endpoint.__name__)
        return Response.json(500, INTERNAL_ERROR)


def observe_error(error: ApiError) -> None:
    """The metrics of an error answered: `Errors` by code, and the refusals that say a
    team or token is at its limit."""
    observability.add_error(error.code)
    if isinstance(error, RateLimited):
        observability.add_metric(observability.RATE_LIMITED)
    elif isinstance(error, QuotaExceeded):
        observability.add_metric(observability.QUOTA_REFUSED)


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
