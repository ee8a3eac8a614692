"""How every imgpro function is built, whether a route or an event invokes it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro import config
from infra.layers import ARCHITECTURE, RUNTIME
from infra.paths import ASSET_EXCLUDES

SERVICE_NAME = "imgpro"


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
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
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
    """The function running `<folder>/handler.py`'s `handler(event, context)`."""
    return lambda_.Function(
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
        environment=dict(environment),
        reserved_concurrent_executions=reserved_concurrent_executions,
    )


def pascal_case(name: str) -> str:
    """`upload_direct` → `UploadDirect`: a function folder as a construct id."""
    return "".join(part.capitalize() for part in name.split("_"))
