"""Per-token rate limits through the real handlers: headers, 429s, windows, cost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from imgpro import config, ratelimit
from tests.conftest import TABLE

HOUR_START = 1_767_225_600  # 2026-01-01T00:00:00Z
START = HOUR_START + 10 * 60 + 5  # 00:10:05, 55 s before the minute ends
MINUTE_END = HOUR_START + 11 * 60
HOUR_END = HOUR_START + 3600
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def rate_limit(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets the container's IMGPRO_RATE_LIMIT (`PER_MIN/PER_HOUR` or `off`)."""

    def set_to(value: str) -> None:
        monkeypatch.setenv(config.RATE_LIMIT, value)
        config.settings.cache_clear()

    yield set_to
    config.settings.cache_clear()


@pytest.fixture
def at_start(clock):
    clock.set(START)
    return clock


def _list(api, token: str = "acme"):
    return api.get("/v1/media?limit=1", token=token)


def _headers(response) -> tuple[int, int, int]:
    return tuple(int(response.headers[name]) for name in HEADERS)


def _token_id(tokens: dict[str, str], name: str) -> int:
    return int(tokens[name].split("|", 1)[0])


def _counters(token_id: int, at: float) -> dict[str, int]:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": ratelimit.window_key(token_id, at)}, "sk": {"S": "META"}}
    )["Item"]
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


def test_headers_count_down_across_requests(api, rate_limit, at_start) -> None:
    rate_limit("5/100")
    seen = [_headers(_list(api)) for _ in range(3)]
    assert seen == [(5, 4, MINUTE_END), (5, 3, MINUTE_END), (5, 2, MINUTE_END)]


def test_the_hour_is_reported_when_it_has_fewer_requests_left(api, rate_limit, at_start) -> None:
    rate_limit("10/12")
    for _ in range(5):
        _list(api)  # minute: 5 left, hour: 7 left
    at_start.advance(60)
    # Minute: 9 left; hour: 6 left, so the hour binds.
    assert _headers(_list(api)) == (12, 6, HOUR_END)


def test_the_101st_request_in_a_minute_is_a_429_with_retry_after(
    api, tokens, rate_limit, at_start
) -> None:
    rate_limit("100/1000")
    statuses = Counter(_list(api).status for _ in range(100))
    refused = _list(api)
    assert statuses == {200: 100}
    assert refused.status == 429
    assert refused.json() == {
        "error": "Rate limit exceeded: this token may make 100 requests per minute; retry in 55 s",
        "code": "rate_limited",
    }
    assert refused.headers["Retry-After"] == "55"
    assert _headers(refused) == (100, 0, MINUTE_END)


def test_a_refused_request_is_not_counted(api, tokens, rate_limit, at_start) -> None:
    rate_limit("3/1000")
    for _ in range(3):
        _list(api)
    assert [_list(api).status for _ in range(4)] == [429] * 4
    counted = _counters(_token_id(tokens, "acme"), START)
    assert (counted["total"], counted["m10"]) == (3, 3)


def test_the_next_minute_a_refused_token_passes_again(api, rate_limit, at_start) -> None:
    rate_limit("3/1000")
    for _ in range(3):
        _list(api)
    assert _list(api).status == 429
    at_start.set(MINUTE_END)
    again = _list(api)
    assert again.status == 200
    assert _headers(again) == (3, 2, MINUTE_END + 60)


def test_the_hour_limit_binds_across_minutes(api, rate_limit, at_start) -> None:
    rate_limit("3/5")
    assert [_list(api).status for _ in range(4)] == [200, 200, 200, 429]
    at_start.set(MINUTE_END + 20)
    assert [_list(api).status for _ in range(2)] == [200, 200]
    refused = _list(api)
    assert refused.status == 429
    assert _headers(refused) == (5, 0, HOUR_END)
    assert refused.headers["Retry-After"] == str(HOUR_END - (MINUTE_END + 20))
    assert "5 requests per hour" in refused.json()["error"]


def test_the_next_hour_starts_a_new_count(api, rate_limit, at_start) -> None:
    rate_limit("3/3")
    for _ in range(3):
        _list(api)
    at_start.set(HOUR_END + 1)
    assert _headers(_list(api)) == (3, 2, HOUR_END + 60)


def test_two_tokens_of_one_team_count_separately(api, rate_limit, at_start) -> None:
    rate_limit("2/100")
    assert [_list(api, "acme").status for _ in range(3)] == [200, 200, 429]
    other = _list(api, "acme-read")
    assert other.status == 200
    assert _headers(other) == (2, 1, MINUTE_END)


