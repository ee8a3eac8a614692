"""Functions that no route invokes: one per `imgpro.routes.WORKERS`, run by S3 events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from imgpro.routes import Worker
from infra.functions import handler_function, pascal_case
from infra.paths import FUNCTIONS_DIR

# A worker decodes files of up to 100 MB: the pixels of a large upload need gigabytes,
# and Lambda's CPU share grows with memory, so the decode is faster as well.
_MEMORY_MB = 3008
# No client waits on a worker, so it is not bound by API Gateway's 29 s; five minutes
# covers decoding and re-encoding the largest accepted file with room to spare.
_TIMEOUT = cdk.Duration.minutes(5)


class Workers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workers: Sequence[Worker],
        bucket: s3.IBucket,
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        imaging_layer: lambda_.ILayerVersion,
        functions_dir: Path = FUNCTIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        for worker in workers:
            function = handler_function(
                self,
                pascal_case(worker.function),
                folder=functions_dir / worker.function,
                description=f"imgpro {worker.function} on objects created under {worker.s3_prefix}",
                memory_size=_MEMORY_MB,
                timeout=_TIMEOUT,
                layers=[core_layer, imaging_layer] if worker.decodes_images else [core_layer],
                environment=environment,
            )
            self.functions[worker.function] = function
            # Invoked asynchronously by S3, so Lambda retries a failed event twice by
            # itself; the handler must tolerate seeing the same object again.
            bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(function),
                s3.NotificationKeyFilter(prefix=worker.s3_prefix),
            )
