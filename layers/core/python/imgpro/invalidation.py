"""The invalidation worker: each message of the invalidation queue (`imgpro.cdn`) becomes
one CreateInvalidation on the distribution, retried until CloudFront takes it.

- The CallerReference comes from the message's id and its paths (`cdn.caller_reference`):
  a message delivered again after a success whose answer was lost is the same
  invalidation, which CloudFront neither creates nor bills twice.
- A refusal that means "not now" (`TooManyInvalidationsInProgress` while 3,000 paths are
  in progress, throttling) or any other failure fails that message alone
  (`batchItemFailures`): SQS offers it again once its visibility timeout has passed
  (`cdn.RETRY_AFTER_SECONDS`), and after `cdn.MAX_RECEIVES` tries moves it to the
  dead-letter queue, whose alarm tells an operator (docs/cdn.md says what to do).
- A message that is not ours can never succeed; it is reported the same way and ends in
  the dead-letter queue, where it can be read.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from imgpro import cdn, observability

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = logging.getLogger("imgpro")


def handle_queue_event(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """The Lambda handler's body: every message on its own, failures reported by message
    id (`{"batchItemFailures": [{"itemIdentifier": ...}]}`), even when all of them failed:
    a refusal is expected under load, and the function's Errors (and their alarm) are
    kept for the function itself failing."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=invalidate_message, processor=processor, context=context
    )


def invalidate_message(record: SQSRecord) -> str:
    """Send one message's invalidation; the invalidation's id. Raises to have it retried."""
    message = cdn.Message.from_json(record.body)
    reference = cdn.caller_reference(record.message_id, message.paths)
    try:
        invalidation = cdn.create_invalidation(message.paths, reference=reference)
    except Exception as error:
        code = cdn.error_code(error)
        tries = record.attributes.approximate_receive_count
        observability.add_metric(observability.INVALIDATIONS_RETRIED)
        if code in cdn.RETRY_LATER:
            logger.warning(
                "invalidation of %d paths (%s %s) refused for now (%s, try %s); SQS offers "
                "it again in %d s",
                len(message.paths),
                message.reason,
                " ".join(message.media),
                code,
                tries,
                cdn.RETRY_AFTER_SECONDS,
            )
        else:
            logger.exception(
                "invalidation of %d paths (%s %s) failed (try %s); it will be retried",
                len(message.paths),
                message.reason,
                " ".join(message.media),
                tries,
            )
        raise
    logger.info(
        "invalidation %s: %d paths (%s %s)",
        invalidation,
        len(message.paths),
        message.reason,
        " ".join(message.media),
    )
    return invalidation
