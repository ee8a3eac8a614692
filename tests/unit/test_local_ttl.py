"""The local stack's stand-in for DynamoDB's TTL process and the worker's stream trigger,
against in-process moto, with a fake worker; and the local clock control."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
import pytest

from imgpro import clock as domain_clock
from imgpro.expiry_rules import STREAM_FILTER
from imgpro.local import clock_control
from imgpro.local.aws import expired_items
from imgpro.local.events import HttpRequest
from imgpro.local.ttl import KEY_ATTRIBUTES, TtlEmulator, matches
from imgpro.models import TTL_ATTRIBUTE
from tests.conftest import TABLE

NOW = 1_800_000_000


class Worker:
    """Records each event; fails the records whose sequence numbers it is told to."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failing: set[str] = set()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(json.loads(json.dumps(event)))
        failed = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in event["Records"]
            if r["dynamodb"]["SequenceNumber"] in self.failing
        ]
        return {"batchItemFailures": failed}

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]


def _put(pk: str, sk: str = "META", **attributes: Any) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in attributes.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=item)
    return item


def _keys() -> set[tuple[str, str]]:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    return {(item["pk"]["S"], item["sk"]["S"]) for item in items}


@pytest.fixture
def worker() -> Worker:
    return Worker()


def _from_moto(now: int) -> list[dict[str, Any]] | None:
    # In-process moto, one thread: no lock to take (the local stack's server holds one).
    return expired_items(TABLE, TTL_ATTRIBUTE, now, region="us-east-1", keys=KEY_ATTRIBUTES)


@pytest.fixture(params=["scan", "moto-backend"])
def emulator(aws, worker: Worker, clock, request: pytest.FixtureRequest) -> TtlEmulator:
    """Both ways of finding expired items: a Scan, and reading moto's table directly."""
    clock.set(NOW)
    return TtlEmulator(
        table=TABLE,
        invoke=worker,
        client=boto3.client("dynamodb"),
        find_expired=_from_moto if request.param == "moto-backend" else None,
    )


def test_reading_moto_s_table_finds_what_the_scan_finds(aws, worker: Worker, clock) -> None:
    clock.set(NOW)
    _put("MEDIA#aaaaaaaaaaaa", uid="aaaaaaaaaaaa", expires_at=NOW)
    _put("MEDIA#aaaaaaaaaaaa", "TAG#beach", uid="aaaaaaaaaaaa", expires_at=NOW - 1)
    _put("MEDIA#bbbbbbbbbbbb", uid="bbbbbbbbbbbb", expires_at=NOW + 1)
    _put("MEDIA#cccccccccccc", uid="cccccccccccc", expires_at="1")  # a string never expires
    _put("MEDIA#dddddddddddd", uid="dddddddddddd")
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={"pk": {"S": "RATE#1"}, "sk": {"S": "x"}, "expires_at": {"N": f"{NOW}.5"}},
    )
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={"pk": {"S": "RATE#2"}, "sk": {"S": "x"}, "expires_at": {"N": f"{NOW - 1}.5"}},
    )
    scanning = TtlEmulator(table=TABLE, invoke=worker, client=boto3.client("dynamodb"))

    def keyed(items: Any) -> list[str]:
        return sorted(json.dumps(item, sort_keys=True) for item in items)

    direct = _from_moto(NOW)
    assert direct is not None  # moto's table was found: not the Scan fallback
    assert keyed(direct) == keyed(scanning._expired(NOW))
    assert {item["pk"]["S"] for item in direct} == {"MEDIA#aaaaaaaaaaaa", "RATE#2"}
    assert expired_items("no-such-table", TTL_ATTRIBUTE, NOW, region="us-east-1", keys=()) is None


def test_a_finder_that_finds_no_table_falls_back_to_the_scan(aws, worker: Worker, clock) -> None:
    clock.set(NOW)
    _put("MEDIA#aaaaaaaaaaaa", uid="aaaaaaaaaaaa", team_id="acme", expires_at=NOW)
    emulator = TtlEmulator(
        table=TABLE, invoke=worker, client=boto3.client("dynamodb"), find_expired=lambda _: None
    )
    assert emulator.tick() == 1


def test_expired_items_are_deleted_and_media_removals_reach_the_worker(
    emulator: TtlEmulator, worker: Worker
) -> None:
    media = _put("MEDIA#abc123def456", uid="abc123def456", team_id="acme", expires_at=NOW)
    _put("MEDIA#abc123def456", "TAG#beach", uid="abc123def456", expires_at=NOW)
    _put("RATE#1#2027-01-15T08", total=3, expires_at=NOW - 60)
    _put("MEDIA#later0000000", uid="later0000000", expires_at=NOW + 1)
    _put("MEDIA#forever00000", uid="forever00000")
    _put("MEDIA#textttl00000", expires_at="not a number")

    assert emulator.tick() == 1
    assert _keys() == {
        ("MEDIA#later0000000", "META"),
        ("MEDIA#forever00000", "META"),
        ("MEDIA#textttl00000", "META"),
    }
    (record,) = worker.records
    assert record == {
        "eventID": record["eventID"],
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW,
            "Keys": {"pk": media["pk"], "sk": media["sk"]},
            "OldImage": media,
            "SequenceNumber": record["dynamodb"]["SequenceNumber"],
            "SizeBytes": record["dynamodb"]["SizeBytes"],
            "StreamViewType": "OLD_IMAGE",
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "eventSourceARN": emulator.stream_arn,
    }
    assert record["dynamodb"]["SequenceNumber"].isdigit()
    assert emulator.tick() == 0  # nothing left to expire, nothing to deliver
    assert len(worker.events) == 1


