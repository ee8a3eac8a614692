"""Per-token rate limits: a minute and an hour window, counted in the one DynamoDB table.

Fixed windows aligned on the clock (UTC). One item per token per hour,
`RATE#<token_id>#<YYYY-MM-DDTHH>`, holds the hour's `total` and one counter per minute
of that hour (`m0` .. `m59`). A request is charged by ONE conditional UpdateItem that adds
1 to both counters only if neither is at its limit, and returns both new counts; a refused
request therefore consumes nothing, and concurrent requests cannot overrun a limit (the
condition and the increments are one atomic write). A refusal reads the counts that refused
it from the same call (`ReturnValuesOnConditionCheckFailure=ALL_OLD`). The item expires
(`expires_at`, the table's TTL attribute) when its hour ends. docs/rate-limits.md has the
accuracy and cost.

`charge(token_id)` is what an endpoint calls once the token has authenticated: it counts,
remembers the outcome for the current request (the HTTP adapter turns it into the
`X-RateLimit-*` headers of whatever response comes out) and raises `RateLimited` when over.
"""

from __future__ import annotations

import math
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, cast

from imgpro import clock
from imgpro.config import settings
from imgpro.errors import RateLimited

MINUTE = 60
HOUR = 3600
OFF = "off"

_SPEC = re.compile(r"^(\d{1,9})/(\d{1,9})$")


@dataclass(frozen=True)
class Limits:
    per_minute: int
    per_hour: int

    def __str__(self) -> str:
        return f"{self.per_minute}/{self.per_hour}"


def parse_limits(value: str) -> Limits | None:
    """`PER_MIN/PER_HOUR` (two positive integers), or None for `off`."""
    text = value.strip()
    if text == OFF:
        return None
    match = _SPEC.match(text)
    if not match or not all(int(n) > 0 for n in match.groups()):
        raise ValueError(f"{value!r} must be PER_MIN/PER_HOUR with two positive integers, or 'off'")
    return Limits(per_minute=int(match.group(1)), per_hour=int(match.group(2)))


DEFAULT_LIMITS = Limits(per_minute=100, per_hour=1000)
"""The seed's limits: a burst of 100 requests a minute, 1,000 sustained an hour."""
DEFAULT = str(DEFAULT_LIMITS)


@dataclass(frozen=True)
class Usage:
    """A token's standing after one request, in the window that binds first: the one
    with fewer requests remaining (the minute on a tie, unless both are used up: then
    only the hour's end lets a request through, so the hour is the one reported)."""

    allowed: bool
    window: Literal["minute", "hour"]
    limit: int
    remaining: int
    reset: int
    """Epoch seconds at which the window ends."""
    retry_after: int
    """Whole seconds until `reset`, at least 1: what a refused client should wait."""


def usage(limits: Limits, *, minute_count: int, hour_count: int, at: float, allowed: bool) -> Usage:
    """The binding window, given the counts of both windows at time `at`."""
    minute_reset = math.floor(at / MINUTE) * MINUTE + MINUTE
    hour_reset = math.floor(at / HOUR) * HOUR + HOUR
    minute_left = max(0, limits.per_minute - minute_count)
    hour_left = max(0, limits.per_hour - hour_count)
    window: Literal["minute", "hour"]
    if hour_left < minute_left or hour_left == 0:
        window, limit, remaining, reset = "hour", limits.per_hour, hour_left, hour_reset
    else:
        window, limit, remaining, reset = "minute", limits.per_minute, minute_left, minute_reset
    return Usage(
        allowed=allowed,
        window=window,
        limit=limit,
        remaining=remaining,
        reset=reset,
        retry_after=max(1, math.ceil(reset - at)),
    )


def window_key(token_id: int, at: float) -> str:
    """The partition key of the token's counters for the hour containing `at`."""
    hour = time.strftime("%Y-%m-%dT%H", time.gmtime(at))
    return f"RATE#{token_id}#{hour}"


def minute_attribute(at: float) -> str:
    """The attribute counting the minute of the hour containing `at`: `m0` .. `m59`."""
    return f"m{math.floor(at / MINUTE) % (HOUR // MINUTE)}"


def record(token_id: int, limits: Limits, *, at: float) -> Usage:
    """Count one request of `token_id` at time `at`, unless a window is full.

    One DynamoDB call, allowed or refused (two for a refusal only against a store that
    does not return the item that failed the condition). A refused request changes nothing.
    """
    from botocore.exceptions import ClientError

    from imgpro.models import META, RateWindowItem

    client, table = _client()
    key = {"pk": {"S": window_key(token_id, at)}, "sk": {"S": META}}
    minute = minute_attribute(at)
    try:
        answer = client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #expires = :expires ADD #total :one, #minute :one",
            ConditionExpression=(
                "(attribute_not_exists(#total) OR #total < :per_hour)"
                " AND (attribute_not_exists(#minute) OR #minute < :per_minute)"
            ),
            ExpressionAttributeNames={
                "#total": RateWindowItem.total.attr_name,
                "#minute": minute,
                "#expires": RateWindowItem.expires_at.attr_name,
            },
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":per_hour": {"N": str(limits.per_hour)},
                ":per_minute": {"N": str(limits.per_minute)},
                ":expires": {"N": str(math.floor(at / HOUR) * HOUR + HOUR)},
            },
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        # DynamoDB returns the item that failed the condition; an emulator that does not
        # costs one more read, and only on this (refused) path.
        # Not in botocore-stubs' ClientError response, which has only the common keys.
        item = cast("dict[str, Any] | None", error.response.get("Item"))
        counts = item or _read(client, table, key)
        return _usage(limits, counts, minute, at=at, allowed=False)
    return _usage(limits, answer.get("Attributes", {}), minute, at=at, allowed=True)


def _usage(limits: Limits, item: dict[str, Any], minute: str, *, at: float, allowed: bool) -> Usage:
    def count(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    return usage(
        limits,
        minute_count=count(minute),
        hour_count=count("total"),
        at=at,
        allowed=allowed,
    )


def _read(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=table, Key=key, ConsistentRead=True).get(
        "Item", {}
    )
    return item


def _client() -> tuple[Any, str]:
    """The botocore client of the models' shared connection (made once per container
    by `imgpro.models.bind`), and the table's name."""
    from imgpro.models import RateWindowItem

    return RateWindowItem._get_connection().connection.client, RateWindowItem.Meta.table_name


# --- the current request ----------------------------------------------------------------

_current: ContextVar[Usage | None] = ContextVar("imgpro_rate_limit_usage", default=None)


def begin_request() -> None:
    """Forget the previous request's usage (the adapter calls this first, every time)."""
    _current.set(None)


def current() -> Usage | None:
    """The usage charged to the current request's token; None when nothing was charged
    (no token, a token that did not authenticate, or limits `off`)."""
    return _current.get()


def charge(token_id: int) -> Usage | None:
    """Charge the authenticated token one request under the configured limits.

    Raises RateLimited when a window is full. None when limits are `off`: nothing is
    counted and nothing is written.
    """
    limits = settings().rate_limit
    if limits is None:
        return None
    outcome = record(token_id, limits, at=clock.now())
    _current.set(outcome)
    if not outcome.allowed:
        raise RateLimited(
            f"Rate limit exceeded: this token may make {outcome.limit} requests per "
            f"{outcome.window}; retry in {outcome.retry_after} s",
            retry_after=outcome.retry_after,
        )
    return outcome
