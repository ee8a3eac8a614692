"""`imgpro.local.moto_json` answers DynamoDB's item operations exactly as moto's own
serializer does: every call here runs twice through moto in-process, once each way, and
the raw responses (status, content type, JSON body) and what boto3 makes of them agree."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult

from imgpro.local import moto_json

TABLE = "moto-json"
ITEM: dict[str, Any] = {
    "pk": {"S": "team#1"},
    "sk": {"S": "media#a"},
    "gsi1pk": {"S": "tag#beach"},
    "text": {"S": 'héllo "quoted" \\ \u2603'},
    "empty": {"S": ""},
    "count": {"N": "42"},
    "ratio": {"N": "-0.125"},
    "big": {"N": "123456789012345678901234567890"},
    "blob": {"B": b"\x00\xffbinary\n"},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02\x03"]},
    "map": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"\x04"}, {"NULL": True}]}}},
    "list": {"L": [{"BOOL": False}, {"M": {}}, {"L": []}]},
    "nothing": {"NULL": True},
    "yes": {"BOOL": True},
}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    was_installed = moto_json._moto_execute is not None
    moto_json.uninstall()
    try:
        with mock_aws():
            client = boto3.client(
                "dynamodb",
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            client.create_table(
                TableName=TABLE,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk")
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "gsi1",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            )
            _seed(client)
            yield client
    finally:
        moto_json.uninstall()
        if was_installed:
            moto_json.install()


def _seed(client: Any) -> None:
    """The same five items, and no other: each way starts from the same table."""
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "team#1"}, "sk": {"S": "media#new"}})
    for index in range(5):
        client.put_item(TableName=TABLE, Item={**ITEM, "sk": {"S": f"media#{index}"}})


def _both_ways(client: Any, call: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw response and parsed result of `call`, through moto's serializer, then ours."""
    seen: list[dict[str, Any]] = []

    def capture(response_dict: dict[str, Any], **_: Any) -> None:
        seen.append(response_dict)

    client.meta.events.register("before-parse.dynamodb.*", capture)
    try:
        outcomes = []
        for install in (moto_json.uninstall, moto_json.install):
            _seed(client)
            install()
            seen.clear()
            parsed = call(client)
            parsed.pop("ResponseMetadata", None)
            (raw,) = seen
            outcomes.append(
                {
                    "status": raw["status_code"],
                    "content-type": raw["headers"].get("Content-Type"),
                    "crc32": "x-amz-crc32" in {k.lower() for k in raw["headers"]},
                    "json": json.loads(raw["body"]),
                    "parsed": parsed,
                }
            )
        return outcomes
    finally:
        moto_json.uninstall()
        client.meta.events.unregister("before-parse.dynamodb.*", capture)


KEY = {"pk": {"S": "team#1"}, "sk": {"S": "media#1"}}
CALLS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "get": lambda c: c.get_item(TableName=TABLE, Key=KEY),
    "get-missing": lambda c: c.get_item(
        TableName=TABLE, Key={"pk": {"S": "none"}, "sk": {"S": "none"}}
    ),
    "get-capacity": lambda c: c.get_item(TableName=TABLE, Key=KEY, ReturnConsumedCapacity="TOTAL"),
    "get-projected": lambda c: c.get_item(
        TableName=TABLE,
        Key=KEY,
        ProjectionExpression="#m.inner, #b, #c",
        ExpressionAttributeNames={"#m": "map", "#b": "blob", "#c": "count"},
    ),
    "query-page": lambda c: c.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "team#1"}},
        Limit=2,
        ScanIndexForward=False,
        ReturnConsumedCapacity="INDEXES",
    ),
    "query-index": lambda c: c.query(
        TableName=TABLE,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :t",
        ExpressionAttributeValues={":t": {"S": "tag#beach"}},
    ),
    "query-count": lambda c: c.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "team#1"}},
        Select="COUNT",
    ),
    "query-none": lambda c: c.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "nobody"}},
    ),
    "scan": lambda c: c.scan(TableName=TABLE, Limit=3),
    "batch-get": lambda c: c.batch_get_item(
        RequestItems={TABLE: {"Keys": [KEY, {"pk": {"S": "team#1"}, "sk": {"S": "media#3"}}]}}
    ),
    "transact-get": lambda c: c.transact_get_items(
        TransactItems=[{"Get": {"TableName": TABLE, "Key": KEY}}]
    ),
    "put-old": lambda c: c.put_item(
        TableName=TABLE, Item={**ITEM, "sk": {"S": "media#2"}}, ReturnValues="ALL_OLD"
    ),
    "put-new-item": lambda c: c.put_item(
        TableName=TABLE, Item={**ITEM, "sk": {"S": "media#new"}}, ReturnValues="ALL_OLD"
    ),
    "update-new": lambda c: c.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":c": {"N": "43"}},
        ReturnValues="ALL_NEW",
    ),
    "update-none": lambda c: c.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":c": {"N": "44"}},
    ),
    "delete-old": lambda c: c.delete_item(
        TableName=TABLE,
        Key={"pk": {"S": "team#1"}, "sk": {"S": "media#4"}},
        ReturnValues="ALL_OLD",
    ),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_item_operations_answer_as_moto_s_serializer_does(dynamodb: Any, name: str) -> None:
    moto_way, plain_way = _both_ways(dynamodb, CALLS[name])
    assert plain_way == moto_way


def test_the_plain_answer_is_taken_for_item_operations(dynamodb: Any) -> None:
    # Not a timing: the plain path is the one answering (else the test above proves nothing).
    taken: list[str] = []
    original = moto_json.plain_response

    def spy(result: object, context: Any) -> Any:
        answer = original(result, context)
        if answer is not None:
            taken.append(context.operation_model.name)
        return answer

    moto_json.install()
    try:
        moto_json.plain_response = spy  # type: ignore[assignment]
        for name in ("get", "query-page", "scan", "batch-get", "update-new"):
            CALLS[name](dynamodb)
    finally:
        moto_json.plain_response = original  # type: ignore[assignment]
        moto_json.uninstall()
    assert taken == ["GetItem", "Query", "Scan", "BatchGetItem", "UpdateItem"]


def test_other_operations_and_errors_are_left_to_moto(dynamodb: Any) -> None:
    moto_way, plain_way = _both_ways(dynamodb, lambda c: c.describe_table(TableName=TABLE))
    assert plain_way == moto_way  # DescribeTable has timestamps: moto's serializer
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        moto_json.install()
        try:
            dynamodb.get_item(TableName="missing", Key=KEY)
        finally:
            moto_json.uninstall()


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    was_installed = moto_json._moto_execute is not None
    moto_json.uninstall()
    original = DynamoResult.execute_result
    try:
        moto_json.install()
        installed = DynamoResult.execute_result
        moto_json.install()
        assert DynamoResult.execute_result is installed is not original
        moto_json.uninstall()
        assert DynamoResult.execute_result is original
    finally:
        moto_json.uninstall()
        if was_installed:
            moto_json.install()


def test_numbers_stay_strings_and_decimals_round_trip(dynamodb: Any) -> None:
    # boto3's resource layer makes Decimals of N values: the plain path keeps N as text.
    moto_json.install()
    try:
        item = dynamodb.get_item(TableName=TABLE, Key=KEY)["Item"]
    finally:
        moto_json.uninstall()
    assert item["big"] == {"N": "123456789012345678901234567890"}
    assert Decimal(item["ratio"]["N"]) == Decimal("-0.125")
    assert item["blob"] == {"B": b"\x00\xffbinary\n"}
