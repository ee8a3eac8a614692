"""What each request costs in AWS calls and DynamoDB capacity, on moto.

    .venv/bin/python bench/request_cost.py

Every call any client makes (boto3's and pynamodb's) is counted by wrapping botocore's
`BaseClient._make_api_call`, by service and operation, while one request runs through
its handler as an API Gateway event. Capacity is estimated as DynamoDB bills on-demand
tables, from the items in each answer and request (moto's own `ConsumedCapacity` is one
unit a call): reads are 4 KB units of what a call read (half for eventually consistent
reads), a Query's being the items it read before any filter (ScannedCount items of the
average size returned); writes are 1 KB units of each item put, twice in a transaction,
and an update or a delete (whose item size the answer does not give) at least one unit.
Good enough to compare plans and to price them (docs/costs.md), not a bill.

Targets (issue 21): no Scan anywhere; a single GET one item read besides auth and rate
limiting; a list page one Query (one per tag for `tag_mode=any`).
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _aws

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Cost:
    calls: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k) + 1 + _value_size(v) for k, v in inner.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (its documented rules)."""
    return sum(len(name) + _value_size(value) for name, value in item.items())


def _read_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        size = item_size(parsed.get("Item") or {})
        return max(1, math.ceil(size / 4096)) * factor
    if operation in ("Query", "Scan"):
        items = parsed.get("Items") or []
        average = sum(map(item_size, items)) / len(items) if items else 0
        read = parsed.get("ScannedCount", len(items)) * average
        return max(1, math.ceil(read / 4096)) * factor
    if operation == "BatchGetItem":
        found = [i for items in (parsed.get("Responses") or {}).values() for i in items]
        asked = sum(len(t["Keys"]) for t in params.get("RequestItems", {}).values())
        missing = asked - len(found)
        return (sum(max(1, math.ceil(item_size(i) / 4096)) for i in found) + missing) * factor
    if operation == "TransactGetItems":
        found = [r.get("Item") or {} for r in parsed.get("Responses") or []]
        return 2.0 * sum(max(1, math.ceil(item_size(i) / 4096)) for i in found)
    return 0.0


def _write_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
    def units(item: dict[str, Any]) -> int:
        return max(1, math.ceil(item_size(item) / 1024))

    if operation == "PutItem":
        return units(params.get("Item") or {})
    if operation in ("UpdateItem", "DeleteItem"):
        return units(parsed.get("Attributes") or params.get("Key") or {})
    if operation == "BatchWriteItem":
        requests = [r for rs in params.get("RequestItems", {}).values() for r in rs]
        return sum(units((r.get("PutRequest") or {}).get("Item") or {}) for r in requests)
    if operation == "TransactWriteItems":
        total = 0
        for entry in params.get("TransactItems", []):
            put = entry.get("Put")
            total += units(put["Item"]) if put else 1
        return 2.0 * total
    return 0.0


