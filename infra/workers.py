"""Functions that no route invokes: one per `imgpro.routes.WORKERS`, run by S3 events.

S3 invokes a worker asynchronously: Lambda tries an event three times in all, then hands
it to the worker's encrypted dead-letter queue (an on-failure destination), where an
alarm goes off on the first message; another alarm watches the worker's errors, which
are never a bad upload (that is recorded as failed media) but a fault: a timeout, memory,
a service refusing. docs/observability.md says how to replay what was dead-lettered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from imgpro.routes import Worker
from infra import alarms
from infra.functions import handler_function, pascal_case
from infra.nag import acknowledge
from infra.paths import FUNCTIONS_DIR

# A worker decodes files of up to 100 MB: the pixels of a large upload need gigabytes,
# and Lambda's CPU share grows with memory, so the decode is faster as well.
_MEMORY_MB = 3008
# No client waits on a worker, so it is not bound by API Gateway's 29 s; five minutes
# covers decoding and re-encoding the largest accepted file with room to spare.
_TIMEOUT = cdk.Duration.minutes(5)
# Lambda's own default for asynchronous invocations, said out loud: three tries in all.
_RETRY_ATTEMPTS = 2


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
        self.dead_letters: dict[str, cdk.aws_sqs.Queue] = {}
        self.dead_letter_alarms: dict[str, cloudwatch.Alarm] = {}
        self.error_alarms: dict[str, cloudwatch.Alarm] = {}
        for worker in workers:
            name = pascal_case(worker.function)
            function = handler_function(
                self,
                name,
                folder=functions_dir / worker.function,
                description=f"imgpro {worker.function} on objects created under {worker.s3_prefix}",
                memory_size=_MEMORY_MB,
                timeout=_TIMEOUT,
                layers=[core_layer, imaging_layer] if worker.decodes_images else [core_layer],
                environment=environment,
            )
            self.functions[worker.function] = function
            dead_letters = alarms.dead_letter_queue(self, f"{name}DeadLetters")
            # The queue gets the whole event (requestPayload) and why it failed.
            function.configure_async_invoke(
                on_failure=destinations.SqsDestination(dead_letters),
                retry_attempts=_RETRY_ATTEMPTS,
            )
            acknowledge(
                dead_letters,
                "SQS3",
                "This queue is itself the dead-letter destination of the worker's"
                " asynchronous invocations (on-failure), which SQS3 does not recognise as"
                " a DLQ; a DLQ of a DLQ would only move the same messages again.",
            )
            self.dead_letters[worker.function] = dead_letters
            self.dead_letter_alarms[worker.function] = alarms.dead_letters(
                self,
                dead_letters,
                (
                    f"An S3 event failed every try of the {worker.function} worker: what was"
                    f" uploaded under {worker.s3_prefix} was not processed."
                    " docs/observability.md says how to replay it."
                ),
                construct_id=f"{name}DeadLettersAlarm",
            )
            self.error_alarms[worker.function] = alarms.function_errors(
                self,
                function,
                (
                    f"The {worker.function} worker failed (Lambda tries an event three times,"
                    " then dead-letters it; see the worker's logs)."
                ),
                construct_id=f"{name}ErrorsAlarm",
            )
            # Invoked asynchronously by S3, so Lambda retries a failed event twice by
            # itself; the handler must tolerate seeing the same object again.
            bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(function),
                s3.NotificationKeyFilter(prefix=worker.s3_prefix),
            )