def test_the_clock_decides_what_has_expired(emulator: TtlEmulator, worker: Worker, clock) -> None:
    _put("MEDIA#abc123def456", uid="abc123def456", expires_at=NOW + 300)
    assert emulator.tick() == 0
    clock.advance(300)
    assert emulator.tick() == 1
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in worker.records] == ["MEDIA#abc123def456"]


def test_records_go_in_batches_of_ten(emulator: TtlEmulator, worker: Worker) -> None:
    for n in range(23):
        _put(f"MEDIA#{n:012d}", uid=f"{n:012d}", expires_at=NOW - n)
    assert emulator.tick() == 23
    assert [len(event["Records"]) for event in worker.events] == [10, 10, 3]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in worker.records]
    assert len(set(numbers)) == 23 and numbers == sorted(numbers)


def test_failed_records_are_retried_alone_then_dropped_with_an_error(
    aws, worker: Worker, clock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(NOW)
    emulator = TtlEmulator(
        table=TABLE, invoke=worker, client=boto3.client("dynamodb"), retry_attempts=2
    )
    _put("MEDIA#aaaaaaaaaaaa", uid="aaaaaaaaaaaa", expires_at=NOW)
    _put("MEDIA#bbbbbbbbbbbb", uid="bbbbbbbbbbbb", expires_at=NOW)
    emulator.tick()
    first, second = worker.records
    worker.failing = {second["dynamodb"]["SequenceNumber"]}
    worker.events.clear()
    emulator._pending.clear()
    # Deliver the first pass again by hand, the second record failing this time.
    emulator._deliver([(first, 0), (second, 0)])
    with caplog.at_level(logging.ERROR, logger="imgpro.local"):
        for _ in range(3):
            emulator.tick()
    retried = [event["Records"] for event in worker.events[1:]]
    assert retried == [[second], [second]]
    assert "failed 3 times; dropped" in caplog.text
    emulator.tick()
    assert len(worker.events) == 3


def test_a_worker_that_raises_has_its_whole_batch_retried(
    emulator: TtlEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("boom")

    emulator._invoke = broken
    _put("MEDIA#aaaaaaaaaaaa", uid="aaaaaaaaaaaa", expires_at=NOW)
    with caplog.at_level(logging.ERROR, logger="imgpro.local"):
        emulator.tick()
    emulator.tick()
    assert calls == [1, 1]
    assert "expiry worker failed on a batch of 1 records" in caplog.text


def test_the_thread_stops_promptly(emulator: TtlEmulator) -> None:
    emulator.interval = 60
    emulator.start()
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 5


def test_the_filter_matcher_follows_lambdas_rules() -> None:
    record = {
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"Keys": {"pk": {"S": "MEDIA#abc"}, "sk": {"S": "META"}}},
    }
    assert matches(STREAM_FILTER, record)
    assert not matches(STREAM_FILTER, {k: v for k, v in record.items() if k != "userIdentity"})
    assert not matches(STREAM_FILTER, {**record, "eventName": "MODIFY"})
    tag_link = {**record, "dynamodb": {"Keys": {"pk": {"S": "MEDIA#abc"}, "sk": {"S": "TAG#x"}}}}
    assert not matches(STREAM_FILTER, tag_link)
    rate = {**record, "dynamodb": {"Keys": {"pk": {"S": "RATE#1"}, "sk": {"S": "META"}}}}
    assert not matches(STREAM_FILTER, rate)


# --- moving the local clock ----------------------------------------------------------------


@pytest.fixture
def offset_restored():
    yield
    domain_clock.set_offset(0)


def _clock_request(method: str, body: Any = None, source_ip: str = "127.0.0.1"):
    payload = b"" if body is None else json.dumps(body).encode()
    response = clock_control.handle(
        HttpRequest(method=method, target="/_local/clock", body=payload, source_ip=source_ip)
    )
    return response.status, json.loads(response.body)


def test_the_local_clock_moves_forward_and_back(offset_restored) -> None:
    status, state = _clock_request("POST", {"advance_seconds": 600})
    assert status == 200 and state["offset_seconds"] == 600
    assert abs(domain_clock.now() - time.time() - 600) < 5
    _clock_request("POST", {"advance_seconds": 60.5})
    assert _clock_request("GET")[1]["offset_seconds"] == 660.5
    assert _clock_request("POST", {"offset_seconds": 0})[1]["offset_seconds"] == 0


@pytest.mark.parametrize(
    "body", [{"advance_seconds": "10"}, {"advance": 10}, {}, [], {"advance_seconds": True}]
)
def test_the_local_clock_refuses_anything_but_one_number(offset_restored, body) -> None:
    assert _clock_request("POST", body)[0] == 400
    assert domain_clock.offset() == 0


def test_only_loopback_clients_may_move_the_local_clock(offset_restored) -> None:
    assert _clock_request("POST", {"advance_seconds": 600}, source_ip="192.0.2.7")[0] == 403
    assert _clock_request("GET", source_ip="::1")[0] == 200
    assert domain_clock.offset() == 0


def test_the_clock_offset_variable_is_read_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setenv("IMGPRO_CLOCK_OFFSET_SECONDS", "-3600")
    try:
        reloaded = importlib.reload(domain_clock)
        assert reloaded.offset() == -3600
        assert abs(reloaded.now() - (time.time() - 3600)) < 5
        monkeypatch.setenv("IMGPRO_CLOCK_OFFSET_SECONDS", "soon")
        with pytest.raises(ValueError, match="IMGPRO_CLOCK_OFFSET_SECONDS"):
            importlib.reload(domain_clock)
    finally:
        monkeypatch.delenv("IMGPRO_CLOCK_OFFSET_SECONDS")
        importlib.reload(domain_clock)
    assert domain_clock.offset() == 0
