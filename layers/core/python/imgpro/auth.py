"""Bearer tokens: parsing, hashing, lookup and abilities.

Tokens follow Laravel Sanctum: `{id}|{secret}` or just `{secret}`. Only
sha256(secret) is stored; the id, when given, must be the id of the token whose
secret it is, so a right secret with a wrong id is refused.

A revoked token is one whose item is gone (`imgpro token revoke`): the lookup is a
strongly consistent read, so it stops working with the next request, not a moment later.
A token that authenticates has its `last_used_ms` set, at most once a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from imgpro import clock, observability
from imgpro.errors import Forbidden, Unauthorized
from imgpro.models import META, TokenItem, token_pk

logger = logging.getLogger("imgpro")

READ = "read"
WRITE = "write"
ALL = "*"
ABILITIES = frozenset({ALL, READ, WRITE})

_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SECRET_LENGTH = 40
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
USE_RECORD_INTERVAL_MS = 60_000
"""A token's `last_used_ms` is written at most this often: one UpdateItem a minute per
token in use, not one a request."""


@dataclass(frozen=True)
class Caller:
    """Who is making an authenticated request."""

    team_id: str
    token_id: int
    abilities: frozenset[str]

    def can(self, ability: str) -> bool:
        return ALL in self.abilities or ability in self.abilities

    def require(self, ability: str) -> None:
        if not self.can(ability):
            raise Forbidden(f"This token lacks the '{ability}' ability")


@dataclass(frozen=True)
class PresentedToken:
    token_id: int | None
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))


def parse_authorization(header: str | None) -> PresentedToken | None:
    """The token in an `Authorization` header; None when there is no header at all.

    A header that is present but unusable raises Unauthorized: a client that sent
    credentials wants to hear that they are wrong, not to be treated as anonymous.
    """
    if header is None or not header.strip():
        return None
    match = _BEARER.match(header)
    if not match:
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    token = match.group(1)
    token_id: int | None = None
    if "|" in token:
        raw_id, token = token.split("|", 1)
        # Sanctum ids are 64-bit; a longer digit string is not an id (and int() of a
        # 5,000-digit string raises).
        if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 19 or int(raw_id) <= 0:
            raise Unauthorized()
        token_id = int(raw_id)
    if not token:
        raise Unauthorized()
    return PresentedToken(token_id=token_id, secret=token)


def authenticate(presented: PresentedToken) -> Caller:
    digest = hash_secret(presented.secret)
    try:
        # Strongly consistent: a token revoked a moment ago must not still work.
        item = TokenItem.get(token_pk(digest), META, consistent_read=True)
    except TokenItem.DoesNotExist:
        raise Unauthorized() from None
    # The key lookup already matched the hash; the constant-time comparisons keep
    # the id check from leaking which half of an `id|secret` pair was wrong.
    same_secret = hmac.compare_digest(item.secret_hash, digest)
    same_id = presented.token_id is None or hmac.compare_digest(
        str(int(item.token_id)), str(presented.token_id)
    )
    if not (same_secret and same_id):
        raise Unauthorized()
    record_use(item)
    observability.bind_team(item.team_id)
    return Caller(
        team_id=item.team_id,
        token_id=int(item.token_id),
        abilities=frozenset(item.abilities),
    )


def record_use(item: TokenItem) -> None:
    """Set the token's `last_used_ms` to now, unless it was set less than a minute ago.

    The item as just read says whether it is due, so most requests write nothing; the
    condition keeps concurrent requests from each writing it, and keeps the update from
    bringing back a token revoked meanwhile (an UpdateItem creates a missing item).
    Bookkeeping only: a failure is logged, and the request goes on.
    """
    from pynamodb.exceptions import UpdateError

    now = clock.now_ms()
    last = item.last_used_ms
    if last is not None and now - int(last) < USE_RECORD_INTERVAL_MS:
        return
    cutoff = now - USE_RECORD_INTERVAL_MS
    try:
        item.update(
            actions=[TokenItem.last_used_ms.set(now)],
            condition=TokenItem.pk.exists()
            & (TokenItem.last_used_ms.does_not_exist() | (TokenItem.last_used_ms <= cutoff)),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            logger.warning(
                "could not record the use of token %s: %s",
                int(item.token_id),
                error.cause_response_code or error,
            )
