"""The expiry worker in the template: its stream trigger, dead-letter queue, alarms and
narrowed role; and the bucket's lifecycle backstop, matching the tags the code writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import expiry_rules
from imgpro.expiry_rules import WORKER_FUNCTION
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

DAY = 86_400
# Spelled out rather than imported: this is what AWS must be told, whatever the code says.
TTL_DELETES_OF_MEDIA = {
    "eventName": ["REMOVE"],
    "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]},
    "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MEDIA#"}]}, "sk": {"S": ["META"]}}},
}
BUCKETS = (1, 2, 3, 4, 5, 6, 7, 14, 30, 60, 90)


@pytest.fixture(scope="module")
def ids(stack: ImgProStack) -> dict[str, str]:
    def logical(construct: Any) -> str:
        return stack.get_logical_id(construct.node.default_child)

    return {
        "function": logical(stack.expiry.function),
        "queue": logical(stack.expiry.dead_letters),
        "table": logical(stack.storage.table),
        "bucket": logical(stack.storage.bucket),
        "distribution": logical(stack.cdn.distribution),
    }


@pytest.fixture(scope="module")
def mapping(template: Template, ids: dict[str, str]) -> dict[str, Any]:
    mappings = [
        resource["Properties"]
        for resource in template.find_resources("AWS::Lambda::EventSourceMapping").values()
        if resource["Properties"]["FunctionName"] == {"Ref": ids["function"]}
    ]
    (found,) = mappings
    return found


# --- the function and its trigger ---------------------------------------------------------


def test_worker_runs_on_the_core_layer_only(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(WORKER_FUNCTION)
    core = {"Ref": stack.get_logical_id(stack.layers.core.node.default_child)}
    assert properties["Layers"] == [core]
    assert (properties["Runtime"], properties["Architectures"]) == ("python3.13", ["arm64"])
    assert properties["Handler"] == "handler.handler"


def test_the_table_stream_invokes_the_worker_from_its_oldest_record(
    mapping: dict[str, Any], ids: dict[str, str]
) -> None:
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [ids["table"], "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 10


def test_only_ttl_deletions_of_media_items_pass_the_filter(mapping: dict[str, Any]) -> None:
    (only,) = mapping["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == TTL_DELETES_OF_MEDIA


def test_failures_are_retried_record_by_record_then_dead_lettered(
    mapping: dict[str, Any], ids: dict[str, str]
) -> None:
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [ids["queue"], "Arn"]}}
    }


def test_nothing_else_reads_the_stream(template: Template, ids: dict[str, str]) -> None:
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    readers = [
        m["Properties"]["FunctionName"]
        for m in mappings
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [ids["table"], "StreamArn"]}
    ]
    assert readers == [{"Ref": ids["function"]}]


def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(
    template: Template, ids: dict[str, str]
) -> None:
    queue = template.find_resources("AWS::SQS::Queue")[ids["queue"]]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * DAY
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
            "Queues": [{"Ref": ids["queue"]}],
        },
    )


def test_an_alarm_goes_off_on_the_first_dead_letter(template: Template, ids: dict[str, str]):
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [ids["queue"], "QueueName"]}}
            ],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
        },
    )


def test_an_alarm_goes_off_on_worker_errors(template: Template, ids: dict[str, str]) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": ids["function"]}}],
            "Statistic": "Sum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_the_dead_letter_queue_url_is_an_output(template: Template, ids: dict[str, str]) -> None:
    outputs = template.find_outputs("ExpiryDeadLetterQueueUrl")
    assert outputs["ExpiryDeadLetterQueueUrl"]["Value"] == {"Ref": ids["queue"]}


# --- the worker's role ---------------------------------------------------------------------


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _by_service(statements: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    return [s for s in statements if any(a.startswith(f"{service}:") for a in _actions(s))]


def test_worker_may_only_delete_media_objects_by_key(
    role_statements: Callable[[str], list[dict]], ids: dict[str, str]
) -> None:
    s3 = _by_service(role_statements(WORKER_FUNCTION), "s3")
    assert {a for s in s3 for a in _actions(s)} == {"s3:DeleteObject"}
    patterns = set()
    for statement in s3:
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            head, tail = resource["Fn::Join"][1]
            assert head == {"Fn::GetAtt": [ids["bucket"], "Arn"]}
            patterns.add(tail)
    assert patterns == {"/o/*", "/v/*", "/private/o/*", "/private/v/*", "/incoming/*"}


def test_worker_queues_invalidations_and_never_calls_cloudfront(
    role_statements: Callable[[str], list[dict]], stack: ImgProStack
) -> None:
    # The same queue as the API's: one path to the edge, retried until CloudFront takes it.
    queue = stack.get_logical_id(stack.invalidation.queue.node.default_child)
    statements = role_statements(WORKER_FUNCTION)
    assert _by_service(statements, "cloudfront") == []
    on_queue = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}]
    assert [_actions(s) for s in on_queue] == [{"sqs:SendMessage"}]


def test_worker_writes_only_receipts_and_team_counters(
    role_statements: Callable[[str], list[dict]], ids: dict[str, str]
) -> None:
    table_arn = {"Fn::GetAtt": [ids["table"], "Arn"]}
    item_statements = [
        s
        for s in _by_service(role_statements(WORKER_FUNCTION), "dynamodb")
        if s["Resource"] == table_arn
    ]
    granted = {
        (
            frozenset(_actions(s)),
            tuple(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]),
        )
        for s in item_statements
    }
    assert granted == {
        (frozenset({"dynamodb:PutItem", "dynamodb:DeleteItem"}), ("EXPIRED#*",)),
        (frozenset({"dynamodb:GetItem", "dynamodb:UpdateItem"}), ("TEAM#*",)),
    }


def test_worker_reads_the_stream_and_nothing_else_of_the_table(
    role_statements: Callable[[str], list[dict]], ids: dict[str, str]
) -> None:
    actions = {a for s in role_statements(WORKER_FUNCTION) for a in _actions(s)}
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= actions
    for refused in ("dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem"):
        assert refused not in actions
    assert not any(a.startswith(("s3:Get", "s3:List", "s3:Put")) for a in actions)


# --- the lifecycle backstop ------------------------------------------------------------------


@pytest.fixture(scope="module")
def lifecycle_rules(template: Template, ids: dict[str, str]) -> list[dict[str, Any]]:
    bucket = template.find_resources("AWS::S3::Bucket")[ids["bucket"]]["Properties"]
    return bucket["LifecycleConfiguration"]["Rules"]


def test_one_lifecycle_rule_per_bucket_of_days_and_the_old_rules_kept(
    lifecycle_rules: list[dict[str, Any]],
) -> None:
    ids = [rule["Id"] for rule in lifecycle_rules]
    assert "abort-incomplete-multipart-uploads" in ids
    assert "expire-abandoned-direct-uploads" in ids
    tagged = {
        rule["TagFilters"][0]["Value"]: rule for rule in lifecycle_rules if "TagFilters" in rule
    }
    assert sorted(tagged, key=int) == [str(days) for days in BUCKETS]
    assert len(lifecycle_rules) == 2 + len(BUCKETS)
    for days, rule in tagged.items():
        assert rule["TagFilters"] == [{"Key": "expires-within-days", "Value": days}]
        assert rule["ExpirationInDays"] == int(days) + 1
        assert rule["Status"] == "Enabled"
        assert "Prefix" not in rule  # whatever the side or kind of object


@pytest.mark.parametrize(
    "seconds_left",
    [1, 300, DAY - 1, DAY, DAY + 1, 7 * DAY, 7 * DAY + 1, 29 * DAY + 5, 61 * DAY, 90 * DAY],
)
def test_every_tag_the_code_writes_has_a_rule_that_never_deletes_early(
    lifecycle_rules: list[dict[str, Any]], seconds_left: int
) -> None:
    now = 1_800_000_000
    tags = expiry_rules.object_tags(now + seconds_left, now)
    (rule,) = [
        rule
        for rule in lifecycle_rules
        if rule.get("TagFilters")
        == [{"Key": k, "Value": v} for k, v in tags.items() if k == "expires-within-days"]
    ]
    # S3 deletes at the first midnight UTC after creation + ExpirationInDays: never
    # before the media expires, and at most one bucket (plus the margin) after.
    assert rule["ExpirationInDays"] * DAY >= seconds_left + DAY
