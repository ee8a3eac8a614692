"""Per-token rate limits over real HTTP, on a stack started as `make serve` starts it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# 101 requests take a few seconds; started later in a minute, they could straddle two.
LATEST_START_IN_MINUTE_S = 40


def _early_in_a_minute() -> None:
    into = time.time() % 60
    if into > LATEST_START_IN_MINUTE_S:
        time.sleep(60 - into + 0.2)


def test_the_101st_request_in_a_minute_is_a_429_with_retry_after(
    default_limits_stack: LocalStackProcess,
) -> None:
    stack = default_limits_stack
    url = f"{stack.base_url}/v1/media?limit=1"
    auth = {"Authorization": f"Bearer {stack.tokens['acme:read']}"}
    with requests.Session() as session:
        _early_in_a_minute()
        allowed = [session.get(url, headers=auth, timeout=10) for _ in range(100)]
        refused = session.get(url, headers=auth, timeout=10)

    assert {response.status_code for response in allowed} == {200}
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in allowed] == list(range(99, -1, -1))
    assert {r.headers["X-RateLimit-Limit"] for r in allowed} == {"100"}
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert set(refused.json()) == {"error", "code"}
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == (
        "100",
        "0",
    )
    # The reset is the end of the current minute, Retry-After seconds from now.
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert reset % 60 == 0
    assert abs(reset - time.time() - retry_after) <= 2


def test_requests_without_a_token_carry_no_rate_limit_headers(
    default_limits_stack: LocalStackProcess,
) -> None:
    base = default_limits_stack.base_url
    anonymous = requests.get(f"{base}/v1/media/nosuchmedia1", timeout=10)
    unknown = requests.get(
        f"{base}/v1/media", headers={"Authorization": "Bearer 1|wrong-secret"}, timeout=10
    )
    assert (anonymous.status_code, unknown.status_code) == (404, 401)
    for response in (anonymous, unknown):
        assert [name for name in HEADERS if name in response.headers] == []  # any case
