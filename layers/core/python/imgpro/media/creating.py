"""Creating media: an upload stored at once, a large upload announced first and
finished by the worker, and the size variants the CDN makes later.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition

from imgpro import clock, keys, quotas, storage
from imgpro.errors import Conflict
from imgpro.media import store
from imgpro.media.inputs import NewMedia
from imgpro.media.records import FAILED, PROCESSING, READY, Media, SizeVariant, new_uid
from imgpro.models import META, MediaItem, media_pk, sort_key, team_pk

logger = logging.getLogger("imgpro")

# --- create ---------------------------------------------------------------------------


def create(team_id: str, new: NewMedia, *, standing: quotas.Standing | None = None) -> Media:
    """Store the object, then its record and tag links in one transaction, which also
    counts the image and its bytes against the team's quota.

    QuotaExceeded before the S3 put when `standing` (the team as the caller read it;
    read here if not given) already says the image does not fit, and from the
    transaction when concurrent uploads filled the quota since. If the record cannot
    be written the object is deleted again, so a failure leaves nothing behind, consumes
    nothing, and a retry starts clean.
    """
    usage = (standing or quotas.standing(team_id)).admission(len(new.data))
    item = _new_item(
        team_id,
        name=new.name,
        status=READY,
        is_public=new.is_public,
        description=new.description,
        tags=new.tags,
        ttl_seconds=new.ttl_seconds,
    )
    _store_original(item, new.data, ext=new.ext, content_type=new.content_type)
    item.width, item.height = new.width, new.height
    item.placeholder = new.placeholder
    try:
        store.insert(item, usage=usage)
    except BaseException:
        storage.delete_object(item.object_key)
        raise
    return store.to_media(item)


def _new_item(
    team_id: str,
    *,
    name: str,
    status: str,
    is_public: bool,
    description: str | None,
    tags: tuple[str, ...],
    ttl_seconds: int | None,
) -> MediaItem:
    uid = new_uid()
    created_ms = clock.now_ms()
    return MediaItem(
        media_pk(uid),
        gsi1pk=team_pk(team_id),
        gsi1sk=sort_key(created_ms, uid),
        uid=uid,
        team_id=team_id,
        name=name,
        status=status,
        is_public=is_public,
        description=description or None,
        tags=list(tags) or None,
        created_ms=created_ms,
        updated_ms=created_ms,
        expires_at=created_ms // 1000 + ttl_seconds if ttl_seconds else None,
    )


def _store_original(item: MediaItem, data: bytes, *, ext: str, content_type: str) -> None:
    """Put the image where its visibility says, and note on the item what was stored."""
    private = not item.is_public
    key = keys.original_key(item.uid, ext, private=private)
    digest = hashlib.sha256(data).digest()
    storage.put_original(
        key,
        data,
        content_type=content_type,
        # S3 verifies the bytes against this, so a corrupted transfer fails loudly.
        checksum_sha256_b64=base64.b64encode(digest).decode(),
        expires_at=item.expires_at,
        private=private,
    )
    item.object_key = key
    item.ext = ext
    item.content_type = content_type
    item.filesize = len(data)
    item.checksum = digest.hex()


# --- large uploads: a record first, the bytes later -------------------------------------


@dataclass(frozen=True)
class PendingMedia:
    """A large upload announced before its bytes arrive (POST /v1/upload/direct)."""

    name: str
    declared_size: int
    is_public: bool
    description: str | None = None
    tags: tuple[str, ...] = ()
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class StoredImage:
    """What the pipeline made of the bytes: stored as the media's original."""

    data: bytes
    name: str
    ext: str
    content_type: str
    width: int
    height: int
    placeholder: dict[str, str] | None = None


def create_pending(
    team_id: str, pending: PendingMedia, *, standing: quotas.Standing | None = None
) -> Media:
    """A media record in `processing`, listed and fetchable at once, with no image yet.

    Reserves one image and the declared size of the team's quota, in the transaction
    that writes the record (QuotaExceeded if they do not fit); `finish_pending` settles
    the reservation to the stored size, `fail_pending` (or a delete) releases it.
    """
    usage = (standing or quotas.standing(team_id)).admission(pending.declared_size)
    item = _new_item(
        team_id,
        name=pending.name,
        status=PROCESSING,
        is_public=pending.is_public,
        description=pending.description,
        tags=pending.tags,
        ttl_seconds=pending.ttl_seconds,
    )
    item.declared_size = pending.declared_size
    store.insert(item, usage=usage)
    return store.to_media(item)


