"""The invalidation queue and its worker: the API and the expiry worker put one message per
request on the queue (imgpro.cdn), and `functions/invalidate` turns each into one
CloudFront invalidation (imgpro.invalidation, docs/cdn.md).

A message CloudFront refuses (too many invalidations in progress, throttling) is failed
alone (`batchItemFailures`) and offered again when its visibility timeout has passed
(`cdn.RETRY_AFTER_SECONDS`); after `cdn.MAX_RECEIVES` tries it moves to an encrypted
dead-letter queue, and an alarm goes off on the first message there. Another alarm
watches the worker's errors. The grants are the stack's (`ImgProStack._grant_invalidation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from imgpro.cdn import INVALIDATION_WORKER, MAX_RECEIVES, RETRY_AFTER_SECONDS
from infra import alarms
from infra.functions import handler_function, pascal_case
from infra.paths import FUNCTIONS_DIR

# One CreateInvalidation per message, ten messages a batch at most: seconds. No image, no
# table: the core layer and the least memory that starts Python quickly.
_MEMORY_MB = 256
TIMEOUT = cdk.Duration.seconds(30)
"""Well under the visibility timeout (AWS asks for at least the function's timeout)."""
_BATCH_SIZE = 10
# The fewest concurrent workers an SQS event source allows: invalidations are few, and
# CloudFront counts them per distribution, so more workers would only be refused more.
_MAX_CONCURRENCY = 2


class Invalidation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        functions_dir: Path = FUNCTIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = alarms.dead_letter_queue(self)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(RETRY_AFTER_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVES, queue=self.dead_letters
            ),
        )
        self.function = handler_function(
            self,
            pascal_case(INVALIDATION_WORKER),
            folder=functions_dir / INVALIDATION_WORKER,
            description="imgpro: one CloudFront invalidation per queued message, retried",
            memory_size=_MEMORY_MB,
            timeout=TIMEOUT,
            layers=[core_layer],
            environment=environment,
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=_MAX_CONCURRENCY,
            )
        )
        self.dead_letter_alarm = alarms.dead_letters(
            self,
            self.dead_letters,
            (
                "A CDN invalidation failed every try: deleted or re-scoped public media may "
                "still be served by CloudFront. docs/cdn.md says what to do."
            ),
        )
        self.error_alarm = alarms.function_errors(
            self,
            self.function,
            "The invalidation worker failed a whole batch (SQS retries it; see its logs).",
        )
