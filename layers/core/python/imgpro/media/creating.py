"""Creating media: an upload stored at once, a large upload announced first and
finished by the worker, and the size variants the CDN makes later.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.transactions import TransactWrite

from imgpro import storage
from imgpro.errors import Conflict
from imgpro.media.records import (
    _WRITE_RETRIES,
    FAILED,
    PROCESSING,
    READY,
    Media,
    NewMedia,
    SizeVariant,
    _connection,
    _load,
    _tag_link,
    _to_media,
    new_uid,
)
from imgpro.models import META, MediaItem, media_pk, sort_key, team_pk

# --- create ---------------------------------------------------------------------------


def create(team_id: str, new: NewMedia) -> Media:
    """Store the object, then its record and tag links in one transaction.

    If the record cannot be written the object is deleted again, so a failure
    leaves nothing behind and a retry starts clean.
    """
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
    try:
        _insert(item)
    except BaseException:
        storage.delete_object(item.object_key)
        raise
    return _to_media(item)


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
    created_ms = int(time.time() * 1000)
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
    key = storage.original_key(item.uid, ext, private=private)
    digest = hashlib.sha256(data).digest()
    storage.put_original(
        key,
        data,
        content_type=content_type,
        # S3 verifies the bytes against this, so a corrupted transfer fails loudly.
        checksum_sha256_b64=base64.b64encode(digest).decode(),
        ephemeral=item.expires_at is not None,
        private=private,
    )
    item.object_key = key
    item.ext = ext
    item.content_type = content_type
    item.filesize = len(data)
    item.checksum = digest.hex()


def _insert(item: MediaItem) -> None:
    """Write a new media item and its tag links in one transaction."""
    with TransactWrite(connection=_connection()) as tx:
        tx.save(item, condition=MediaItem.pk.does_not_exist())
        for tag in item.tags or ():
            tx.save(_tag_link(item, tag))


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


def create_pending(team_id: str, pending: PendingMedia) -> Media:
    """A media record in `processing`, listed and fetchable at once, with no image yet."""
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
    _insert(item)
    return _to_media(item)


def find_pending(uid: str) -> tuple[Media, int] | None:
    """A live media record still waiting for its bytes, and the size it declared."""
    item = _load(uid)
    if item is None or item.status != PROCESSING:
        return None
    return _to_media(item), int(item.declared_size or 0)


def finish_pending(uid: str, image: StoredImage) -> Media | None:
    """Store the processed image and make the media ready; None if the record is gone
    (deleted, expired) or no longer pending, in which case nothing is stored."""
    for _ in range(_WRITE_RETRIES):
        item = _load(uid)
        if item is None or item.status != PROCESSING:
            return None
        _store_original(item, image.data, ext=image.ext, content_type=image.content_type)
        previous = item.updated_ms
        item.status = READY
        item.name = image.name
        item.width, item.height = image.width, image.height
        item.updated_ms = max(int(time.time() * 1000), int(previous) + 1)
        try:
            item.save(condition=MediaItem.updated_ms == previous)
        except PutError as exc:
            if not _put_conditional_failure(exc):
                storage.delete_object(item.object_key)
                raise
            continue
        return _to_media(item)
    raise Conflict("The media kept changing while its upload was processed")


def fail_pending(uid: str) -> None:
    """Mark a pending upload failed (its bytes were not a usable image)."""
    for _ in range(_WRITE_RETRIES):
        item = _load(uid)
        if item is None or item.status != PROCESSING:
            return
        previous = item.updated_ms
        item.status = FAILED
        item.updated_ms = max(int(time.time() * 1000), int(previous) + 1)
        try:
            item.save(condition=MediaItem.updated_ms == previous)
        except PutError as exc:
            if not _put_conditional_failure(exc):
                raise
            continue
        return


# --- size variants, made on first request ---------------------------------------------


def record_variant(uid: str, variant: SizeVariant) -> None:
    """Note that a variant exists (for `sizes`); a no-op when the media is gone."""
    item = MediaItem(media_pk(uid), META)
    attribute = getattr(MediaItem, f"v_{variant.size}")
    value = {"w": variant.width, "h": variant.height, "b": variant.filesize, "f": variant.format}
    try:
        item.update(actions=[attribute.set(value)], condition=MediaItem.pk.exists())
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise


# --- helpers --------------------------------------------------------------------------


def _put_conditional_failure(exc: PutError) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"
