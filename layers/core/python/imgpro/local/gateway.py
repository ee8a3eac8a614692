"""What API Gateway and CloudFront do in front of the code, as one dispatcher.

`Gateway.dispatch` takes an `HttpRequest` and gives the `HttpResponse` the deployed
system would: `/cdn/...` goes to the CDN emulation, `/_local/clock` (local only) reads
or moves the clock (`imgpro.local.clock_control`), everything else through route
matching, the 10 MiB body limit, Lambda's 6 MiB event limit and the route's handler,
with the gateway's own errors in the API's `{"error", "code"}` shape (as `infra/api.py`
configures them), except the two 413s, which API Gateway answers in its own words
whatever is configured (`imgpro.routes.BODY_TOO_LARGE`, `EVENT_TOO_LARGE`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Protocol

from imgpro.local import clock_control
from imgpro.local.events import (
    HttpRequest,
    HttpResponse,
    build_event,
    match_route,
    query_parameters,
    split_target,
    to_http_response,
)
from imgpro.local.lambdas import Functions
from imgpro.routes import (
    BODY_TOO_LARGE,
    EVENT_TOO_LARGE,
    GATEWAY_MAX_BODY_BYTES,
    LAMBDA_MAX_EVENT_BYTES,
    ROUTES,
    Route,
)

MAX_BODY_BYTES = GATEWAY_MAX_BODY_BYTES
MAX_EVENT_BYTES = LAMBDA_MAX_EVENT_BYTES
CDN_PREFIX = "/cdn"

logger = logging.getLogger("imgpro.local")


class Delivered(Protocol):
    # Read-only, so that a `Delivery` (whose headers are a dict) is one.
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


Deliver = Callable[[str, dict[str, str], dict[str, str]], Delivered]


class CdnQuery(dict[str, str]):
    """A CDN request's decoded query parameters (the last of a repeated one wins), which
    also keep the query string as sent in `raw`: CloudFront checks a signed URL on that,
    parameter order and repeats included (`imgpro.delivery.deliver` reads it)."""

    def __init__(self, pairs: list[tuple[str, str]], *, raw: str) -> None:
        super().__init__(pairs)
        self.raw = raw


def gateway_error(status: int, message: str, code: str) -> HttpResponse:
    body = json.dumps({"error": message, "code": code}).encode()
    return HttpResponse(status=status, headers=(("Content-Type", "application/json"),), body=body)


def not_found() -> HttpResponse:
    return gateway_error(404, "Not found", "not_found")


def too_large(answer: tuple[str, bytes]) -> HttpResponse:
    """One of API Gateway's own 413s (not customizable: imgpro.routes)."""
    content_type, body = answer
    return HttpResponse(status=413, headers=(("Content-Type", content_type),), body=body)


def length_required() -> HttpResponse:
    return gateway_error(
        411, "Send the request body with a Content-Length header", "length_required"
    )


def bad_request(message: str) -> HttpResponse:
    return gateway_error(400, message, "bad_request")


def internal_error() -> HttpResponse:
    # What API Gateway's Default5xx response says when the integration failed.
    return gateway_error(502, "Internal server error", "internal_error")


class Gateway:
    def __init__(
        self,
        functions: Functions,
        *,
        routes: tuple[Route, ...] = ROUTES,
        deliver: Deliver | None = None,
        raise_server_exceptions: bool = False,
    ) -> None:
        """`deliver` defaults to `imgpro.delivery.deliver`; `raise_server_exceptions`
        lets in-process tests see a handler's exception instead of its 502."""
        self.functions = functions
        self.routes = routes
        self._deliver = deliver
        self._raise = raise_server_exceptions

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > MAX_BODY_BYTES:
            return too_large(BODY_TOO_LARGE)
        raw_path, raw_query = split_target(request.target)
        if raw_path.startswith(CDN_PREFIX + "/"):
            return self._from_cdn(request, raw_path[len(CDN_PREFIX) :], raw_query)
        if raw_path == clock_control.PATH:
            return clock_control.handle(request)
        request_id = str(uuid.uuid4())
        response = self._from_api(request, raw_path, request_id)
        # API Gateway names its request id on every response, errors included.
        return HttpResponse(
            status=response.status,
            headers=(*response.headers, ("x-amzn-RequestId", request_id)),
            body=response.body,
        )

    def _from_api(self, request: HttpRequest, raw_path: str, request_id: str) -> HttpResponse:
        match = match_route(request.method, raw_path, self.routes)
        if match is None:
            return not_found()
        event = build_event(
            request, match, request_id=request_id, request_time_ms=int(time.time() * 1000)
        )
        if len(json.dumps(event)) > MAX_EVENT_BYTES:
            # Lambda refuses a synchronous payload over 6 MiB, so API Gateway answers
            # 413 without running the function: a 4.8 MB binary upload is already over
            # once base64-encoded.
            return too_large(EVENT_TOO_LARGE)
        try:
            return to_http_response(self.functions.invoke(match.route.function, event))
        except Exception:
            if self._raise:
                raise
            logger.exception(
                "%s %s: function %s failed; answering 502 as API Gateway does",
                request.method,
                raw_path,
                match.route.function,
            )
            return internal_error()

    def _from_cdn(self, request: HttpRequest, path: str, raw_query: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return gateway_error(405, "The CDN serves only GET and HEAD", "method_not_allowed")
        # A function URL event (what CloudFront's origin gets) has lower-case header
        # names and repeated headers joined by commas; the query keeps last values.
        headers: dict[str, str] = {}
        for name, value in request.headers:
            lower = name.lower()
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
        query = CdnQuery(query_parameters(raw_query), raw=raw_query)
        try:
            delivered = self._deliver_function()(path, query, headers)
            return HttpResponse(
                status=int(delivered.status),
                headers=tuple((str(k), str(v)) for k, v in delivered.headers.items()),
                body=bytes(delivered.body),
            )
        except Exception:
            if self._raise:
                raise
            logger.exception("GET %s%s: delivery failed; answering 502", CDN_PREFIX, path)
            return internal_error()

    def _deliver_function(self) -> Deliver:
        if self._deliver is None:
            # Imported on first use: delivery pulls in the media service and its clients.
            from imgpro.delivery import deliver

            self._deliver = deliver
        return self._deliver
