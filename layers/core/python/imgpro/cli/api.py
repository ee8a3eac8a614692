"""The HTTP side of the client commands (`imgpro upload|list|show|update|delete`): the
API's JSON over urllib3, which boto3 brings along, so they run with the runtime
dependencies alone.

Every way a request can fail is one of two exceptions, each a sentence for a person:
`ApiError` (the API, or S3, answered an error) and `Unreachable` (no answer at all).
Neither is retried here: callers that may repeat a request (imgpro.cli.upload) decide
with `transient`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    import urllib3

API_URL_ENV = "IMGPRO_API_URL"
TOKEN_ENV = "IMGPRO_TOKEN"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0
"""A whole part (8 MiB) or a 4 MiB upload body is sent before the answer is awaited."""
USER_AGENT = "imgpro-cli/0.1"


class ClientError(Exception):
    """A mistake or a failure, in one line; `status` is the exit status."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(ClientError):
    """No HTTP answer: refused, not resolved, timed out, reset."""

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused
        """Nothing listens there (or no such host): likely a wrong URL or a stopped API,
        rather than a blip on the way."""


class ApiError(ClientError):
    """An error answer: the API's `{error, code, errors}`, or S3's XML, or anything else."""

    def __init__(
        self,
        status: int,
        *,
        error: str,
        code: str = "",
        errors: Mapping[str, list[str]] | None = None,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        self.http_status = status
        self.error = error
        self.code = code
        self.errors: dict[str, list[str]] = dict(errors or {})
        self.retry_after = retry_after
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        text = self.error.rstrip(".")
        if self.code:
            text += f" ({self.http_status} {self.code})"
        else:
            text += f" (HTTP {self.http_status})"
        if self.errors:
            text += ": " + "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in self.errors.items()
            )
        if self.http_status == 429:
            text += (
                f"; retry after {_seconds(self.retry_after)}"
                if self.retry_after is not None
                else "; retry later"
            )
        if self.hint:
            text += f"; {self.hint}"
        return text


@dataclass
class Api:
    """One API: its base URL (a deployed stack's `ApiUrl`, with its `/prod`), the token
    sent with every request to it, and one connection pool for it and S3."""

    base_url: str
    token: str | None = None
    answered: bool = False
    """The API has answered this process at least once (so a refused connection later on
    is a blip worth retrying, not a wrong URL)."""
    _pool: urllib3.PoolManager | None = field(default=None, repr=False)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | None] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: Iterable[bytes] | bytes | None = None,
    ) -> Any:
        """The API's JSON answer to `method path`, or None for an empty one (204).
        `body` is sent as JSON; `raw` as it is (its Content-Type in `headers`)."""
        sent = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload: Iterable[bytes] | bytes | None = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        url = self.url(path, query)
        response = self._send(method, url, payload, sent)
        self.answered = True
        data: bytes = response.data
        parsed = _json(data)
        if 200 <= response.status < 300:
            if not data:
                return None
            if parsed is _NOT_JSON:
                raise self._not_the_api(response, url)
            return parsed
        raise self._refusal(response, parsed, url)

    def put(self, url: str, chunks: Iterable[bytes], length: int) -> str:
        """PUT `length` bytes to a presigned S3 URL; the part's ETag."""
        response = self._send(
            "PUT",
            url,
            chunks,
            {"Content-Length": str(length), "User-Agent": USER_AGENT},
        )
        if 200 <= response.status < 300:
            etag = response.headers.get("ETag")
            if not etag:
                raise ApiError(response.status, error="S3 accepted a part but gave no ETag")
            return str(etag)
        raise _s3_refusal(response)

    def url(self, path: str, query: Mapping[str, str | int | None] | None = None) -> str:
        url = self.base_url.rstrip("/") + path
        given = {name: value for name, value in (query or {}).items() if value is not None}
        return f"{url}?{urlencode(given)}" if given else url

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()

    def _send(
        self,
        method: str,
        url: str,
        body: Iterable[bytes] | bytes | None,
        headers: Mapping[str, str],
    ) -> urllib3.BaseHTTPResponse:
        import urllib3
        from urllib3 import exceptions as http

        if self._pool is None:
            self._pool = urllib3.PoolManager(
                retries=False,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
            )
        origin = _origin(url)
        try:
            return self._pool.request(method, url, body=body, headers=dict(headers))
        except http.NameResolutionError:
            raise Unreachable(
                f"cannot find the host of {origin}: check the URL ({self._where(url)})",
                refused=True,
            ) from None
        except http.NewConnectionError as error:
            reason = _reason(error)
            raise Unreachable(
                f"cannot connect to {origin} ({reason}): is it running? ({self._where(url)})",
                refused=True,
            ) from None
        except http.ConnectTimeoutError:
            raise Unreachable(
                f"{origin} did not accept a connection within {CONNECT_TIMEOUT_S:g} s",
                refused=False,
            ) from None
        except http.ReadTimeoutError:
            raise Unreachable(
                f"{origin} did not answer within {READ_TIMEOUT_S:g} s", refused=False
            ) from None
        except http.SSLError as error:
            raise Unreachable(f"TLS with {origin} failed: {error}", refused=True) from None
        except http.HTTPError as error:  # reset, closed mid-answer, a proxy's refusal
            raise Unreachable(
                f"lost the connection to {origin}: {_reason(error)}", refused=False
            ) from None

    def _where(self, url: str) -> str:
        if _origin(url) == _origin(self.base_url):
            return (
                f"the API URL is {self.base_url}, from --api-url or ${API_URL_ENV}; "
                "`imgpro local` prints the local stack's"
            )
        return "S3, through a URL the API presigned"

    def _not_the_api(self, response: urllib3.BaseHTTPResponse, url: str) -> ApiError:
        kind = response.headers.get("Content-Type", "no content type")
        return ApiError(
            response.status,
            error=f"{url} answered {kind}, not the API's JSON",
            hint=f"is {self.base_url} the API's URL? (a deployed stack's ApiUrl ends in /prod)",
        )

    def _refusal(self, response: urllib3.BaseHTTPResponse, parsed: Any, url: str) -> ApiError:
        status = response.status
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if not isinstance(parsed, dict):
            return ApiError(
                status,
                error=f"{url} answered without the API's JSON error",
                retry_after=retry_after,
                hint=f"is {self.base_url} the API's URL?" if status in (403, 404) else "",
            )
        # The API's own {error, code, errors}; API Gateway's {message} for what it refuses
        # before any function runs (an unknown route: 403 "Missing Authentication Token").
        error = parsed.get("error") or parsed.get("message") or f"HTTP {status}"
        code = str(parsed.get("code") or "")
        errors = parsed.get("errors") if isinstance(parsed.get("errors"), dict) else None
        hint = ""
        if status == 401:
            hint = (
                f"check --token or ${TOKEN_ENV}"
                if self.token
                else f"this needs a token: pass --token or set ${TOKEN_ENV}"
            )
        elif status in (403, 404) and (not code or str(error).lower().rstrip(".") == "not found"):
            # No such route (API Gateway's 403 "Missing Authentication Token", or a plain
            # 404), rather than no such media: most likely not the API's URL.
            hint = f"is {self.base_url} the API's URL? (a deployed stack's ApiUrl ends in /prod)"
        return ApiError(
            status,
            error=str(error),
            code=code,
            errors={str(k): [str(m) for m in v] for k, v in (errors or {}).items()},
            retry_after=retry_after,
            hint=hint,
        )


