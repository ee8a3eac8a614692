"""The invalidation queue and its worker in the template: the retry timing, the
dead-letter queue and its alarm, and the narrow rights of everything that touches them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config
from imgpro.cdn import INVALIDATION_WORKER
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

DAY = 86_400
Statements = Callable[[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def ids(stack: ImgProStack) -> dict[str, str]:
    def logical(construct: Any) -> str:
        return stack.get_logical_id(construct.node.default_child)

    return {
        "function": logical(stack.invalidation.function),
        "queue": logical(stack.invalidation.queue),
        "dead_letters": logical(stack.invalidation.dead_letters),
        "distribution": logical(stack.cdn.distribution),
    }


def _queue(template: Template, logical_id: str) -> dict[str, Any]:
    return template.find_resources("AWS::SQS::Queue")[logical_id]["Properties"]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


# --- the queue: retry timing and the dead-letter queue ------------------------------------


def test_a_refused_message_comes_back_after_5_minutes_10_times_then_is_dead_lettered(
    template: Template, ids: dict[str, str]
) -> None:
    # 10 tries 5 minutes apart ride out CloudFront's in-progress window of a few minutes.
    queue = _queue(template, ids["queue"])
    assert queue["VisibilityTimeout"] == 300
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [ids["dead_letters"], "Arn"]},
        "maxReceiveCount": 10,
    }
    assert queue["SqsManagedSseEnabled"] is True


def test_the_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(
    template: Template, ids: dict[str, str]
) -> None:
    queue = _queue(template, ids["dead_letters"])
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * DAY


@pytest.mark.parametrize("queue", ["queue", "dead_letters"])
def test_both_queues_refuse_plain_http(template: Template, ids: dict[str, str], queue: str):
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
            "Queues": [{"Ref": ids[queue]}],
        },
    )


def test_an_alarm_goes_off_on_the_first_dead_letter(template: Template, ids: dict[str, str]):
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [ids["dead_letters"], "QueueName"]}}
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
            "Threshold": 1,
        },
    )


def test_the_dead_letter_queue_url_is_an_output(template: Template, ids: dict[str, str]) -> None:
    outputs = template.find_outputs("InvalidationDeadLetterQueueUrl")
    assert outputs["InvalidationDeadLetterQueueUrl"]["Value"] == {"Ref": ids["dead_letters"]}


# --- the worker --------------------------------------------------------------------------


def test_the_queue_runs_the_worker_reporting_failures_per_message(
    template: Template, ids: dict[str, str]
) -> None:
    (mapping,) = [
        m["Properties"]
        for m in template.find_resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": ids["function"]}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [ids["queue"], "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    # CloudFront counts invalidations per distribution: more workers would only be
    # refused more. 2 is the least an SQS event source allows.
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_the_worker_is_small_and_stops_well_within_the_visibility_timeout(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(INVALIDATION_WORKER)
    core = {"Ref": stack.get_logical_id(stack.layers.core.node.default_child)}
    assert properties["Layers"] == [core]
    assert (properties["MemorySize"], properties["Timeout"]) == (256, 30)
    assert properties["Timeout"] * 6 <= 300  # AWS's advice for SQS event sources
    assert properties["Handler"] == "handler.handler"


def test_the_worker_knows_the_distribution(
    function_properties: Callable[[str], dict[str, Any]], ids: dict[str, str]
) -> None:
    variables = function_properties(INVALIDATION_WORKER)["Environment"]["Variables"]
    assert variables[config.DISTRIBUTION_ID] == {"Ref": ids["distribution"]}


def test_the_worker_may_invalidate_this_distribution_and_consume_its_queue_only(
    role_statements: Statements, ids: dict[str, str], without_tracing: Callable[[list], list]
) -> None:
    # Besides writing its traces, as every function does.
    statements = without_tracing(role_statements(INVALIDATION_WORKER))
    by_action = {action: s["Resource"] for s in statements for action in _actions(s)}
    assert by_action.pop("cloudfront:CreateInvalidation") == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudfront::",
                {"Ref": "AWS::AccountId"},
                ":distribution/",
                {"Ref": ids["distribution"]},
            ],
        ]
    }
    queue_arn = {"Fn::GetAtt": [ids["queue"], "Arn"]}
    consume = {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert {action: by_action.pop(action) for action in consume} == dict.fromkeys(
        consume, queue_arn
    )
    # Nothing else: no bucket, no table, no signing key, no sending to any queue.
    assert by_action == {}


def test_the_worker_has_a_handler_module_to_deploy() -> None:
    from infra.paths import FUNCTIONS_DIR

    assert (FUNCTIONS_DIR / INVALIDATION_WORKER / "handler.py").is_file()
