"""How every imgpro function is built, whether a route or an event invokes it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro import config
from infra.layers import ARCHITECTURE, RUNTIME
from infra.nag import BASIC_EXECUTION_ROLE, acknowledge
from infra.observability import lambda_tracing, powertools_environment, tracing_enabled
from infra.options import OptionError, integer, is_dev
from infra.paths import ASSET_EXCLUDES

LOG_RETENTION_CONTEXT_KEY = "imgpro:logRetentionDays"
DEFAULT_LOG_RETENTION_DAYS = 30
# The retention periods CloudWatch Logs accepts.
_RETENTION_DAYS = {
    days: getattr(logs.RetentionDays, name)
    for days, name in {
        1: "ONE_DAY",
        3: "THREE_DAYS",
        5: "FIVE_DAYS",
        7: "ONE_WEEK",
        14: "TWO_WEEKS",
        30: "ONE_MONTH",
        60: "TWO_MONTHS",
        90: "THREE_MONTHS",
        120: "FOUR_MONTHS",
        150: "FIVE_MONTHS",
        180: "SIX_MONTHS",
        365: "ONE_YEAR",
        400: "THIRTEEN_MONTHS",
        545: "EIGHTEEN_MONTHS",
        731: "TWO_YEARS",
        1096: "THREE_YEARS",
        1827: "FIVE_YEARS",
        2192: "SIX_YEARS",
        2557: "SEVEN_YEARS",
        2922: "EIGHT_YEARS",
        3288: "NINE_YEARS",
        3653: "TEN_YEARS",
    }.items()
}


def log_retention_days(scope: Construct) -> int:
    """`imgpro:logRetentionDays` (default 30): logs of functions and API Gateway, and log
    objects in the log bucket, are kept this long."""
    days = integer(scope, LOG_RETENTION_CONTEXT_KEY, default=DEFAULT_LOG_RETENTION_DAYS, minimum=1)
    if days not in _RETENTION_DAYS:
        raise OptionError(
            f"CDK context {LOG_RETENTION_CONTEXT_KEY}: CloudWatch Logs keeps logs for one of"
            f" {sorted(_RETENTION_DAYS)} days, got {days}"
        )
    return days


def log_retention(scope: Construct) -> logs.RetentionDays:
    """`log_retention_days` as what a LogGroup takes."""
    return _RETENTION_DAYS[log_retention_days(scope)]


def log_removal_policy(scope: Construct) -> cdk.RemovalPolicy:
    """Log groups go with a dev stack (`imgpro:dev`); otherwise they outlive it."""
    return cdk.RemovalPolicy.DESTROY if is_dev(scope) else cdk.RemovalPolicy.RETAIN


def function_environment(
    *,
    table: dynamodb.ITable,
    bucket: s3.IBucket,
    signing_key_id: str,
    signing_key_parameter: str,
) -> dict[str, str]:
    """What `imgpro.config` reads, identical for every function so any of them can build
    any response (a worker writes the same media records a route reads back), except for
    what names the distribution: see `distribution_environment`."""
    return {
        config.TABLE_NAME: table.table_name,
        config.BUCKET_NAME: bucket.bucket_name,
        config.SIGNING_KEY_ID: signing_key_id,
        config.SIGNING_KEY_PARAMETER: signing_key_parameter,
    }


def distribution_environment(distribution: cloudfront.IDistribution) -> dict[str, str]:
    """The settings that name the distribution: the base of every `src`, and what
    invalidations target.

    Not for the resize function: the distribution uses that function's URL as an origin,
    so CloudFormation would have to create each of the two before the other.
    """
    return {
        config.CDN_BASE_URL: cdn_base_url(distribution),
        config.DISTRIBUTION_ID: distribution.distribution_id,
    }


def cdn_base_url(distribution: cloudfront.IDistribution) -> str:
    """Base of every `src`; a deploy-time token, not a literal."""
    return "https://" + distribution.distribution_domain_name


def handler_function(
    scope: Construct,
    construct_id: str,
    *,
    folder: Path,
    description: str,
    memory_size: int,
    timeout: cdk.Duration,
    layers: list[lambda_.ILayerVersion],
    environment: Mapping[str, str],
    reserved_concurrent_executions: int | None = None,
) -> lambda_.Function:
    """The function running `<folder>/handler.py`'s `handler(event, context)`, with the
    Powertools settings and X-Ray tracing of every function (infra.observability)."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=log_retention(scope),
        removal_policy=log_removal_policy(scope),
    )
    function = lambda_.Function(
        scope,
        construct_id,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(folder), exclude=ASSET_EXCLUDES),
        memory_size=memory_size,
        timeout=timeout,
        layers=layers,
        environment={**environment, **powertools_environment(scope)},
        reserved_concurrent_executions=reserved_concurrent_executions,
        log_group=log_group,
        tracing=lambda_tracing(scope),
    )
    if tracing_enabled(scope):
        acknowledge(
            function,
            "IAM5",
            "Active tracing's xray:PutTraceSegments and xray:PutTelemetryRecords, which"
            " apply to no resource of their own (AWS documents them with Resource `*`).",
            findings=["Resource::*"],
        )
    acknowledge(
        function,
        "IAM4",
        "AWSLambdaBasicExecutionRole is only logs:CreateLogGroup, CreateLogStream and"
        " PutLogEvents: what any function needs to write its own logs, nothing more.",
        findings=[BASIC_EXECUTION_ROLE],
    )
    acknowledge(
        function,
        "L1",
        f"Pinned to {RUNTIME.name} on purpose: the layers are built with pip for exactly"
        " this CPython (infra/layers.py), so the runtime moves together with them.",
    )
    return function


def pascal_case(name: str) -> str:
    """`upload_direct` → `UploadDirect`: a function folder as a construct id."""
    return "".join(part.capitalize() for part in name.split("_"))
