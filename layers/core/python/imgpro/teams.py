"""Teams and their tokens: what an operator creates, lists and revokes (the `imgpro`
commands and the local stack's seed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgpro import clock
from imgpro.auth import ABILITIES, hash_secret, new_secret
from imgpro.imaging.privacy import (
    DEFAULT_STRIP,
    STRIP_POLICIES,
    StripPolicy,
    strip_policy,
)
from imgpro.models import (
    META,
    CounterItem,
    TeamItem,
    TokenItem,
    team_pk,
    token_pk,
    tokens_partition,
)
from imgpro.quotas import PLAN_LIMITS

PLANS = tuple(PLAN_LIMITS)
_TEAM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SECRET = re.compile(r"^[\x21-\x7e]{8,200}$")


@dataclass(frozen=True)
class Team:
    team_id: str
    plan: str
    public_default: bool
    max_images_per_month: int | None = None
    """The operator's override of the plan's images a month (None: the plan's)."""
    max_storage_bytes: int | None = None
    """The operator's override of the plan's storage, in bytes (None: the plan's)."""
    strip_metadata: StripPolicy = DEFAULT_STRIP
    """What its originals lose of their metadata: "gps" (location) or "all" (everything
    but orientation and the colour profile); imgpro.imaging.metadata applies it."""


@dataclass(frozen=True)
class IssuedToken:
    token_id: int
    team_id: str
    abilities: tuple[str, ...]
    secret: str

    @property
    def sanctum(self) -> str:
        """The `{id}|{secret}` form a client sends as its Bearer token."""
        return f"{self.token_id}|{self.secret}"


@dataclass(frozen=True)
class TokenInfo:
    """What an operator may see of a stored token: never its secret, nor the hash."""

    token_id: int
    team_id: str
    name: str
    abilities: tuple[str, ...]
    created_ms: int
    last_used_ms: int | None
    """When it last authenticated, to the minute (imgpro.auth); None: never."""


class UnknownToken(LookupError):
    """The team has no token of that id (never had one, or it was revoked)."""


def validate_team_id(team_id: str) -> str:
    if not _TEAM_ID.fullmatch(team_id):
        raise ValueError(f"team id {team_id!r} must be 1-63 lowercase letters, digits, '-' or '_'")
    return team_id


def validate_abilities(abilities: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(a.strip() for a in abilities if a.strip()))
    unknown = [a for a in cleaned if a not in ABILITIES]
    if not cleaned or unknown:
        raise ValueError(f"abilities must be '*', 'read', 'write' or 'read,write', got {abilities}")
    return cleaned


def put_team(
    team_id: str,
    *,
    plan: str = "free",
    public_default: bool = False,
    max_images_per_month: int | None = None,
    max_storage_bytes: int | None = None,
    strip_metadata: StripPolicy = DEFAULT_STRIP,
) -> Team:
    """Create the team, or set its plan, default visibility, quota overrides and metadata
    privacy if it exists (an override left out is removed: the plan's limit applies).

    An update of those attributes, not a save: the team item also holds its usage
    counters (imgpro.quotas), which uploads change at any time.
    """
    validate_team_id(team_id)
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {', '.join(PLANS)}, got {plan!r}")
    if strip_metadata not in STRIP_POLICIES:
        raise ValueError(
            f"strip metadata must be one of {', '.join(STRIP_POLICIES)}, got {strip_metadata!r}"
        )
    for name, value in (
        ("max images per month", max_images_per_month),
        ("max storage bytes", max_storage_bytes),
    ):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be zero or more, got {value}")
    overrides = (
        (TeamItem.max_images_per_month, max_images_per_month),
        (TeamItem.max_storage_bytes, max_storage_bytes),
    )
    TeamItem(team_pk(team_id), META).update(
        actions=[
            TeamItem.team_id.set(team_id),
            TeamItem.plan.set(plan),
            TeamItem.public_default.set(public_default),
            TeamItem.strip_metadata.set(strip_metadata),
            TeamItem.created_ms.set(TeamItem.created_ms | clock.now_ms()),
            *(attr.remove() if value is None else attr.set(value) for attr, value in overrides),
        ]
    )
    return Team(
        team_id=team_id,
        plan=plan,
        public_default=public_default,
        max_images_per_month=max_images_per_month,
        max_storage_bytes=max_storage_bytes,
        strip_metadata=strip_metadata,
    )


def get_team(team_id: str) -> Team | None:
    try:
        item = TeamItem.get(team_pk(team_id), META)
    except TeamItem.DoesNotExist:
        return None
    return Team(
        team_id=item.team_id,
        plan=item.plan,
        public_default=bool(item.public_default),
        max_images_per_month=_optional_int(item.max_images_per_month),
        max_storage_bytes=_optional_int(item.max_storage_bytes),
        strip_metadata=strip_policy(item.strip_metadata),
    )


def _optional_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def ensure_team(team_id: str) -> Team:
    return get_team(team_id) or put_team(team_id)


def issue_token(
    team_id: str,
    *,
    abilities: list[str] | tuple[str, ...] = ("*",),
    secret: str | None = None,
    name: str = "",
) -> IssuedToken:
    """Store a new token for the team and return it with its secret (shown only now)."""
    validate_team_id(team_id)
    granted = validate_abilities(abilities)
    secret = secret or new_secret()
    if not _SECRET.fullmatch(secret) or "|" in secret:
        raise ValueError("a token secret must be 8-200 printable characters without '|'")
    token_id = _next_token_id()
    digest = hash_secret(secret)
    TokenItem(
        token_pk(digest),
        token_id=token_id,
        secret_hash=digest,
        team_id=team_id,
        abilities=list(granted),
        name=name,
        gsi1pk=tokens_partition(team_id),
        gsi1sk=_token_sort_key(token_id),
        created_ms=clock.now_ms(),
    ).save(condition=TokenItem.pk.does_not_exist())
    return IssuedToken(token_id=token_id, team_id=team_id, abilities=granted, secret=secret)


def list_tokens(team_id: str) -> list[TokenInfo]:
    """The team's tokens, by id: one Query of gsi1 (a page at a time, as many as needed)."""
    return [_token_info(item) for item in TokenItem.by_team.query(tokens_partition(team_id))]


def revoke_token(team_id: str, token_id: int) -> TokenInfo:
    """Delete the team's token `token_id`: the next request that presents it gets a 401
    (imgpro.auth reads tokens with strong consistency). UnknownToken if the team has
    no such token. The lookup by id is a Query of gsi1, which lags a write by a moment:
    a token issued this very second may not be found yet."""
    found = next(
        iter(
            TokenItem.by_team.query(
                tokens_partition(team_id), TokenItem.gsi1sk == _token_sort_key(token_id)
            )
        ),
        None,
    )
    if found is None:
        raise UnknownToken(f"team {team_id} has no token {token_id}")
    from pynamodb.exceptions import DeleteError

    try:
        found.delete(condition=TokenItem.team_id == team_id)
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise UnknownToken(f"team {team_id} has no token {token_id}") from None
    return _token_info(found)


def _token_sort_key(token_id: int) -> str:
    return f"{token_id:010d}"


def _token_info(item: TokenItem) -> TokenInfo:
    return TokenInfo(
        token_id=int(item.token_id),
        team_id=item.team_id,
        name=item.name or "",
        abilities=tuple(item.abilities),
        created_ms=int(item.created_ms),
        last_used_ms=_optional_int(item.last_used_ms),
    )


def _next_token_id() -> int:
    # An atomic counter gives Sanctum-style small positive integer ids without a Scan.
    counter = CounterItem("COUNTER#token")
    counter.update(actions=[CounterItem.value.add(1)])
    return int(counter.value)
