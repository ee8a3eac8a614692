from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config
from imgpro.routes import WORKERS
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

NOTIFICATIONS = "Custom::S3BucketNotifications"
IDS = [worker.function for worker in WORKERS]


@pytest.fixture(scope="module")
def bucket_id(stack: ImgProStack) -> str:
    return stack.get_logical_id(stack.storage.bucket.node.default_child)


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_worker_runs_python_313_on_arm64_with_handler_module(
    worker, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(worker.function)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler"


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_worker_gets_3008_mb_and_5_minutes(
    worker, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(worker.function)
    assert (properties["MemorySize"], properties["Timeout"]) == (3008, 300)


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_worker_concurrency_is_not_reserved(
    worker, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    assert "ReservedConcurrentExecutions" not in function_properties(worker.function)


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_worker_gets_the_imaging_layer_only_if_it_decodes(
    worker, stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    core = {"Ref": stack.get_logical_id(stack.layers.core.node.default_child)}
    imaging = {"Ref": stack.get_logical_id(stack.layers.imaging.node.default_child)}
    expected = [core, imaging] if worker.decodes_images else [core]
    assert function_properties(worker.function)["Layers"] == expected


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_worker_environment_is_the_routes_environment(
    worker, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    # Less the rate limit: a worker authenticates no token.
    route_environment = dict(function_properties("upload")["Environment"]["Variables"])
    del route_environment[config.RATE_LIMIT]
    assert function_properties(worker.function)["Environment"]["Variables"] == route_environment


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_objects_created_under_the_worker_prefix_invoke_the_worker(
    worker, template: Template, function_id: Callable[[str], str], bucket_id: str
) -> None:
    template.has_resource_properties(
        NOTIFICATIONS,
        {
            "BucketName": {"Ref": bucket_id},
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": Match.array_with(
                    [
                        {
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {
                                "Key": {
                                    "FilterRules": [{"Name": "prefix", "Value": worker.s3_prefix}]
                                }
                            },
                            "LambdaFunctionArn": {
                                "Fn::GetAtt": [function_id(worker.function), "Arn"]
                            },
                        }
                    ]
                )
            },
        },
    )


def test_bucket_notifies_nothing_but_the_workers(template: Template) -> None:
    (notifications,) = template.find_resources(NOTIFICATIONS).values()
    configuration = notifications["Properties"]["NotificationConfiguration"]
    assert set(configuration) == {"LambdaFunctionConfigurations"}
    assert len(configuration["LambdaFunctionConfigurations"]) == len(WORKERS)


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_only_the_media_bucket_may_invoke_the_worker(
    worker, template: Template, function_id: Callable[[str], str], bucket_id: str
) -> None:
    permissions = template.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": Match.object_like(
                {"FunctionName": {"Fn::GetAtt": [function_id(worker.function), "Arn"]}}
            )
        },
    )
    assert [p["Properties"] for p in permissions.values()] == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id(worker.function), "Arn"]},
            "Principal": "s3.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]},
        }
    ]


# --- what failed every try -------------------------------------------------------------------


def _queue_id(stack: ImgProStack, worker) -> str:
    return stack.get_logical_id(stack.workers.dead_letters[worker.function].node.default_child)


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_an_event_that_failed_three_tries_goes_to_the_workers_dead_letter_queue(
    worker, template: Template, stack: ImgProStack, function_id: Callable[[str], str]
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id(worker.function)},
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [_queue_id(stack, worker), "Arn"]}}
            },
        },
    )


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_the_workers_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(
    worker, template: Template, stack: ImgProStack
) -> None:
    queue = template.find_resources("AWS::SQS::Queue")[_queue_id(stack, worker)]
    assert queue["Properties"] == {
        "MessageRetentionPeriod": 14 * 24 * 3600,
        "SqsManagedSseEnabled": True,
    }


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_the_worker_may_send_only_to_its_own_dead_letter_queue(
    worker, stack: ImgProStack, role_statements: Callable[[str], list[dict[str, Any]]]
) -> None:
    sqs = [s for s in role_statements(worker.function) if "sqs:" in str(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in sqs] == [
        (
            ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            {"Fn::GetAtt": [_queue_id(stack, worker), "Arn"]},
        )
    ]


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_an_alarm_goes_off_on_worker_errors(
    worker, template: Template, function_id: Callable[[str], str]
) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [
                {"Name": "FunctionName", "Value": {"Ref": function_id(worker.function)}}
            ],
            "Statistic": "Sum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


@pytest.mark.parametrize("worker", WORKERS, ids=IDS)
def test_the_workers_dead_letter_queue_url_is_an_output(
    worker, template: Template, stack: ImgProStack
) -> None:
    outputs = template.find_outputs("*")
    (name,) = [n for n, o in outputs.items() if o["Value"] == {"Ref": _queue_id(stack, worker)}]
    assert name == "ProcessUploadDeadLetterQueueUrl"
