"""One hierarchy for every error a client can cause.

Each error carries its HTTP status, its machine-readable `code` and a message a
person can act on. `imgpro.http` turns them into the seed's JSON body; anything
that is not an `ApiError` is a bug and becomes a logged 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ApiError(Exception):
    status: int = 400
    code: str = "bad_request"
    message: str = "Bad request"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or type(self).message
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code}

    def headers(self) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, {self.message!r})"


class ValidationFailed(ApiError):
    """One or more request fields are invalid; `errors` maps each field to its messages."""

    status = 400
    code = "validation_error"
    message = "Validation failed"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        self.errors = {field: list(messages) for field, messages in errors.items()}

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls({name: [message]})

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "errors": self.errors}


class BadRequest(ApiError):
    """The request as a whole is unusable (not a field of it): wrong content type, bad JSON."""

    status = 400
    code = "validation_error"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = "Invalid or missing authentication token"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="imgpro"'}


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    message = "This token does not have the required ability"


class QuotaExceeded(ApiError):
    """The team's plan (or the operator's override) allows no more: images this month, or
    bytes stored (imgpro.quotas). The message says which limit, with the numbers."""

    status = 403
    code = "quota_exceeded"
    message = "Monthly quota exceeded"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = "Media not found"


class Conflict(ApiError):
    status = 409
    code = "conflict"
    message = "A request with this Idempotency-Key is still being processed; retry shortly"


class IdempotencyKeyReused(ApiError):
    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body"


class RateLimited(ApiError):
    """The token has used up a rate-limit window (imgpro.ratelimit); `Retry-After` says
    when the window that refused it ends."""

    status = 429
    code = "rate_limited"
    message = "Rate limit exceeded"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large"


class ImportFailed(ApiError):
    """The remote server behind an import URL failed: unreachable, or it answered an error."""

    status = 502
    code = "import_failed"
    message = "Import from URL failed"


class FetchTimeout(ApiError):
    status = 504
    code = "fetch_timeout"
    message = "The URL fetch timed out"
