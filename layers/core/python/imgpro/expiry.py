"""The expiry worker: when DynamoDB's TTL deletes a media item, delete its bytes too.

The API hides media past `expires_at` at once (`imgpro.media.store`); DynamoDB deletes
the item later (typically within two days), and that delete reaches the table's stream
as a REMOVE record carrying the item's old image. For each such record made by the TTL
service (the event source mapping's filter, `expiry_rules.STREAM_FILTER`, lets no other
through, and `expire_record` checks again), this worker:

1. deletes the original and every variant on both sides, and any unprocessed upload,
   by key (`keys.media_object_keys`: no listing, no read of any object);
2. releases the bytes the item held of its team's storage quota (`quotas.held`: a
   ready item's stored size, a large upload still processing its declared size) with
   `quotas.release_storage`, once per media item: an `ExpiryReceipt` written on
   condition that none exists guards the release, so a record delivered again (Lambda
   retries a batch from its first failed record) finds the receipt and releases nothing;
3. queues the CDN's invalidation of public media (`cdn.invalidate`), as a user's delete
   does; if the queue refuses it, the record fails and is retried whole.

Each step is safe to repeat, so a record that fails part-way is retried whole. Records
fail alone: the handler answers `batchItemFailures` with their sequence numbers, and
the event source mapping bisects a failing batch and, after its retries, sends the
batch's description to a dead-letter queue (docs/ephemeral.md says what to do then).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pynamodb.exceptions import PutError

from imgpro import cdn, clock, keys, quotas, storage
from imgpro.clients import bind_table
from imgpro.expiry_rules import MEDIA_KEY_PREFIX, MEDIA_SORT_KEY, TTL_IDENTITY
from imgpro.media import store
from imgpro.models import ExpiryReceipt, MediaItem, receipt_pk

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = logging.getLogger("imgpro")

RECEIPT_SECONDS = 14 * 86_400
"""How long a receipt outlives its release: the dead-letter queue's retention, the
longest an operator can take to replay a record by hand."""


@dataclass(frozen=True)
class ExpiredMedia:
    """What the worker needs of a media item's old image."""

    uid: str
    team_id: str
    ext: str | None
    nbytes: int
    """What it held of its team's stored bytes."""
    is_public: bool = False
    """Whether the edge may hold its bytes (imgpro.cdn.edge_paths)."""


def handle_stream_event(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """The Lambda handler's body: every record on its own, failures reported by sequence
    number (`{"batchItemFailures": [{"itemIdentifier": ...}]}`)."""
    bind_table()
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(
        event=event, record_handler=expire_record, processor=processor, context=context
    )


def expire_record(record: DynamoDBRecord) -> None:
    """Clean up after one stream record, if it is the TTL deletion of a media item."""
    if not is_ttl_removal(record):
        return
    expired = expired_media(record.raw_event.get("dynamodb", {}).get("OldImage") or {})
    if expired is None:
        return
    try:
        clean_up(expired)
    except Exception:
        logger.exception(
            "expired media %s: cleanup failed; the record will be retried", expired.uid
        )
        raise


def is_ttl_removal(record: DynamoDBRecord) -> bool:
    """A REMOVE made by DynamoDB's TTL process, not by a user or by this API."""
    identity = record.user_identity
    return (
        record.raw_event.get("eventName") == "REMOVE"
        and identity.get("type") == TTL_IDENTITY["type"]
        and identity.get("principalId") == TTL_IDENTITY["principalId"]
    )


def expired_media(old_image: dict[str, Any]) -> ExpiredMedia | None:
    """The media item an old image (DynamoDB JSON) was, or None for any other item: a
    tag link, a rate window, a receipt, an idempotency record."""
    pk = old_image.get("pk", {}).get("S", "")
    sk = old_image.get("sk", {}).get("S", "")
    if not pk.startswith(MEDIA_KEY_PREFIX) or sk != MEDIA_SORT_KEY:
        return None
    item = MediaItem.from_raw_data(old_image)
    nbytes, _ = quotas.held(item.status, filesize=item.filesize, declared_size=item.declared_size)
    return ExpiredMedia(
        uid=item.uid,
        team_id=item.team_id,
        ext=item.ext,
        nbytes=nbytes,
        is_public=bool(item.is_public),
    )


def clean_up(expired: ExpiredMedia) -> None:
    """Delete the bytes, give them back to the team's quota (once), drop them from the CDN.

    The invalidation goes through the same queue as the API's (one message, retried
    until CloudFront takes it). Unlike the API, which must answer, the worker can wait:
    a message the queue did not take fails the record, which is retried whole."""
    storage.delete_objects(keys.media_object_keys(expired.uid, expired.ext))
    release_once(expired)
    if expired.is_public and not cdn.invalidate([expired], reason="expiry"):
        raise RuntimeError(f"expired media {expired.uid}: its CDN invalidation was not queued")


def release_once(expired: ExpiredMedia) -> bool:
    """Release the media's bytes from its team's stored bytes unless a receipt says that
    was done; whether this call released them.

    The receipt is claimed first: two deliveries of one record cannot both release. If
    the release then fails, the receipt is taken back so that the retry releases; only
    a crash between the two writes (the function killed mid-call) leaves the bytes
    counted, which errs on the side of a team's quota, never below its real use.
    """
    if expired.nbytes <= 0:
        return False  # nothing counted: a failed upload gave its bytes back already
    receipt = ExpiryReceipt(
        receipt_pk(expired.uid),
        team_id=expired.team_id,
        released_bytes=expired.nbytes,
        expires_at=int(clock.now()) + RECEIPT_SECONDS,
    )
    try:
        receipt.save(condition=ExpiryReceipt.pk.does_not_exist())
    except PutError as error:
        if store.condition_failed(error):
            return False  # released by an earlier delivery of this record
        raise
    try:
        quotas.release_storage(expired.team_id, expired.nbytes)
    except BaseException:
        try:
            receipt.delete()
        except Exception:
            logger.exception(
                "expired media %s: %d bytes of team %s stay counted (receipt kept)",
                expired.uid,
                expired.nbytes,
                expired.team_id,
            )
        raise
    return True
