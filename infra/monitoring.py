"""The stack's watch: alarms that are nobody's construct in particular, a dashboard, and
where alarms are sent.

- The API's server error rate: more than `SERVER_ERROR_PERCENT` % of the requests of
  five minutes answered 5xx, judged only when there were at least
  `SERVER_ERROR_MINIMUM_REQUESTS` of them (a quiet night's one error in three requests
  pages nobody). Imports that fail because of the URL they fetched answer 502/504 by
  the img.pro wire format; they are taken off the count (the `Errors` metric by code).
- Every function of the stack (routes, workers, resize): an alarm on its first throttle.
  One alarm per function rather than one sum: CloudWatch bills an alarm on metric math
  per metric it reads, so a sum costs the same, and a per-function alarm names the
  function (an alarm on metric math reads at most 10 metrics anyway).
- An invalidation the API could not even queue (SQS refused it): the function logs
  `CDN INVALIDATION NOT QUEUED` with the command to run by hand (imgpro.cdn); a metric
  filter on the log groups of the functions that queue invalidations counts those lines
  (`InvalidationsNotQueued`), and an alarm goes off on the first.
- The dead-letter queues, worker errors and the expiry worker's iterator age are alarmed
  next to what they watch (infra.expiry, infra.invalidation, infra.workers).

`imgpro:alarmEmail` (one address or a list) makes an SNS topic that every alarm of the
stack notifies, on ALARM and back to OK; `imgpro:alarmTopicArn` names an existing topic
(a chat or paging integration) to notify as well. Neither is needed: without them the
alarms show in the CloudWatch console and on the dashboard only.

`imgpro:dashboard` (default true): one CloudWatch dashboard, `<stack>-<region>`.
See docs/observability.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import alarms, observability
from infra.functions import pascal_case
from infra.nag import acknowledge
from infra.options import OptionError, flag, string_list, text

ALARM_EMAIL_CONTEXT_KEY = "imgpro:alarmEmail"
"""Addresses (one, a comma-separated list, or a JSON list) that alarms are mailed to."""
ALARM_TOPIC_CONTEXT_KEY = "imgpro:alarmTopicArn"
"""An existing SNS topic (ARN) that alarms are sent to as well."""
DASHBOARD_CONTEXT_KEY = "imgpro:dashboard"
"""The CloudWatch dashboard (default true)."""

SERVER_ERROR_PERCENT = 1
"""Percent of a period's requests that may answer 5xx before the alarm goes off."""
SERVER_ERROR_MINIMUM_REQUESTS = 100
"""Requests in a 5-minute period (one every three seconds) below which the rate is not
judged: at 100 requests it takes two server errors to pass 1 %, at 1,000 eleven."""

KEY_FUNCTIONS = (
    "upload",
    "upload_direct",
    "import_url",
    "get_media",
    "list_media",
    "resize",
    "process_upload",
    "expire_media",
    "invalidate",
)
"""Functions whose durations the dashboard draws (errors and throttles: every function)."""

NOT_QUEUED_LOG_TEXT = "CDN INVALIDATION NOT QUEUED"
"""What imgpro.cdn logs when SQS refused an invalidation (with the command to run)."""

_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?")
_WIDTH = 24


def alarm_emails(scope: Construct) -> list[str]:
    """`imgpro:alarmEmail`, checked at synth."""
    emails = string_list(scope, ALARM_EMAIL_CONTEXT_KEY)
    for email in emails:
        if not _EMAIL.fullmatch(email):
            raise OptionError(
                f"CDK context {ALARM_EMAIL_CONTEXT_KEY}: not an email address: {email!r}"
            )
    return emails


def alarm_topic_arn(scope: Construct) -> str | None:
    """`imgpro:alarmTopicArn`, checked at synth."""
    arn = text(scope, ALARM_TOPIC_CONTEXT_KEY)
    if arn is not None and not _TOPIC_ARN.fullmatch(arn):
        raise OptionError(
            f"CDK context {ALARM_TOPIC_CONTEXT_KEY}: not an SNS topic ARN"
            f" (arn:aws:sns:<region>:<account>:<name>): {arn!r}"
        )
    return arn


