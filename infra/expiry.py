"""The expiry worker: the table's stream, filtered to TTL deletions of media items, runs
`functions/expire_media`, which deletes their bytes (imgpro.expiry, docs/ephemeral.md).

Failures are retried by the event source mapping, one record at a time in the end
(bisection plus the handler's `batchItemFailures`); a record that still fails after
`STREAM_RETRY_ATTEMPTS` retries has its batch described in an encrypted dead-letter
queue, and an alarm goes off on the first message. Other alarms watch the function's
errors, and how far behind the stream it is (IteratorAge). The grants are the stack's
(`ImgProStack._grant_expiry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from imgpro.expiry_rules import (
    STREAM_BATCH_SIZE,
    STREAM_FILTER,
    STREAM_RETRY_ATTEMPTS,
    WORKER_FUNCTION,
)
from infra import alarms
from infra.functions import handler_function, pascal_case
from infra.nag import acknowledge
from infra.paths import FUNCTIONS_DIR

# A batch is at most STREAM_BATCH_SIZE records, each a DeleteObjects, two small writes
# and a CreateInvalidation: seconds, not minutes. No image is decoded: no Pillow either.
_MEMORY_MB = 256
_TIMEOUT = cdk.Duration.minutes(1)
MAX_ITERATOR_AGE = cdk.Duration.hours(1)
"""How far behind the stream the worker may fall before an alarm goes off: a healthy
worker reads records seconds old, and the stream drops them at 24 hours, so an hour is
both clearly wrong and leaves most of the day to fix it."""


class Expiry(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        functions_dir: Path = FUNCTIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = handler_function(
            self,
            pascal_case(WORKER_FUNCTION),
            folder=functions_dir / WORKER_FUNCTION,
            description="imgpro: delete the bytes of media that DynamoDB's TTL deleted",
            memory_size=_MEMORY_MB,
            timeout=_TIMEOUT,
            layers=[core_layer],
            environment=environment,
        )
        self.dead_letters = alarms.dead_letter_queue(self)
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                table,
                # From the oldest record the stream keeps (24 hours): a mapping created
                # (or re-created) after items expired still cleans up after them.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_BATCH_SIZE,
                # Only TTL deletions of media items: a user's delete (already cleaned up),
                # tag links, rate windows and receipts never invoke the function.
                filters=[lambda_.FilterCriteria.filter(STREAM_FILTER)],
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=STREAM_RETRY_ATTEMPTS,
                on_failure=event_sources.SqsDlq(self.dead_letters),
            )
        )
        acknowledge(
            self.function,
            "IAM5",
            "dynamodb:ListStreams, which the stream's event source mapping needs, applies"
            " to no resource of its own (AWS documents it with Resource `*`).",
            findings=["Resource::*"],
        )
        acknowledge(
            self.dead_letters,
            "SQS3",
            "This queue is itself the dead-letter destination of the stream's event source"
            " mapping (on_failure), which SQS3 does not recognise as a DLQ; a DLQ of a DLQ"
            " would only move the same messages again.",
        )
        self.dead_letter_alarm = alarms.dead_letters(
            self,
            self.dead_letters,
            (
                "Media expired but its bytes may still be stored: a stream batch failed "
                "every retry. docs/ephemeral.md says what to do."
            ),
        )
        self.error_alarm = alarms.function_errors(
            self,
            self.function,
            "The expiry worker failed a whole batch (it is retried; see its logs).",
        )
        self.iterator_age_alarm = alarms.iterator_age(
            self,
            self.function,
            limit=MAX_ITERATOR_AGE,
            description=(
                "The expiry worker is more than an hour behind the table's stream: a batch"
                " keeps failing or the worker is throttled. The stream keeps records 24"
                " hours. docs/observability.md says what to do."
            ),
        )
