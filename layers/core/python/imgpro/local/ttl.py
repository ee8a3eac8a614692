"""DynamoDB's TTL process and its stream, for the local stack: moto never expires items.

In AWS, DynamoDB deletes items whose `expires_at` has passed (in the background, hours
to days late), writes each delete to the table's stream as a REMOVE record made by the
TTL service, and Lambda's event source mapping hands the records that pass its filter
to the expiry worker in batches, retrying failed ones. Here `TtlEmulator` does all of
that every `interval` seconds, in a thread of its own, by the domain's clock
(`imgpro.clock`, which the local stack can move: README): a Scan finds the expired
items (it stands in for the TTL service, not for any read path of the API), a
conditional DeleteItem removes each and returns its old image, and the records that
`expiry_rules.STREAM_FILTER` passes go to the same handler that runs in AWS.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from imgpro import clock
from imgpro.expiry_rules import (
    STREAM_BATCH_SIZE,
    STREAM_FILTER,
    STREAM_RETRY_ATTEMPTS,
    TTL_IDENTITY,
)
from imgpro.local.events import ACCOUNT_ID
from imgpro.models import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
INTERVAL_SECONDS = 1.0
STREAM_LABEL = "2026-01-01T00:00:00.000"
"""The stream's label in its ARN: fixed, since the local table is made at each start."""
KEY_ATTRIBUTES = ("pk", "sk")

logger = logging.getLogger("imgpro.local")

Invoke = Callable[[dict[str, Any]], Any]
"""Runs the expiry worker on a stream event; returns its response."""
FindExpired = Callable[[int], Sequence[Mapping[str, Any]] | None]
"""The items a pass's Scan would find at this time (keys and TTL attribute), found
another way; None to Scan after all."""


class TtlEmulator:
    """Expires the items of one table by `imgpro.clock`, and delivers the stream records."""

    def __init__(
        self,
        *,
        table: str,
        invoke: Invoke,
        client: DynamoDBClient | None = None,
        interval: float = INTERVAL_SECONDS,
        retry_attempts: int = STREAM_RETRY_ATTEMPTS,
        find_expired: FindExpired | None = None,
    ) -> None:
        """`client` is a boto3 DynamoDB client (made on first use by default).
        `find_expired` stands in for the Scan: the local stack reads moto's table directly
        (`imgpro.local.aws.expired_items`), as a Scan every second holds moto for
        longer the more items the table has."""
        self.table = table
        self.interval = interval
        self.retry_attempts = retry_attempts
        self._invoke = invoke
        self._client = client
        self._find_expired = find_expired
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = itertools.count(1)
        self._pending: list[tuple[dict[str, Any], int]] = []
        """Records whose delivery failed, each with the retries it has had."""

    @property
    def stream_arn(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.table}/stream/{STREAM_LABEL}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="imgpro-local-ttl", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Return once the current pass (if any) is over; no new pass starts."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.tick()
            except Exception:
                # Moto gone mid-pass at shutdown, or a bug: the next pass tries again.
                if not self._stopping.is_set():
                    logger.exception("TTL emulation pass failed")

    def tick(self) -> int:
        """One pass: delete every expired item, deliver its record; the items deleted."""
        retries, self._pending = self._pending, []
        fresh = self.expire_due()
        deliveries = [*retries, *((record, 0) for record in fresh)]
        for start in range(0, len(deliveries), STREAM_BATCH_SIZE):
            self._deliver(deliveries[start : start + STREAM_BATCH_SIZE])
        return len(fresh)

    def expire_due(self) -> list[dict[str, Any]]:
        """Delete the items whose TTL has passed; the stream records of those deletes
        that the worker's filter passes (the others reach no function, as in AWS)."""
        now = int(clock.now())
        records = []
        for item in self._expired(now):
            old_image = self._delete(item)
            if old_image is None:
                continue  # changed or deleted since the scan: TTL checks again too
            record = self.removal_record(old_image, now=now)
            if matches(STREAM_FILTER, record):
                records.append(record)
        return records

    def removal_record(self, old_image: Mapping[str, Any], *, now: int) -> dict[str, Any]:
        """The stream record of a TTL delete, as Lambda receives it from DynamoDB Streams."""
        return {
            "eventID": uuid.uuid4().hex,
            "eventName": "REMOVE",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": {
                "ApproximateCreationDateTime": now,
                "Keys": {name: old_image[name] for name in KEY_ATTRIBUTES},
                "OldImage": dict(old_image),
                "SequenceNumber": f"{next(self._sequence):021d}",
                "SizeBytes": len(json.dumps(old_image)),
                "StreamViewType": "OLD_IMAGE",
            },
            "userIdentity": dict(TTL_IDENTITY),
            "eventSourceARN": self.stream_arn,
        }

    def _expired(self, now: int) -> Iterator[Mapping[str, Any]]:
        if self._find_expired is not None:
            found = self._find_expired(now)
            if found is not None:
                yield from found
                return
        # TTL deletes items whose attribute is a Number not after now; other types and
        # missing attributes never expire (and moto would fail comparing them).
        pages = (
            self._dynamodb()
            .get_paginator("scan")
            .paginate(
                TableName=self.table,
                FilterExpression="attribute_type(#ttl, :number) AND #ttl <= :now",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":number": {"S": "N"}, ":now": {"N": str(now)}},
                ProjectionExpression="#ttl, pk, sk",
            )
        )
        for page in pages:
            yield from page.get("Items", [])

    def _delete(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        client = self._dynamodb()
        try:
            response = client.delete_item(
                TableName=self.table,
                Key={name: item[name] for name in KEY_ATTRIBUTES},
                ConditionExpression="#ttl = :seen",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":seen": item[TTL_ATTRIBUTE]},
                ReturnValues="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None
        return response.get("Attributes")

    def _deliver(self, batch: Sequence[tuple[dict[str, Any], int]]) -> None:
        """Invoke the worker; failed records wait for the next pass, as Lambda retries
        them (a failed record alone, as bisection ends up doing)."""
        try:
            response = self._invoke({"Records": [record for record, _ in batch]})
        except Exception:
            logger.exception("expiry worker failed on a batch of %d records", len(batch))
            failed = {record["dynamodb"]["SequenceNumber"] for record, _ in batch}
        else:
            failures = (response or {}).get("batchItemFailures") or []
            failed = {str(failure["itemIdentifier"]) for failure in failures}
        for record, retries in batch:
            if record["dynamodb"]["SequenceNumber"] not in failed:
                continue
            if retries >= self.retry_attempts:
                # In AWS the batch's description goes to the dead-letter queue.
                logger.error(
                    "expiry record %s failed %d times; dropped (AWS would dead-letter it)",
                    record["dynamodb"]["SequenceNumber"],
                    retries + 1,
                )
                continue
            self._pending.append((record, retries + 1))

    def _dynamodb(self) -> DynamoDBClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether `event` matches a Lambda event filter pattern of the forms STREAM_FILTER
    uses: nested objects whose leaves are lists of exact values or `{"prefix": ...}`."""
    for name, wanted in pattern.items():
        if name not in event:
            return False
        value = event[name]
        if isinstance(wanted, Mapping):
            if not isinstance(value, Mapping) or not matches(wanted, value):
                return False
        elif not any(_leaf_matches(rule, value) for rule in wanted):
            return False
    return True


def _leaf_matches(rule: object, value: object) -> bool:
    if isinstance(rule, Mapping):
        if set(rule) == {"prefix"}:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        raise ValueError(f"filter rule {rule!r} is not emulated")
    return rule == value
