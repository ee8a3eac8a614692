"""What can go wrong with an import, as the API will report it.

`str(error)` and `error.message` are meant for the client as they are. They never contain an
address the fetcher resolved, only what the client sent: a refused destination reads the same
whether the URL named a private IP or a name that resolves to one, so that the answer does not
map the internal network (SECURITY-NOTES, "Importing from a URL").
"""

from __future__ import annotations


class FetchError(Exception):
    """Base of every fetch failure."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FetchRefused(FetchError):
    """The URL is unusable, or where it leads (first URL or any redirect) is not allowed."""


class FetchTooLarge(FetchError):
    """The body is over the policy's byte cap."""


class FetchFailed(FetchError):
    """The remote side failed: unreachable, TLS, an error status, a broken redirect."""

    def __init__(self, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


class FetchTimedOut(FetchError):
    """The whole fetch did not finish within the policy's deadline."""