def api_url(value: str) -> str:
    """An API base URL: http(s)://HOST[:PORT][/PATH]. ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{value!r} is not an API URL: use http(s)://HOST[:PORT][/PATH], like the "
            "`imgpro local stack:` line of `imgpro local`, or a deployed stack's ApiUrl"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(f"{value!r} has no valid port number") from None
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: an API URL has no query or fragment")
    return value.strip().rstrip("/")


def from_environment(url: str | None, token: str | None) -> Api:
    """The API the flags name, or the environment does."""
    raw_url = url if url is not None else os.environ.get(API_URL_ENV, "").strip()
    if not raw_url:
        raise ClientError(
            f"--api-url is required (or set ${API_URL_ENV}): the local stack's is "
            "http://127.0.0.1:8787, a deployed stack's is its ApiUrl output",
            status=2,
        )
    try:
        base = api_url(raw_url)
    except ValueError as problem:
        source = "--api-url" if url is not None else f"${API_URL_ENV}"
        raise ClientError(f"{source}: {problem}", status=2) from None
    secret = token if token is not None else os.environ.get(TOKEN_ENV, "").strip()
    return Api(base_url=base, token=secret or None)


def token_id(token: str | None) -> str:
    """The public part of a token (`ID` of `ID|SECRET`), never its secret."""
    if not token or "|" not in token:
        return ""
    return token.split("|", 1)[0]


def transient(error: ClientError, *, answered: bool) -> bool:
    """Might the same request succeed if sent again shortly?"""
    if isinstance(error, Unreachable):
        return answered or not error.refused
    if isinstance(error, ApiError):
        # 409: the same Idempotency-Key still in flight; 403 from S3: a presigned URL
        # that expired (a new one is signed for the retry).
        return (
            error.http_status in (408, 409, 429)
            or error.http_status >= 500
            or (error.code in ("RequestTimeout", "ExpiredToken", "AccessDenied", "SlowDown"))
        )
    return False


_NOT_JSON = object()


def _json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return _NOT_JSON


def _s3_refusal(response: urllib3.BaseHTTPResponse) -> ApiError:
    """S3's XML error (`<Code>`, `<Message>`) as an ApiError."""
    import re

    text = response.data.decode("utf-8", "replace")
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    return ApiError(
        response.status,
        error=f"S3 refused a part: {message.group(1) if message else 'no message'}",
        code=code.group(1) if code else "",
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: not what this API sends


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value is not None else "a while"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reason(error: BaseException) -> str:
    """The socket's words (`Connection refused`), not urllib3's wrapping of them."""
    text = str(error)
    marker = text.rfind("] ")
    if "[Errno" in text and marker != -1:
        return text[marker + 2 :].rstrip(")'\"")
    return text.split(": ", 1)[-1] if ": " in text else text
