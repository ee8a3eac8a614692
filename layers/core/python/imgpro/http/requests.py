"""An API Gateway REST proxy event, as a request the endpoints can read."""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgpro.errors import BadRequest

if TYPE_CHECKING:
    from imgpro.http.multipart import Form


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased names; a repeated header keeps its last value."""
    query: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = ""
    """Scheme, host and stage of this API, e.g. `https://abc.execute-api.../prod`."""
    remaining_ms: Callable[[], int] | None = None
    """Milliseconds left before the platform ends this request, when it says."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return self.header("content-type") or ""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        if not self.body.strip():
            return {}
        value = parse_json(self.body)
        if not isinstance(value, dict):
            raise BadRequest("The request body must be a JSON object")
        return value

    def form(self) -> Form:
        # The form parser (python-multipart) is loaded by the one route that reads forms.
        from imgpro.http.multipart import parse_form

        return parse_form(self.body, self.content_type)


MAX_NUMBER_DIGITS = 32
"""The most digits a number in a JSON body may have. No field takes more than 12 (a TTL),
any double a JSON library writes fits (JavaScript writes up to 21 digits), and it stays
far below the 4,300 digits at which Python's int() gives up with a plain ValueError."""


def parse_json(text: bytes | str) -> Any:
    """A client's JSON document, strictly: BadRequest for anything Python's parser refuses,
    for NaN and Infinity, and for numbers longer than `MAX_NUMBER_DIGITS` digits."""
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, UnicodeDecodeError and int() refusing a
        # number; RecursionError is nesting deeper than the interpreter's stack.
        raise BadRequest("The request body is not valid JSON") from None


def _parse_int(literal: str) -> int:
    _check_digits(literal)
    return int(literal)


def _parse_float(literal: str) -> float:
    _check_digits(literal)
    value = float(literal)
    # `1e999` is valid JSON that Python reads as infinity, which no field can hold.
    if not math.isfinite(value):
        raise BadRequest(f"The number {literal} in the request body is out of range")
    return value


def _check_digits(literal: str) -> None:
    if sum(ch.isdigit() for ch in literal) > MAX_NUMBER_DIGITS:
        raise BadRequest(f"Numbers in the request body may have at most {MAX_NUMBER_DIGITS} digits")


def _refuse_constant(literal: str) -> Any:
    # Python accepts these by default, but they are not JSON and no client sends them.
    raise BadRequest(f"The request body is not valid JSON: {literal} is not a JSON number")


def _decoded(body: str) -> bytes:
    """API Gateway's base64 of a binary body. pybase64 decodes with SIMD: a 4 MB upload's
    body in about 1.5 ms, where the standard library's loop takes about 10. Loaded with
    the first binary body: the read routes never receive one."""
    import pybase64

    try:
        return pybase64.b64decode(body, validate=True)
    except binascii.Error:
        raise BadRequest("The request body is not valid base64") from None


def request_from_event(event: Mapping[str, Any], context: Any = None) -> Request:
    headers = _headers(event)
    body = event.get("body") or ""
    raw = _decoded(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    query = {
        key: values[-1]
        for key, values in (event.get("multiValueQueryStringParameters") or {}).items()
        if values
    } or dict(event.get("queryStringParameters") or {})
    return Request(
        method=str(event.get("httpMethod", "GET")).upper(),
        path=str(event.get("path", "/")),
        headers=headers,
        query=query,
        path_params=dict(event.get("pathParameters") or {}),
        body=raw,
        base_url=_base_url(event, headers),
        remaining_ms=getattr(context, "get_remaining_time_in_millis", None),
    )


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    multi = event.get("multiValueHeaders") or {}
    if multi:
        return {name.lower(): values[-1] for name, values in multi.items() if values}
    return {name.lower(): value for name, value in (event.get("headers") or {}).items()}


def _base_url(event: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """This API's own base URL, built from the request rather than configured,
    because a Lambda cannot know its API's URL at deploy time without a cycle."""
    context = event.get("requestContext") or {}
    host = headers.get("host") or context.get("domainName") or "localhost"
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    # On the execute-api domain the stage is part of the path; on a custom domain
    # (or the local stack) requestContext.path equals the resource path.
    full_path = str(context.get("path") or event.get("path") or "")
    path = str(event.get("path") or "")
    prefix = full_path[: len(full_path) - len(path)] if path and full_path.endswith(path) else ""
    return f"{scheme}://{host}{prefix}".rstrip("/")
