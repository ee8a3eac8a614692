"""Dead-letter queues, and the stack's alarms, in few shapes so every one of them reads (and
is tested) the same way:

- `on_any`: in ALARM on the first occurrence of something that should never happen: a
  message in a dead-letter queue, a worker failing a whole batch, a throttled function.
- `above`: a measure past a limit, e.g. the expiry worker's stream iterator age.
- `error_rate`: a percentage of requests, judged only once enough requests were made.

All of them look at 5-minute periods and treat no data as fine (a quiet queue or an idle
function reports nothing). docs/observability.md says what each alarm means.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

PERIOD = cdk.Duration.minutes(5)
DEAD_LETTER_RETENTION = cdk.Duration.days(14)
"""SQS's longest retention: the operator has two weeks to look at what failed."""


def dead_letter_queue(scope: Construct, construct_id: str = "DeadLetters") -> cdk.aws_sqs.Queue:
    """An encrypted, TLS-only queue that keeps what failed every retry."""
    return cdk.aws_sqs.Queue(
        scope,
        construct_id,
        encryption=cdk.aws_sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
    )


def on_any(
    scope: Construct, construct_id: str, *, metric: cloudwatch.IMetric, description: str
) -> cloudwatch.Alarm:
    """An alarm in ALARM as soon as `metric` reaches 1 in a period; no data is not a breach
    (a quiet queue or an idle worker reports nothing)."""
    return above(scope, construct_id, metric=metric, threshold=1, description=description)


def above(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    or_equal: bool = True,
) -> cloudwatch.Alarm:
    """An alarm in ALARM when `metric` reaches `threshold` (exceeds it, without
    `or_equal`) in one period; no data is not a breach."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=(
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            if or_equal
            else cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ),
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def dead_letters(
    scope: Construct,
    queue: cdk.aws_sqs.IQueue,
    description: str,
    construct_id: str = "DeadLettersAlarm",
) -> cloudwatch.Alarm:
    return on_any(
        scope,
        construct_id,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"
        ),
        description=description,
    )


def function_errors(
    scope: Construct,
    function: cdk.aws_lambda.IFunction,
    description: str,
    construct_id: str = "ErrorsAlarm",
) -> cloudwatch.Alarm:
    return on_any(
        scope,
        construct_id,
        metric=function.metric_errors(period=PERIOD, statistic="Sum"),
        description=description,
    )


def function_throttles(
    scope: Construct, construct_id: str, function: cdk.aws_lambda.IFunction, description: str
) -> cloudwatch.Alarm:
    return on_any(
        scope,
        construct_id,
        metric=function.metric_throttles(period=PERIOD, statistic="Sum"),
        description=description,
    )


def iterator_age(
    scope: Construct,
    function: cdk.aws_lambda.IFunction,
    *,
    limit: cdk.Duration,
    description: str,
    construct_id: str = "IteratorAgeAlarm",
) -> cloudwatch.Alarm:
    """The age of the newest record a stream-triggered function has read, at its worst in
    a period, past `limit`: the function is falling behind its stream."""
    return above(
        scope,
        construct_id,
        # Milliseconds, as Lambda publishes it.
        metric=function.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
        threshold=limit.to_milliseconds(),
        description=description,
        or_equal=False,
    )


def error_rate(
    scope: Construct,
    construct_id: str,
    *,
    errors: cloudwatch.IMetric,
    requests: cloudwatch.IMetric,
    percent: float,
    minimum_requests: int,
    description: str,
    excused: Mapping[str, cloudwatch.IMetric] | None = None,
) -> cloudwatch.Alarm:
    """In ALARM when more than `percent` % of the requests of a period failed, counted
    only in periods of at least `minimum_requests` requests: below that, a single error
    is a large share of nothing, and pages nobody. `excused`: counts of errors that are
    in `errors` but not the service's fault, taken off it (missing: none)."""
    excused = dict(excused or {})
    # Metric math counts a missing value as 0 in arithmetic (no FILL needed, and FILL
    # would make the newest, not yet published period read as 0); with no requests at all
    # the IF has nothing to compare and the period has no data: not a breach.
    failed = " - ".join(["errors", *excused])
    rate = cloudwatch.MathExpression(
        expression=f"IF(requests >= {minimum_requests}, 100 * ({failed}) / requests, 0)",
        using_metrics={"errors": errors, "requests": requests, **excused},
        label="Server errors (% of requests)",
        period=PERIOD,
    )
    return above(
        scope,
        construct_id,
        metric=rate,
        threshold=percent,
        description=description,
        or_equal=False,
    )