@contextmanager
def counting() -> Iterator[Callable[[], Cost]]:
    """Count every AWS call made inside the block; `start()` opens a new tally."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    current = [Cost()]

    def counted(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        cost = current[0]
        cost.calls[f"{service}:{operation}"] += 1
        parsed = original(self, operation, params)
        if service == "dynamodb":
            cost.read_units += _read_units(operation, params, parsed)
            cost.write_units += _write_units(operation, params, parsed)
        return parsed

    def start() -> Cost:
        current[0] = Cost()
        return current[0]

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield start
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def main() -> int:
    from tests.support import images, origin
    from tests.support.gateway import Gateway

    rows: list[tuple[str, str, Cost, int]] = []
    with _aws.account() as token, counting() as start:
        from imgpro import config, importing

        api = Gateway({"bench": token})

        def measure(name: str, case: str, call: Callable[[], Any], expect: int) -> Any:
            cost = start()
            response = call()
            assert response.status == expect, (name, response.status, response.body[:300])
            rows.append((name, case, cost, response.status))
            return response

        def upload(**fields: str) -> str:
            return str(api.upload("bench", images.jpeg((64, 48)), **fields).json()["id"])

        tags10 = [f"t{n}" for n in range(10)]
        uids = [upload(tags=",".join(tags10[: 1 + n % 9])) for n in range(110)]
        ids100 = ",".join(uids[:100])
        single = uids[0]
        measure(
            "`GET /v1/media/{id}`",
            "typical",
            lambda: api.get(f"/v1/media/{single}", token="bench"),
            200,
        )
        measure("`GET /{id}` (share link)", "typical", lambda: api.get(f"/{single}"), 302)
        measure(
            "`GET /v1/media?limit=50`", "typical", lambda: api.get("/v1/media", token="bench"), 200
        )
        measure(
            "`GET /v1/media?limit=100`",
            "page of 100",
            lambda: api.get("/v1/media?limit=100", token="bench"),
            200,
        )
        measure(
            "`GET /v1/media?tags=t0,t1`",
            "any, 2 tags",
            lambda: api.get("/v1/media?tags=t0,t1", token="bench"),
            200,
        )
        measure(
            "`GET /v1/media?tags=...&tag_mode=all`",
            "10 tags, no match",
            lambda: api.get(f"/v1/media?tags={','.join(tags10)}&tag_mode=all", token="bench"),
            200,
        )
        measure(
            "`GET /v1/media?ids=`",
            "100 ids",
            lambda: api.get(f"/v1/media?ids={ids100}", token="bench"),
            200,
        )
        measure(
            "`PATCH /v1/media/{id}`",
            "tags",
            lambda: api.patch(f"/v1/media/{single}", token="bench", json_body={"tags": "a,b"}),
            200,
        )
        measure(
            "`PATCH /v1/media?ids=`",
            "100 ids, public",
            lambda: api.patch(
                f"/v1/media?ids={ids100}", token="bench", json_body={"public": False}
            ),
            200,
        )
        measure(
            "`PATCH /v1/media?ids=`",
            "100 ids, tags",
            lambda: api.patch(
                f"/v1/media?ids={ids100}", token="bench", json_body={"tags": "x", "tag_mode": "add"}
            ),
            200,
        )
        measure(
            "`POST /v1/upload`",
            "64x48 JPEG",
            lambda: api.upload("bench", images.jpeg((64, 48))),
            201,
        )
        measure(
            "`POST /v1/upload/direct`",
            "announce",
            lambda: api.post(
                "/v1/upload/direct", token="bench", json_body={"name": "a.jpg", "filesize": 1000}
            ),
            201,
        )
        with origin.serving() as server:
            os.environ[config.IMPORT_ALLOW_CIDRS] = "127.0.0.0/8"
            config.settings.cache_clear()
            importing.policy.cache_clear()
            measure(
                "`POST /v1/import`",
                "600x400 JPEG",
                lambda: api.post(
                    "/v1/import", token="bench", json_body={"url": f"{server.base_url}/photo.jpg"}
                ),
                201,
            )
        measure(
            "`DELETE /v1/media/{id}`",
            "typical",
            lambda: api.delete(f"/v1/media/{uids[100]}", token="bench"),
            204,
        )
        measure(
            "`DELETE /v1/media?ids=`",
            "100 ids",
            lambda: api.delete(f"/v1/media?ids={ids100}", token="bench"),
            200,
        )
        os.environ[config.RATE_LIMIT] = "1/1"
        config.settings.cache_clear()
        api.get("/v1/media", token="bench")
        measure(
            "any request, rate limited", "429", lambda: api.get("/v1/media", token="bench"), 429
        )

    print(
        "Calls and estimated on-demand capacity units per request (moto; units as DynamoDB "
        "bills them, estimated from the items read and written)\n"
    )
    print("| request | case | DynamoDB calls | S3 calls | ≈ read units | ≈ write units | Scans |")
    print("|---|---|---|---|---|---|---|")
    scans = 0
    for name, case, cost, _ in rows:
        dynamo = ", ".join(
            f"{op.split(':')[1]} {n}"
            for op, n in sorted(cost.calls.items())
            if op.startswith("dynamodb:")
        )
        s3 = ", ".join(
            f"{op.split(':')[1]} {n}"
            for op, n in sorted(cost.calls.items())
            if op.startswith("s3:")
        )
        scan = cost.calls.get("dynamodb:Scan", 0)
        scans += scan
        print(
            f"| {name} | {case} | {dynamo or '-'} | {s3 or '-'} | {cost.read_units:g} "
            f"| {cost.write_units:g} | {scan} |"
        )
    print(f"\nScans in all: {scans} (target 0)")
    return 1 if scans else 0


if __name__ == "__main__":
    raise SystemExit(main())
