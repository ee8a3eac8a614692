"""How every imgpro function is built, whether a route or an event invokes it."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro import config
from infra.layers import ARCHITECTURE, RUNTIME
from infra.paths import ASSET_EXCLUDES

SERVICE_NAME = "imgpro"


def function_environment(
    *, table: dynamodb.ITable, bucket: s3.IBucket, cdn_base_url: str
) -> dict[str, str]:
    """What `imgpro.config` reads, identical for every function so any of them can build
    any response (a worker writes the same media records a route reads back)."""
    return {
        config.TABLE_NAME: table.table_name,
        config.BUCKET_NAME: bucket.bucket_name,
        config.CDN_BASE_URL: cdn_base_url,
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    }


def handler_function(
    scope: Construct,
    construct_id: str,
    *,
    folder: Path,
    description: str,
    memory_size: int,
    timeout: cdk.Duration,
    layers: list[lambda_.ILayerVersion],
    environment: dict[str, str],
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
        environment=environment,
    )


def pascal_case(name: str) -> str:
    """`upload_direct` → `UploadDirect`: a function folder as a construct id."""
    return "".join(part.capitalize() for part in name.split("_"))