def find_pending(uid: str) -> tuple[Media, int] | None:
    """A live media record still waiting for its bytes, and the size it declared."""
    item = _pending_item(uid)
    if item is None:
        return None
    return store.to_media(item), int(item.declared_size or 0)


def finish_pending(uid: str, image: StoredImage) -> Media | None:
    """Store the processed image and make the media ready; None if the record is gone
    (deleted, expired) or no longer pending, in which case nothing is stored.

    The team's reservation of the declared size becomes the stored size, in the same
    transaction (the difference, which may be negative, is added: no limit applies).
    """

    def finish(item: MediaItem, unchanged: Condition) -> Media:
        declared = int(item.declared_size or 0)
        _store_original(item, image.data, ext=image.ext, content_type=image.content_type)
        item.status = READY
        item.name = image.name
        item.width, item.height = image.width, image.height
        item.placeholder = image.placeholder
        usage = quotas.settlement(item.team_id, declared=declared, stored=len(image.data))
        try:
            store.replace(item, condition=unchanged, usage=usage)
        except BaseException as error:
            # Refused for another reason than a concurrent write: no record points at
            # the object, so take it back, as `create` does.
            if not (isinstance(error, PynamoDBException) and store.condition_failed(error)):
                storage.delete_object(item.object_key)
            raise
        return store.to_media(item)

    return store.modify(
        lambda: _pending_item(uid),
        finish,
        conflict="The media kept changing while its upload was processed",
    )


def fail_pending(uid: str, reason: str) -> None:
    """Mark a pending upload failed (its bytes were not a usable image) with the reason a
    client is shown, and give back the image and the bytes it reserved, in the same
    transaction."""

    def fail(item: MediaItem, unchanged: Condition) -> None:
        nbytes, images = quotas.held(
            item.status, filesize=item.filesize, declared_size=item.declared_size
        )
        item.status = FAILED
        item.failure_reason = reason[:MAX_FAILURE_REASON]
        usage = quotas.release(
            item.team_id, nbytes=nbytes, images=images, created_ms=int(item.created_ms)
        )
        store.replace(item, condition=unchanged, usage=usage)

    try:
        store.modify(lambda: _pending_item(uid), fail, conflict="The media kept changing")
    except Conflict:
        # The worker has nobody to answer: a record that other writers keep changing
        # is left as they leave it.
        return


MAX_FAILURE_REASON = 1_000
"""Characters of a failure's reason kept: the pipeline's messages are one sentence."""


def attach_upload(uid: str, upload_id: str) -> None:
    """Note the S3 multipart upload a pending media's parts go to (imgpro.resumable)."""

    def attach(item: MediaItem, unchanged: Condition) -> None:
        item.upload_id = upload_id
        store.replace(item, condition=unchanged, usage=None)

    store.modify(lambda: _pending_item(uid), attach, conflict="The media kept changing")


def _pending_item(uid: str) -> MediaItem | None:
    item = store.load(uid)
    return item if item is not None and item.status == PROCESSING else None


# --- size variants, made on first request ---------------------------------------------


def record_variant(uid: str, variant: SizeVariant, *, private: bool | None = None) -> bool:
    """Note that a variant exists (for `sizes`); whether it was noted (not when the media
    is gone).

    With `private`, the side the variant was just written to: noted only while the media
    is still on that side, and otherwise the variant is deleted again. The media was
    deleted or moved while it was rendered, and the delete or move may have cleared that
    side before the variant landed there: the record's condition decides which came
    first, so a variant never stays behind on a side its media left (docs/cdn.md,
    "Moving and deleting by the record")."""
    attribute = getattr(MediaItem, f"v_{variant.size}")
    value = {"w": variant.width, "h": variant.height, "b": variant.filesize, "f": variant.format}
    on_side = None if private is None else MediaItem.is_public == (not private)
    item = MediaItem(media_pk(uid), META)
    if store.set_if_present(item, [attribute.set(value)], condition=on_side):
        return True
    if private is not None:
        key = keys.variant_key(uid, variant.size, variant.format, private=private)
        try:
            storage.delete_object(key)
        except Exception:
            logger.exception("variant %s of media deleted or moved was not deleted", key)
    return False
