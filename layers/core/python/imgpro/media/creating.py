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
    uid = new_uid()
    created_ms = int(time.time() * 1000)
    expires_at = created_ms // 1000 + new.ttl_seconds if new.ttl_seconds else None
    key = storage.original_key(uid, new.ext, private=not new.is_public)
    digest = hashlib.sha256(new.data).digest()
    storage.put_original(
        key,
        new.data,
        content_type=new.content_type,
        checksum_sha256_b64=base64.b64encode(digest).decode(),
        ephemeral=expires_at is not None,
        private=not new.is_public,
    )
    item = MediaItem(
        media_pk(uid),
        gsi1pk=team_pk(team_id),
        gsi1sk=sort_key(created_ms, uid),
        uid=uid,
        team_id=team_id,
        name=new.name,
        status=READY,
        is_public=new.is_public,
        object_key=key,
        content_type=new.content_type,
        ext=new.ext,
        width=new.width,
        height=new.height,
        filesize=len(new.data),
        checksum=digest.hex(),
        description=new.description or None,
        tags=list(new.tags) or None,
        created_ms=created_ms,
        updated_ms=created_ms,
        expires_at=expires_at,
    )
    try:
        _insert(item)
    except BaseException:
        storage.delete_object(key)
        raise
    return _to_media(item)


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
    uid = new_uid()
    created_ms = int(time.time() * 1000)
    item = MediaItem(
        media_pk(uid),
        gsi1pk=team_pk(team_id),
        gsi1sk=sort_key(created_ms, uid),
        uid=uid,
        team_id=team_id,
        name=pending.name,
        status=PROCESSING,
        is_public=pending.is_public,
        declared_size=pending.declared_size,
        description=pending.description or None,
        tags=list(pending.tags) or None,
        created_ms=created_ms,
        updated_ms=created_ms,
        expires_at=created_ms // 1000 + pending.ttl_seconds if pending.ttl_seconds else None,
    )
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
        key = storage.original_key(uid, image.ext, private=not item.is_public)
        digest = hashlib.sha256(image.data).digest()
        storage.put_original(
            key,
            image.data,
            content_type=image.content_type,
            checksum_sha256_b64=base64.b64encode(digest).decode(),
            ephemeral=item.expires_at is not None,
            private=not item.is_public,
        )
        previous = item.updated_ms
        item.status = READY
        item.name = image.name
        item.object_key = key
        item.ext = image.ext
        item.content_type = image.content_type
        item.width = image.width
        item.height = image.height
        item.filesize = len(image.data)
        item.checksum = digest.hex()
        item.updated_ms = max(int(time.time() * 1000), int(previous) + 1)
        try:
            item.save(condition=MediaItem.updated_ms == previous)
        except PutError as exc:
            if not _put_conditional_failure(exc):
                storage.delete_object(key)
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