class Monitoring(Construct):
    """Built last: it sends every alarm of the stack, whoever made it, to the topics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigateway.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        invalidation_queue: sqs.IQueue,
        expiry_function: lambda_.IFunction,
        invalidating_functions: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        """`invalidating_functions`: the functions that queue CDN invalidations, whose
        logs say when they could not."""
        super().__init__(scope, construct_id)
        emails = alarm_emails(scope)
        topic_arn = alarm_topic_arn(scope)
        self.rest_api = rest_api
        self.functions = dict(functions)
        self.server_error_alarm = alarms.error_rate(
            self,
            "ApiServerErrorsAlarm",
            errors=rest_api.metric_server_error(period=alarms.PERIOD, statistic="Sum"),
            requests=rest_api.metric_count(period=alarms.PERIOD, statistic="Sum"),
            excused={
                code: _error_responses(code) for code in observability.CLIENT_CAUSED_5XX_CODES
            },
            percent=SERVER_ERROR_PERCENT,
            minimum_requests=SERVER_ERROR_MINIMUM_REQUESTS,
            description=(
                f"More than {SERVER_ERROR_PERCENT}% of the API's requests in 5 minutes"
                f" answered 5xx (judged from {SERVER_ERROR_MINIMUM_REQUESTS} requests on;"
                " failed imports not counted). docs/observability.md says what to do."
            ),
        )
        self.throttle_alarms = {
            name: alarms.function_throttles(
                self,
                f"{pascal_case(name)}ThrottlesAlarm",
                function,
                (
                    f"Lambda refused to run the {name} function (throttled): the account's"
                    " or the function's concurrency is used up. docs/observability.md."
                ),
            )
            for name, function in functions.items()
        }
        self.not_queued_alarm = (
            self._not_queued_alarm(invalidating_functions) if invalidating_functions else None
        )
        self.topics: list[sns.ITopic] = []
        self.topic: sns.Topic | None = None
        if emails:
            self.topic = self._email_topic(emails)
            self.topics.append(self.topic)
        if topic_arn:
            self.topics.append(sns.Topic.from_topic_arn(self, "AlarmTopicImported", topic_arn))
        self.alarms = [
            construct
            for construct in cdk.Stack.of(self).node.find_all()
            if isinstance(construct, cloudwatch.Alarm)
        ]
        for alarm in self.alarms:
            for topic in self.topics:
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
                alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
        self.dashboard: cloudwatch.Dashboard | None = None
        if flag(scope, DASHBOARD_CONTEXT_KEY, default=True):
            self.dashboard = self._dashboard(
                dead_letter_queues=dead_letter_queues,
                invalidation_queue=invalidation_queue,
                expiry_function=expiry_function,
            )

    def _not_queued_alarm(self, functions: Mapping[str, lambda_.IFunction]) -> cloudwatch.Alarm:
        for name, function in functions.items():
            logs.MetricFilter(
                self,
                f"{pascal_case(name)}NotQueuedFilter",
                log_group=function.log_group,
                # The exact phrase, anywhere in the line (the message of a JSON line).
                filter_pattern=logs.FilterPattern.literal(f'"{NOT_QUEUED_LOG_TEXT}"'),
                metric_namespace=observability.METRICS_NAMESPACE,
                metric_name=observability.INVALIDATIONS_NOT_QUEUED,
                metric_value="1",
            )
        return alarms.on_any(
            self,
            "InvalidationsNotQueuedAlarm",
            metric=cloudwatch.Metric(
                namespace=observability.METRICS_NAMESPACE,
                metric_name=observability.INVALIDATIONS_NOT_QUEUED,
                statistic="Sum",
                period=alarms.PERIOD,
            ),
            description=(
                "A CDN invalidation could not be queued: the edge may serve deleted or"
                f" re-scoped media. Find `{NOT_QUEUED_LOG_TEXT}` in the logs and run the"
                " command it names. docs/observability.md."
            ),
        )

    def _email_topic(self, emails: Sequence[str]) -> sns.Topic:
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{cdk.Stack.of(self).stack_name} alarms",
            enforce_ssl=True,
        )
        # enforce_ssl writes the topic's policy, which replaces SNS's default one: without
        # this statement no alarm could publish ("no resource-based policy allows").
        stack = cdk.Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsOfThisAccountPublish",
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        for email in emails:
            # Each address gets a confirmation mail first; nothing arrives until it is
            # confirmed.
            topic.add_subscription(subscriptions.EmailSubscription(email))
        acknowledge(
            topic,
            "SNS2",
            "Alarm notifications carry alarm names, states and reasons, no data. CloudWatch"
            " cannot publish to a topic under the AWS managed SNS key, and a customer"
            " managed key would cost a monthly fee for nothing secret.",
        )
        cdk.CfnOutput(cdk.Stack.of(self), "AlarmTopicArn", value=topic.topic_arn)
        return topic

    def _dashboard(
        self,
        *,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        invalidation_queue: sqs.IQueue,
        expiry_function: lambda_.IFunction,
    ) -> cloudwatch.Dashboard:
        stack = cdk.Stack.of(self)
        api = self.rest_api
        period = alarms.PERIOD
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Dashboards are global to the account: the region tells stacks apart.
            dashboard_name=f"{stack.stack_name}-{cdk.Aws.REGION}",
            default_interval=cdk.Duration.hours(24),
        )
        key_functions = {n: f for n, f in self.functions.items() if n in KEY_FUNCTIONS}
        dashboard.add_widgets(
            _graph(
                "API requests",
                [api.metric_count(period=period, statistic="Sum", label="Requests")],
            ),
            _graph(
                "API 4xx and 5xx",
                [
                    api.metric_client_error(period=period, statistic="Sum", label="4xx"),
                    api.metric_server_error(period=period, statistic="Sum", label="5xx"),
                ],
            ),
            _graph(
                "API latency (ms)",
                [
                    api.metric_latency(period=period, statistic="p50", label="p50"),
                    api.metric_latency(period=period, statistic="p99", label="p99"),
                    api.metric_integration_latency(
                        period=period, statistic="p99", label="integration p99"
                    ),
                ],
            ),
            cloudwatch.AlarmWidget(
                title="API server errors (% of requests)",
                alarm=self.server_error_alarm,
                width=_WIDTH // 4,
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Lambda errors",
                [
                    f.metric_errors(period=period, statistic="Sum", label=n)
                    for n, f in self.functions.items()
                ],
                width=_WIDTH // 3,
            ),
            _graph(
                "Lambda throttles",
                [
                    f.metric_throttles(period=period, statistic="Sum", label=n)
                    for n, f in self.functions.items()
                ],
                width=_WIDTH // 3,
            ),
            _graph(
                "Lambda duration p99 (ms)",
                [
                    f.metric_duration(period=period, statistic="p99", label=n)
                    for n, f in key_functions.items()
                ],
                width=_WIDTH // 3,
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Uploads, imports, variants",
                [
                    _custom(observability.UPLOADS, "Sum"),
                    _custom(observability.IMPORTS, "Sum"),
                    _custom(observability.VARIANTS_MADE, "Sum"),
                ],
            ),
            _graph("Bytes stored", [_custom(observability.BYTES_STORED, "Sum")]),
            _graph(
                "Variant render time (ms)",
                [
                    _custom(observability.VARIANT_RENDER_TIME, "p50", label="p50"),
                    _custom(observability.VARIANT_RENDER_TIME, "p99", label="p99"),
                ],
            ),
            _graph(
                "Error responses by code",
                [
                    cloudwatch.MathExpression(
                        expression=_search(
                            observability.ERRORS, observability.ERROR_CODE_DIMENSION
                        ),
                        using_metrics={},
                        label="",
                        period=period,
                    )
                ],
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Refused: rate limits and quotas",
                [
                    _custom(observability.RATE_LIMITED, "Sum"),
                    _custom(observability.QUOTA_REFUSED, "Sum"),
                ],
            ),
            _graph(
                "CDN invalidations",
                [
                    invalidation_queue.metric_approximate_number_of_messages_visible(
                        period=period, statistic="Maximum", label="queued"
                    ),
                    _custom(observability.INVALIDATIONS_RETRIED, "Sum", label="retried"),
                    cloudwatch.Metric(
                        namespace=observability.METRICS_NAMESPACE,
                        metric_name=observability.INVALIDATIONS_NOT_QUEUED,
                        statistic="Sum",
                        period=period,
                        label="not queued",
                    ),
                ],
            ),
            _graph(
                "Dead-letter queues",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        period=period, statistic="Maximum", label=name
                    )
                    for name, queue in dead_letter_queues.items()
                ],
            ),
            _graph(
                "Expiry worker: stream iterator age (ms)",
                [
                    expiry_function.metric(
                        "IteratorAge", period=period, statistic="Maximum", label="max"
                    )
                ],
            ),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=self.alarms,
                width=_WIDTH,
                height=4,
            )
        )
        return dashboard


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, width: int = _WIDTH // 4
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6)


def _custom(name: str, statistic: str, *, label: str | None = None) -> cloudwatch.Metric:
    """A custom metric of the code, as Powertools emits it: with the `service` dimension."""
    return cloudwatch.Metric(
        namespace=observability.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={observability.SERVICE_DIMENSION: observability.SERVICE_NAME},
        statistic=statistic,
        period=alarms.PERIOD,
        label=label or name,
    )


def _error_responses(code: str) -> cloudwatch.Metric:
    """`Errors` of one code: error responses the code counted, by their `code`."""
    return cloudwatch.Metric(
        namespace=observability.METRICS_NAMESPACE,
        metric_name=observability.ERRORS,
        dimensions_map={
            observability.SERVICE_DIMENSION: observability.SERVICE_NAME,
            observability.ERROR_CODE_DIMENSION: code,
        },
        statistic="Sum",
        period=alarms.PERIOD,
    )


def _search(metric_name: str, dimension: str) -> str:
    """Every time series of `metric_name` in the namespace, one per value of `dimension`."""
    schema = ",".join([observability.METRICS_NAMESPACE, dimension, observability.SERVICE_DIMENSION])
    seconds = int(alarms.PERIOD.to_seconds())
    return f"SEARCH('{{{schema}}} MetricName=\"{metric_name}\"', 'Sum', {seconds})"