@pytest.mark.parametrize(
    ("token", "method", "path", "status"),
    [
        ("acme", "GET", "/v1/media/nosuchmedia1", 404),
        ("acme-read", "DELETE", "/v1/media/nosuchmedia1", 403),
        ("acme", "GET", "/v1/media?limit=0", 400),
    ],
)
def test_error_responses_carry_the_headers(
    api, rate_limit, at_start, token, method, path, status
) -> None:
    rate_limit("5/100")
    response = api.request(method, path, token=token)
    assert response.status == status
    assert _headers(response) == (5, 4, MINUTE_END)


def test_an_unknown_token_gets_a_401_without_rate_limit_headers(api, rate_limit) -> None:
    rate_limit("5/100")
    response = _list(api, "1|not-a-real-secret")
    assert response.status == 401
    assert not set(HEADERS) & set(response.headers)


def test_an_unauthenticated_public_get_is_neither_counted_nor_given_headers(
    api, rate_limit, dynamodb_calls
) -> None:
    rate_limit("5/100")
    uid = api.upload("acme", public="1").json()["id"]
    dynamodb_calls.clear()
    response = api.get(f"/v1/media/{uid}")
    assert response.status == 200
    assert not set(HEADERS) & set(response.headers)
    assert dynamodb_calls["UpdateItem"] == 0


def test_off_means_no_headers_and_no_dynamodb_writes(api, rate_limit, dynamodb_calls) -> None:
    rate_limit("off")
    # The token's first use is recorded (imgpro.auth, at most once a minute): not a limit.
    _list(api)
    dynamodb_calls.clear()
    responses = [_list(api) for _ in range(3)]
    assert {response.status for response in responses} == {200}
    assert not any(set(HEADERS) & set(response.headers) for response in responses)
    assert dynamodb_calls["UpdateItem"] == 0
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert not [item for item in items if item["pk"]["S"].startswith("RATE#")]


def test_rate_limiting_costs_one_dynamodb_call_per_allowed_request(
    api, rate_limit, dynamodb_calls
) -> None:
    rate_limit("off")
    _list(api)
    dynamodb_calls.clear()
    _list(api)
    without = Counter(dynamodb_calls)

    rate_limit("100/1000")
    dynamodb_calls.clear()
    _list(api)
    assert Counter(dynamodb_calls) - without == {"UpdateItem": 1}
    assert without - Counter(dynamodb_calls) == {}


def test_a_refused_request_does_no_other_work(api, rate_limit, at_start, dynamodb_calls) -> None:
    rate_limit("1/100")
    _list(api)
    dynamodb_calls.clear()
    assert _list(api).status == 429
    # The token's lookup, and the one refused update: no listing.
    assert dynamodb_calls == {"GetItem": 1, "UpdateItem": 1}


def test_counter_items_expire_when_their_hour_ends(api, tokens, rate_limit, at_start) -> None:
    from imgpro.models import META, RateWindowItem

    rate_limit("5/100")
    _list(api)
    item = RateWindowItem.get(ratelimit.window_key(_token_id(tokens, "acme"), START), META)
    assert (item.total, item.expires_at) == (1, HOUR_END)
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=TABLE)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_a_refusal_reads_the_counts_when_the_store_does_not_return_them(
    api, tokens, rate_limit, at_start, monkeypatch
) -> None:
    """DynamoDB hands back the item that failed the condition; an emulator that does not
    costs one read on the refused path, and the answer is the same."""
    import botocore.client

    rate_limit("3/5")
    for _ in range(3):
        _list(api)
    original = botocore.client.BaseClient._make_api_call
    operations = []

    def without_item(self, operation, params):
        operations.append(operation)
        params = {k: v for k, v in params.items() if k != "ReturnValuesOnConditionCheckFailure"}
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", without_item)
    usage = ratelimit.record(_token_id(tokens, "acme"), ratelimit.Limits(3, 5), at=START)
    assert (usage.allowed, usage.window, usage.remaining) == (False, "minute", 0)
    assert operations == ["UpdateItem", "GetItem"]


def test_concurrent_requests_at_the_edge_allow_exactly_the_remaining_count(
    api, tokens, rate_limit, at_start, monkeypatch
) -> None:
    import botocore.client

    rate_limit("10/1000")
    for _ in range(5):
        _list(api)
    # DynamoDB applies a conditional update atomically; moto in-process does not, so its
    # calls take turns here (as the local stack makes them). Our own code runs concurrently.
    turns = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def one_at_a_time(self, operation, params):
        if self.meta.service_model.service_name != "dynamodb":
            return original(self, operation, params)
        with turns:
            return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", one_at_a_time)
    start = threading.Barrier(20)

    def request(_: int):
        start.wait(10)
        return _list(api)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(request, range(20)))
    assert Counter(response.status for response in responses) == {200: 5, 429: 15}
    allowed = sorted(_headers(r)[1] for r in responses if r.status == 200)
    assert allowed == [0, 1, 2, 3, 4]
    assert _counters(_token_id(tokens, "acme"), START)["total"] == 10
