"""Alarms, where they are sent, and the dashboard (infra.monitoring, infra.alarms)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro.expiry_rules import WORKER_FUNCTION
from infra.monitoring import (
    ALARM_EMAIL_CONTEXT_KEY,
    ALARM_TOPIC_CONTEXT_KEY,
    DASHBOARD_CONTEXT_KEY,
    KEY_FUNCTIONS,
)
from infra.observability import CUSTOM_METRICS, METRICS_NAMESPACE
from infra.options import OptionError
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Synthesize = Callable[[dict[str, Any]], ImgProStack]
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops-pager"


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template.find_resources(ALARM).items()}


def _logical_id(stack: ImgProStack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def server_error_alarm(template: Template, stack: ImgProStack) -> dict[str, Any]:
    alarm = stack.monitoring.server_error_alarm
    return _alarms(template)[stack.get_logical_id(alarm.node.default_child)]


@pytest.fixture(scope="module")
def dashboard_body(template: Template) -> str:
    """The dashboard's JSON body, tokens written as `<Ref ...>` / `<GetAtt ...>`."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else json.dumps(part) for part in parts)


# --- the API's server error rate -----------------------------------------------------------


def _expression(alarm: dict[str, Any]) -> str:
    (returned,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    return returned["Expression"]


def _metric_queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The metrics an alarm on metric math reads, by id (none for a one-metric alarm)."""
    return {q["Id"]: q["MetricStat"] for q in alarm.get("Metrics", []) if "MetricStat" in q}


def test_server_error_alarm_reads_the_apis_5xx_and_request_counts_over_5_minutes(
    server_error_alarm: dict[str, Any],
) -> None:
    queries = _metric_queries(server_error_alarm)
    for query_id, metric_name in (("errors", "5XXError"), ("requests", "Count")):
        assert queries[query_id] == {
            "Metric": {
                "Namespace": "AWS/ApiGateway",
                "MetricName": metric_name,
                "Dimensions": [{"Name": "ApiName", "Value": "ImgPro"}],
            },
            "Period": 300,
            "Stat": "Sum",
        }


def test_server_error_alarm_fires_above_1_percent_of_requests(
    server_error_alarm: dict[str, Any],
) -> None:
    assert "100 * (errors - " in _expression(server_error_alarm)
    assert (
        server_error_alarm["Threshold"],
        server_error_alarm["ComparisonOperator"],
        server_error_alarm["EvaluationPeriods"],
        server_error_alarm["TreatMissingData"],
    ) == (1, "GreaterThanThreshold", 1, "notBreaching")


def test_server_error_alarm_judges_no_period_of_fewer_than_100_requests(
    server_error_alarm: dict[str, Any],
) -> None:
    assert _expression(server_error_alarm).startswith("IF(requests >= 100, ")
    assert _expression(server_error_alarm).endswith(" / requests, 0)")


def test_server_error_alarm_does_not_count_imports_that_failed_on_the_fetched_url(
    server_error_alarm: dict[str, Any],
) -> None:
    queries = _metric_queries(server_error_alarm)
    for code in ("import_failed", "fetch_timeout"):
        assert f" - {code}" in _expression(server_error_alarm)
        metric = queries[code]["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == (METRICS_NAMESPACE, "Errors")
        # As Powertools emits it: its service dimension, and the error's code.
        dimensions = sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])
        assert dimensions == [("code", code), ("service", "imgpro")]


def test_an_alarm_on_metric_math_reads_at_most_10_metrics(template: Template) -> None:
    # CloudWatch's hard limit for an alarm on a metric math expression.
    for logical_id, alarm in _alarms(template).items():
        assert len(_metric_queries(alarm)) <= 10, logical_id


# --- throttles, dead letters, stream lag ---------------------------------------------------


def test_every_function_has_an_alarm_on_its_first_throttle(
    template: Template, stack: ImgProStack
) -> None:
    for function in stack.functions.values():
        template.has_resource_properties(
            ALARM,
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Throttles",
                "Dimensions": [
                    {"Name": "FunctionName", "Value": {"Ref": _logical_id(stack, function)}}
                ],
                "Statistic": "Sum",
                "Period": 300,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        )


def _dead_letter_queue_ids(template: Template) -> set[str]:
    """Every queue something sends its failures to: an SQS redrive policy, an event source
    mapping's or an asynchronous invocation's on-failure destination."""
    ids: set[str] = set()
    for queue in template.find_resources("AWS::SQS::Queue").values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            ids.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for kind in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"):
        for resource in template.find_resources(kind).values():
            destination = resource["Properties"].get("DestinationConfig", {}).get("OnFailure")
            if destination:
                ids.add(destination["Destination"]["Fn::GetAtt"][0])
    return ids


def test_the_stack_knows_every_dead_letter_queue(template: Template, stack: ImgProStack) -> None:
    known = {_logical_id(stack, queue) for queue in stack.dead_letter_queues.values()}
    assert _dead_letter_queue_ids(template) == known
    assert len(known) == 3  # expiry, invalidation, process_upload


def test_every_dead_letter_queue_has_an_alarm_on_its_first_message(template: Template) -> None:
    for queue_id in _dead_letter_queue_ids(template):
        template.has_resource_properties(
            ALARM,
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
                ],
                "Statistic": "Maximum",
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "EvaluationPeriods": 1,
            },
        )


def test_expiry_worker_falling_an_hour_behind_its_stream_fires_an_alarm(
    template: Template, function_id: Callable[[str], str]
) -> None:
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "IteratorAge",
            "Dimensions": [
                {"Name": "FunctionName", "Value": {"Ref": function_id(WORKER_FUNCTION)}}
            ],
            "Statistic": "Maximum",
            "Period": 300,
            "Threshold": 3_600_000,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


INVALIDATORS = ("delete_media", "batch_delete", "multipart_abort", "update_media", "batch_update")


@pytest.mark.parametrize("name", INVALIDATORS)
def test_an_invalidation_the_api_could_not_queue_is_counted_from_its_log(
    name: str, template: Template, stack: ImgProStack
) -> None:
    log_group = stack.get_logical_id(stack.functions[name].log_group.node.default_child)
    template.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "LogGroupName": {"Ref": log_group},
            "FilterPattern": '"CDN INVALIDATION NOT QUEUED"',
            "MetricTransformations": [
                {
                    "MetricNamespace": "imgpro",
                    "MetricName": "InvalidationsNotQueued",
                    "MetricValue": "1",
                }
            ],
        },
    )


def test_only_the_functions_that_queue_invalidations_have_a_log_filter(
    template: Template,
) -> None:
    template.resource_count_is("AWS::Logs::MetricFilter", len(INVALIDATORS))


def test_an_alarm_goes_off_on_the_first_invalidation_not_queued(template: Template) -> None:
    template.has_resource_properties(
        ALARM,
        {
            "Namespace": "imgpro",
            "MetricName": "InvalidationsNotQueued",
            "Statistic": "Sum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_every_alarm_says_what_it_means(template: Template) -> None:
    for logical_id, alarm in _alarms(template).items():
        assert len(alarm.get("AlarmDescription", "")) > 40, logical_id


# --- where alarms go -------------------------------------------------------------------------


def test_alarms_notify_nobody_by_default(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Topic", 0)
    for logical_id, alarm in _alarms(template).items():
        assert "AlarmActions" not in alarm, logical_id


def test_alarm_email_makes_a_topic_every_alarm_notifies_on_alarm_and_ok(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    stack = synthesize({**app_context, ALARM_EMAIL_CONTEXT_KEY: "ops@example.com,me@example.org"})
    template = Template.from_stack(stack)
    topic = {"Ref": _logical_id(stack, stack.monitoring.topic)}
    for address in ("ops@example.com", "me@example.org"):
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": "email", "Endpoint": address, "TopicArn": topic},
        )
    alarms = _alarms(template)
    assert len(alarms) == len(stack.monitoring.alarms)
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic], logical_id
        assert alarm["OKActions"] == [topic], logical_id
    assert template.find_outputs("AlarmTopicArn")["AlarmTopicArn"]["Value"] == topic


def test_the_alarm_topic_refuses_plain_http(synthesize: Synthesize, app_context: dict) -> None:
    stack = synthesize({**app_context, ALARM_EMAIL_CONTEXT_KEY: "ops@example.com"})
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
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
                }
            )
        },
    )


def test_the_alarm_topic_lets_this_accounts_alarms_publish(
    synthesize: Synthesize, app_context: dict
) -> None:
    # The topic's own policy replaces SNS's default one, which would have allowed it.
    stack = synthesize({**app_context, ALARM_EMAIL_CONTEXT_KEY: "ops@example.com"})
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            {
                                "Sid": "AlarmsOfThisAccountPublish",
                                "Effect": "Allow",
                                "Action": "sns:Publish",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Resource": {"Ref": _logical_id(stack, stack.monitoring.topic)},
                                "Condition": {
                                    "StringEquals": {
                                        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                    },
                                    "ArnLike": {
                                        "aws:SourceArn": {
                                            "Fn::Join": [
                                                "",
                                                [
                                                    "arn:",
                                                    {"Ref": "AWS::Partition"},
                                                    ":cloudwatch:",
                                                    {"Ref": "AWS::Region"},
                                                    ":",
                                                    {"Ref": "AWS::AccountId"},
                                                    ":alarm:*",
                                                ],
                                            ]
                                        }
                                    },
                                },
                            }
                        ]
                    )
                }
            )
        },
    )


def test_alarms_can_go_to_an_existing_topic(synthesize: Synthesize, app_context: dict) -> None:
    template = Template.from_stack(synthesize({**app_context, ALARM_TOPIC_CONTEXT_KEY: TOPIC_ARN}))
    template.resource_count_is("AWS::SNS::Topic", 0)
    for logical_id, alarm in _alarms(template).items():
        assert alarm["AlarmActions"] == [TOPIC_ARN], logical_id


@pytest.mark.parametrize(
    "option",
    [
        {ALARM_EMAIL_CONTEXT_KEY: "ops-at-example.com"},
        {ALARM_TOPIC_CONTEXT_KEY: "arn:aws:sqs:eu-west-1:123456789012:not-a-topic"},
    ],
    ids=["email", "topic"],
)
def test_a_malformed_alarm_destination_stops_synth(
    option: dict[str, str], synthesize: Synthesize, app_context: dict
) -> None:
    with pytest.raises(OptionError, match="imgpro:alarm"):
        synthesize({**app_context, **option})


# --- the dashboard ---------------------------------------------------------------------------


def test_one_dashboard_named_after_the_stack_and_region(template: Template) -> None:
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": {"Fn::Join": ["", ["ImgPro-", {"Ref": "AWS::Region"}]]}},
    )


def test_dashboard_shows_api_requests_errors_and_latency_percentiles(dashboard_body: str) -> None:
    for metric in ('"Count"', '"4XXError"', '"5XXError"', '"Latency"'):
        assert f'["AWS/ApiGateway",{metric},"ApiName","ImgPro"' in dashboard_body
    for percentile in ('"stat":"p50"', '"stat":"p99"'):
        assert percentile in dashboard_body


def test_dashboard_shows_errors_throttles_and_durations_of_key_functions(
    dashboard_body: str, stack: ImgProStack
) -> None:
    for name in KEY_FUNCTIONS:
        function = json.dumps({"Ref": _logical_id(stack, stack.functions[name])})
        for metric in ("Errors", "Throttles", "Duration"):
            assert f'["AWS/Lambda","{metric}","FunctionName","{function}"' in dashboard_body, (
                name,
                metric,
            )


def test_dashboard_shows_every_custom_metric_of_the_code(dashboard_body: str) -> None:
    for name in CUSTOM_METRICS:
        assert f'"{name}"' in dashboard_body, name
    # Powertools' service dimension, and Errors by each code it was emitted with.
    assert '["imgpro","Uploads","service","imgpro"' in dashboard_body
    assert "SEARCH('{imgpro,code,service} MetricName=\\\"Errors\\\"', 'Sum', 300)" in (
        dashboard_body
    )


def test_dashboard_shows_every_dead_letter_queue_depth(
    dashboard_body: str, template: Template
) -> None:
    for queue_id in _dead_letter_queue_ids(template):
        queue = json.dumps({"Fn::GetAtt": [queue_id, "QueueName"]})
        assert f'"ApproximateNumberOfMessagesVisible","QueueName","{queue}"' in dashboard_body


def test_dashboard_shows_the_state_of_every_alarm(dashboard_body: str, template: Template) -> None:
    for logical_id in _alarms(template):
        assert json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in dashboard_body


def test_dashboard_can_be_left_out(synthesize: Synthesize, app_context: dict) -> None:
    template = Template.from_stack(synthesize({**app_context, DASHBOARD_CONTEXT_KEY: "false"}))
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    assert _alarms(template)  # the alarms stay
