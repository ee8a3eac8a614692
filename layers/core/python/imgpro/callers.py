"""Who is asking: the caller a request's bearer token authenticates, charged to its
rate limit and checked for the ability the route needs."""

from __future__ import annotations

from imgpro import ratelimit
from imgpro.auth import READ, Caller, authenticate, parse_authorization
from imgpro.errors import Unauthorized
from imgpro.http import Request


def caller(request: Request, ability: str) -> Caller:
    """The authenticated caller; 401 without credentials."""
    found = viewer(request, ability)
    if found is None:
        raise Unauthorized()
    return found


def viewer(request: Request, ability: str = READ) -> Caller | None:
    """The authenticated caller, or None for a request without credentials.

    Credentials that are present but wrong are a 401 even where auth is optional.
    """
    presented = parse_authorization(request.header("authorization"))
    if presented is None:
        return None
    found = authenticate(presented)
    ratelimit.charge(found.token_id)  # before any work; a refusal is a 429
    found.require(ability)
    return found
