"""HTTP request ⇄ API Gateway REST proxy (v1) event and response, as API Gateway does it.

Pure functions: no sockets, no clock, no randomness (the caller passes the request id
and time), so every rule here is unit-tested against what the deployed API does.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from imgpro.routes import BINARY_MEDIA_TYPES, ROUTES, Route

STAGE = "local"
ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs agree with moto's
API_ID = "imgprolocal"

# Hop-by-hop headers that API Gateway does not hand to the integration.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "expect", "max-forwards", "proxy-authenticate"}
)
# API Gateway renames these integration response headers to `x-amzn-Remapped-<name>`
# (its own Date, Server and Connection win), and drops the hop-by-hop ones; the local
# stack does the same so a header that would vanish in AWS vanishes here too.
_REMAPPED_RESPONSE_HEADERS = frozenset(
    {"authorization", "connection", "content-md5", "date", "max-forwards", "server"}
    | {"user-agent", "www-authenticate"}
)
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "host", "keep-alive", "proxy-authenticate", "te", "trailer"}
    | {"transfer-encoding", "upgrade"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    """The request target as sent: path plus optional `?query`, still percent-encoded."""
    headers: Sequence[tuple[str, str]] = ()
    """Every header line in arrival order, names as the client spelled them."""
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    server_port: int = 80

    def header(self, name: str) -> str | None:
        """The last value of a header, by case-insensitive name."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        values = [value for key, value in self.headers if key.lower() == wanted]
        return values[-1] if values else None


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str] | None
    """None when the resource path has no `{param}`, as in API Gateway's event."""


class MalformedProxyResponse(ValueError):
    """A handler returned something API Gateway would answer with a 502."""


