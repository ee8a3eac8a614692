from __future__ import annotations

import pytest

from imgpro.errors import RateLimited
from imgpro.ratelimit import (
    DEFAULT_LIMITS,
    Limits,
    minute_attribute,
    parse_limits,
    usage,
    window_key,
)

HOUR_START = 1_767_225_600  # 2026-01-01T00:00:00Z
AT = HOUR_START + 37 * 60 + 12.5  # 00:37:12.5
LIMITS = Limits(per_minute=100, per_hour=1000)


def test_limits_are_per_minute_then_per_hour() -> None:
    assert parse_limits("5/50") == Limits(per_minute=5, per_hour=50)
    assert parse_limits(" 100/1000 ") == DEFAULT_LIMITS


def test_off_is_no_limits() -> None:
    assert parse_limits("off") is None


@pytest.mark.parametrize("value", ["", "100", "0/10", "10/0", "a/b", "-1/10", "10/20/30", "OFF"])
def test_a_malformed_limit_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="PER_MIN/PER_HOUR"):
        parse_limits(value)


def test_the_window_key_names_the_token_and_the_utc_hour() -> None:
    assert window_key(7, AT) == "RATE#7#2026-01-01T00"
    assert window_key(7, HOUR_START - 1) == "RATE#7#2025-12-31T23"


def test_the_minute_attribute_is_the_minute_of_the_hour() -> None:
    assert minute_attribute(AT) == "m37"
    assert minute_attribute(HOUR_START) == "m0"
    assert minute_attribute(HOUR_START + 3599) == "m59"


def test_the_minute_binds_while_it_has_fewer_requests_left() -> None:
    result = usage(LIMITS, minute_count=40, hour_count=500, at=AT, allowed=True)
    assert (result.window, result.limit, result.remaining) == ("minute", 100, 60)
    assert result.reset == HOUR_START + 38 * 60


def test_the_hour_binds_once_it_has_fewer_requests_left() -> None:
    result = usage(LIMITS, minute_count=40, hour_count=950, at=AT, allowed=True)
    assert (result.window, result.limit, result.remaining) == ("hour", 1000, 50)
    assert result.reset == HOUR_START + 3600


def test_a_tie_goes_to_the_minute() -> None:
    result = usage(LIMITS, minute_count=90, hour_count=990, at=AT, allowed=True)
    assert (result.window, result.remaining) == ("minute", 10)


def test_with_both_windows_used_up_the_hour_is_reported() -> None:
    # Only the hour's end lets a request through, so that is when to retry.
    result = usage(LIMITS, minute_count=100, hour_count=1000, at=AT, allowed=False)
    assert (result.window, result.remaining) == ("hour", 0)
    assert result.retry_after == 1368  # 22 min 47.5 s to the hour's end, rounded up


def test_retry_after_is_whole_seconds_to_the_reset_and_at_least_one() -> None:
    refused = usage(LIMITS, minute_count=100, hour_count=100, at=AT, allowed=False)
    assert refused.retry_after == 48  # 47.5 s rounded up
    last_instant = usage(
        LIMITS, minute_count=100, hour_count=100, at=HOUR_START + 59.999, allowed=False
    )
    assert last_instant.retry_after == 1


def test_remaining_never_goes_below_zero_when_a_limit_is_lowered() -> None:
    result = usage(Limits(10, 1000), minute_count=50, hour_count=50, at=AT, allowed=False)
    assert (result.window, result.remaining) == ("minute", 0)


def test_a_rate_limited_error_is_a_429_in_the_seed_shape_with_retry_after() -> None:
    error = RateLimited("Rate limit exceeded: slow down", retry_after=17)
    assert (error.status, error.code) == (429, "rate_limited")
    assert error.body() == {"error": "Rate limit exceeded: slow down", "code": "rate_limited"}
    assert error.headers() == {"Retry-After": "17"}
