"""Dead-letter queues, and alarms that fire on the first occurrence of something that should
never happen: a message in a dead-letter queue, a worker failing a whole batch. One shape,
so every such queue and alarm in the stack reads (and is tested) the same way."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

PERIOD = cdk.Duration.minutes(5)
DEAD_LETTER_RETENTION = cdk.Duration.days(14)
"""SQS's longest retention: the operator has two weeks to look at what failed."""


def dead_letter_queue(scope: Construct) -> cdk.aws_sqs.Queue:
    """An encrypted, TLS-only queue that keeps what failed every retry."""
    return cdk.aws_sqs.Queue(
        scope,
        "DeadLetters",
        encryption=cdk.aws_sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
    )


def on_any(
    scope: Construct, construct_id: str, *, metric: cloudwatch.IMetric, description: str
) -> cloudwatch.Alarm:
    """An alarm in ALARM as soon as `metric` reaches 1 in a period; no data is not a breach
    (a quiet queue or an idle worker reports nothing)."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def dead_letters(scope: Construct, queue: cdk.aws_sqs.IQueue, description: str) -> cloudwatch.Alarm:
    return on_any(
        scope,
        "DeadLettersAlarm",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"
        ),
        description=description,
    )


def function_errors(
    scope: Construct, function: cdk.aws_lambda.IFunction, description: str
) -> cloudwatch.Alarm:
    return on_any(
        scope,
        "ErrorsAlarm",
        metric=function.metric_errors(period=PERIOD, statistic="Sum"),
        description=description,
    )