def split_target(target: str) -> tuple[str, str]:
    """(raw path, raw query) of a request target; an absolute-form target keeps its path."""
    path, _, query = target.partition("?")
    path = path.partition("#")[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return path or "/", query


def query_parameters(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs; `+` is a space, as API Gateway decodes it."""
    return parse_qsl(raw_query, keep_blank_values=True)


def match_route(method: str, raw_path: str, routes: Iterable[Route] = ROUTES) -> RouteMatch | None:
    """The route API Gateway would invoke for this method and path, if any.

    Resources form a tree, and at each level a literal segment beats a `{param}`:
    `/v1/media` is never `/{uid}`. A path that reaches a resource with no method of
    that name (including the bare `/v1` in between) is not found, as in API Gateway.
    """
    segments = _segments(raw_path)
    if segments is None:
        return None
    routes = tuple(routes)
    best: tuple[tuple[int, ...], tuple[str, ...], dict[str, str]] | None = None
    for resource in _resources(routes):
        bound = _bind(resource, segments)
        if bound is None:
            continue
        rank = tuple(1 if _is_param(part) else 0 for part in resource)
        if best is None or rank < best[0]:
            best = (rank, resource, bound)
    if best is None:
        return None
    _, resource, parameters = best
    for route in routes:
        if route.method == method.upper() and _resource_parts(route.path) == resource:
            return RouteMatch(route=route, path_parameters=parameters or None)
    return None


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    request_id: str,
    request_time_ms: int,
    stage: str = STAGE,
) -> dict[str, Any]:
    """The REST proxy event API Gateway would send the route's function."""
    raw_path, raw_query = split_target(request.target)
    path = unquote(raw_path)
    headers, multi_headers = _event_headers(request)
    query, multi_query = _event_query(raw_query)
    body, is_base64 = _event_body(request)
    host = request.header("Host") or ""
    return {
        "resource": match.route.path,
        "path": path,
        "httpMethod": request.method.upper(),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": _resource_id(match.route.path),
            "resourcePath": match.route.path,
            "httpMethod": request.method.upper(),
            "extendedRequestId": request_id,
            "requestTime": _request_time(request_time_ms),
            # A custom domain's form: the local stack serves at its root, with no
            # `/<stage>` prefix, so the path is the client's path.
            "path": path,
            "accountId": ACCOUNT_ID,
            "protocol": request.protocol,
            "stage": stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": request_time_ms,
            "requestId": request_id,
            "identity": _identity(request),
            "domainName": host,
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def is_binary_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    for binary in BINARY_MEDIA_TYPES:
        binary_kind, _, binary_subtype = binary.partition("/")
        if kind == binary_kind and binary_subtype in ("*", subtype):
            return True
    return False


def to_http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a proxy response.

    `headers` and `multiValueHeaders` are merged; a name in both takes only its
    multi-value list, as API Gateway documents. Anything API Gateway would reject
    as malformed raises MalformedProxyResponse.
    """
    if not isinstance(result, Mapping):
        raise MalformedProxyResponse(f"a proxy response must be an object, got {type(result)}")
    status = _status(result.get("statusCode"))
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, value in _mapping(result, "headers").items():
        merged[name.lower()] = (name, [_header_value(name, value)])
    for name, values in _mapping(result, "multiValueHeaders").items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        merged[name.lower()] = (name, [_header_value(name, value) for value in values])
    headers: list[tuple[str, str]] = []
    for lower, (name, values) in merged.items():
        if lower in _DROPPED_RESPONSE_HEADERS:
            continue
        shown = f"x-amzn-Remapped-{name}" if lower in _REMAPPED_RESPONSE_HEADERS else name
        headers.extend((shown, value) for value in values)
    if "content-type" not in merged:
        # API Gateway labels a proxy response without a Content-Type as JSON.
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status=status, headers=tuple(headers), body=_response_body(result))


def _segments(raw_path: str) -> tuple[str, ...] | None:
    if raw_path == "/":
        return ()
    if not raw_path.startswith("/"):
        return None
    parts = tuple(raw_path[1:].split("/"))
    # An empty segment (`//`, a trailing `/`) never matches a resource.
    return None if any(part == "" for part in parts) else parts


def _resource_parts(resource_path: str) -> tuple[str, ...]:
    return tuple(part for part in resource_path.split("/") if part)


def _resources(routes: Sequence[Route]) -> set[tuple[str, ...]]:
    # Every prefix of a route's path is a resource of its own (CDK creates `/v1` to
    # hang `/v1/media` on), so it can be matched, and then have no method.
    resources: set[tuple[str, ...]] = set()
    for route in routes:
        parts = _resource_parts(route.path)
        resources.update(parts[:depth] for depth in range(len(parts) + 1))
    return resources


def _is_param(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


def _bind(resource: tuple[str, ...], segments: tuple[str, ...]) -> dict[str, str] | None:
    if len(resource) != len(segments):
        return None
    parameters: dict[str, str] = {}
    for part, segment in zip(resource, segments, strict=True):
        if _is_param(part):
            parameters[part[1:-1]] = unquote(segment)
        elif part != unquote(segment):
            return None
    return parameters


def _resource_id(resource_path: str) -> str:
    # API Gateway's resource ids are short, stable per resource; any stable token will do.
    return format(binascii.crc32(resource_path.encode()) & 0xFFFFFF, "06x")


def _event_headers(request: HttpRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    names: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        lower = name.lower()
        if lower in _DROPPED_REQUEST_HEADERS:
            continue
        shown = names.setdefault(lower, name)
        multi.setdefault(shown, []).append(value)
    forwarded = request.header("X-Forwarded-For")
    added = {
        "X-Forwarded-For": f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip,
        "X-Forwarded-Port": str(request.server_port),
        "X-Forwarded-Proto": "http",
    }
    for name, value in added.items():
        multi.pop(names.pop(name.lower(), name), None)
        multi[name] = [value]
    return {name: values[-1] for name, values in multi.items()}, multi


def _event_query(raw_query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    pairs = query_parameters(raw_query)
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _event_body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_binary_media_type(request.header("Content-Type")):
        return base64.b64encode(request.body).decode("ascii"), True
    # API Gateway hands a non-binary body over as text whatever its bytes were.
    return request.body.decode("utf-8", errors="replace"), False


def _request_time(epoch_ms: int) -> str:
    # Spelled out rather than strftime("%b"), whose month names follow the locale.
    t = time.gmtime(epoch_ms / 1000)
    month = _MONTHS[t.tm_mon - 1]
    return (
        f"{t.tm_mday:02d}/{month}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _identity(request: HttpRequest) -> dict[str, Any]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent"),
        "user": None,
    }


def _status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedProxyResponse(f"statusCode must be an integer, got {value!r}")
    try:
        status = int(value)
    except ValueError:
        raise MalformedProxyResponse(f"statusCode must be an integer, got {value!r}") from None
    if not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status} is not an HTTP status")
    return status


def _mapping(result: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedProxyResponse(f"{key} must be an object, got {type(value)}")
    return value


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse(f"header {name!r} must be a string, got {type(value)}")


def _response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body)}")
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise MalformedProxyResponse(f"body is not valid base64: {error}") from None
    return body.encode("utf-8")
