"""AWS clients and table binding, made once per container and only on first use.

Not at import: tests start moto before the first call, and a handler's cold start
should not pay for clients a route never uses.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from imgpro import models
from imgpro.config import settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover - typing only


@lru_cache(maxsize=1)
def s3() -> S3Client | Any:
    import boto3
    from botocore.config import Config

    # Against an emulator (AWS_ENDPOINT_URL) presigned URLs must name the bucket in the
    # path; in AWS, virtual-hosted style is the supported one. Adaptive retries ride
    # out S3's 503 SlowDown.
    style: Literal["path", "virtual"] = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
    config = Config(
        s3={"addressing_style": style}, signature_version="s3v4", retries={"mode": "adaptive"}
    )
    return boto3.client("s3", config=config)


@lru_cache(maxsize=1)
def bind_table() -> str:
    """Point the PynamoDB models at the configured table; returns its name."""
    name = settings().table_name
    models.bind(name)
    return name


def reset() -> None:
    """Forget every cached client and setting (tests, and the local stack on restart)."""
    settings.cache_clear()
    s3.cache_clear()
    bind_table.cache_clear()
    from imgpro import cdn, idempotency, signing

    idempotency._idempotent_runner.cache_clear()
    signing.reset()
    cdn._cloudfront.cache_clear()
    cdn._sqs.cache_clear()
