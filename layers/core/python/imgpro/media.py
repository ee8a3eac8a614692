"""The media service: create, read, list, update and delete a team's media.

Plain arguments in, `Media` values out; no Lambda or HTTP types. Every read
treats media past `expires_at` as gone (DynamoDB TTL deletes hours late), and
every lookup is scoped to the caller's team, so another team's media is
indistinguishable from media that never existed.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import logging
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from imgpro import storage
from imgpro.errors import Conflict, NotFound, ValidationFailed
from imgpro.models import (
    META,
    MediaItem,
    TagLink,
    media_pk,
    sort_key,
    tag_partition,
    tag_sk,
    team_pk,
)
from imgpro.pagination import cursor_from_sort_key, encode_cursor
from imgpro.validation import MAX_TAGS, TagFilterMode, TagUpdateMode, is_wellformed_uid, tag_key

logger = logging.getLogger("imgpro")

READY = "ready"
PROCESSING = "processing"
FAILED = "failed"

_UID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_UID_LENGTH = 12  # 36^12 ≈ 4.7e18: unguessable, and short enough for URLs
_BATCH_GET = 100  # BatchGetItem's limit
_WRITE_RETRIES = 5
MAX_LINKS_EXAMINED = 1000


@dataclass(frozen=True)
class SizeVariant:
    size: str
    width: int
    height: int
    filesize: int
    format: str


@dataclass(frozen=True)
class Media:
    uid: str
    team_id: str
    name: str
    status: str
    is_public: bool
    created_ms: int
    ext: str | None = None
    content_type: str | None = None
    object_key: str | None = None
    width: int | None = None
    height: int | None = None
    filesize: int | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    expires_at: int | None = None
    sizes: tuple[SizeVariant, ...] = ()
    """The variants made so far, in the seed's order (s, m, l, xl, xxl)."""

    @property
    def cursor(self) -> str:
        return encode_cursor(self.created_ms, self.uid)


@dataclass(frozen=True)
class NewMedia:
    """A validated upload: the bytes as they will be stored, and what to record."""

    data: bytes
    name: str
    ext: str
    content_type: str
    width: int
    height: int
    is_public: bool
    description: str | None = None
    tags: tuple[str, ...] = ()
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class Changes:
    """What a PATCH asks to change; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    tag_mode: TagUpdateMode = "replace"
    is_public: bool | None = None


@dataclass(frozen=True)
class Page:
    items: list[Media]
    has_more: bool
    next_cursor: str | None = None


@dataclass(frozen=True)
class BatchDeleteResult:
    deleted: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def now_seconds() -> int:
    return int(time.time())


def new_uid() -> str:
    return "".join(secrets.choice(_UID_ALPHABET) for _ in range(_UID_LENGTH))


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


def _tag_link(item: MediaItem, tag: str) -> TagLink:
    return TagLink(
        item.pk,
        tag_sk(tag_key(tag)),
        gsi1pk=tag_partition(item.team_id, tag_key(tag)),
        gsi1sk=item.gsi1sk,
        uid=item.uid,
        expires_at=item.expires_at,
    )


# --- read -----------------------------------------------------------------------------


def get(uid: str, *, team_id: str | None) -> Media:
    """A media item that the viewer may see: the team's own, or any public one.

    `team_id` None is an anonymous viewer, who sees public media only.
    """
    item = _load(uid)
    if item is None or not (item.team_id == team_id or (item.is_public and item.status == READY)):
        raise NotFound()
    return _to_media(item)


def find_live(uid: str) -> Media | None:
    """Any live media by id, whoever owns it: for delivery, which has no caller."""
    item = _load(uid)
    return None if item is None else _to_media(item)


def get_owned(uid: str, *, team_id: str) -> Media:
    item = _load_owned(uid, team_id)
    if item is None:
        raise NotFound()
    return _to_media(item)


def get_many(ids: Sequence[str], *, team_id: str) -> list[Media]:
    """The team's live media among `ids`, in the order asked; others are left out."""
    found = _load_many_owned(ids, team_id)
    return [_to_media(found[uid]) for uid in ids if uid in found]


def _load(uid: str) -> MediaItem | None:
    if not is_wellformed_uid(uid):
        return None
    try:
        item = MediaItem.get(media_pk(uid), META)
    except MediaItem.DoesNotExist:
        return None
    return None if _expired(item) else item


def _load_owned(uid: str, team_id: str) -> MediaItem | None:
    item = _load(uid)
    return item if item is not None and item.team_id == team_id else None


def _load_many_owned(ids: Iterable[str], team_id: str) -> dict[str, MediaItem]:
    wanted = [uid for uid in dict.fromkeys(ids) if is_wellformed_uid(uid)]
    found: dict[str, MediaItem] = {}
    for start in range(0, len(wanted), _BATCH_GET):
        keys = [(media_pk(uid), META) for uid in wanted[start : start + _BATCH_GET]]
        for item in MediaItem.batch_get(keys):
            if item.team_id == team_id and not _expired(item):
                found[item.uid] = item
    return found


def _expired(item: MediaItem | TagLink, now: int | None = None) -> bool:
    return item.expires_at is not None and item.expires_at <= (now or now_seconds())


def _live_filter(now: int):
    return MediaItem.expires_at.does_not_exist() | (MediaItem.expires_at > now)


# --- list -----------------------------------------------------------------------------


def list_media(
    team_id: str,
    *,
    limit: int,
    before: str | None = None,
    offset: int = 0,
    tags: Sequence[str] = (),
    tag_mode: TagFilterMode = "any",
) -> Page:
    """The team's media, newest first.

    `before` is the gsi1sk bound decoded from a cursor (exclusive); `offset` skips
    items for legacy pagination. Reads limit+1 items to know whether more exist.
    """
    wanted = offset + limit + 1
    scan: _BoundedScan | None = None
    if tags and tag_mode == "all":
        scan = _BoundedScan(_tag_links(team_id, tags[0], before=before, page_size=200))
        required = {tag_key(tag) for tag in tags}
        candidates = _resolve(iter(scan), team_id, keep=lambda item: required <= _tag_keys(item))
    elif tags:
        candidates = _tagged_any(team_id, tags, before=before, page_size=min(max(wanted, 10), 200))
    else:
        candidates = _team_items(team_id, before=before, page_size=min(wanted, 200))
    window = list(itertools.islice(candidates, offset, wanted))
    items = [_to_media(item) for item in window[:limit]]
    if len(window) > limit:
        return Page(items=items, has_more=True, next_cursor=items[-1].cursor)
    if scan is not None and scan.stopped_at is not None:
        # A short page: the scan hit its bound before finding a full page. The cursor
        # resumes below the last link examined, so nothing is skipped or repeated.
        return Page(items=items, has_more=True, next_cursor=cursor_from_sort_key(scan.stopped_at))
    return Page(items=items, has_more=False)


class _BoundedScan:
    """Tag links of one partition, examined at most `limit` per request.

    `tag_mode=all` filters in code, so a common first tag with a rare match would
    otherwise read a whole partition in one request.
    """

    def __init__(self, links: Iterator[TagLink]) -> None:
        self._links = links
        self._limit = MAX_LINKS_EXAMINED
        self.stopped_at: str | None = None

    def __iter__(self) -> Iterator[TagLink]:
        for examined, link in enumerate(self._links, start=1):
            yield link
            if examined >= self._limit:
                self.stopped_at = link.gsi1sk
                return


def _team_items(team_id: str, *, before: str | None, page_size: int) -> Iterator[MediaItem]:
    return MediaItem.by_team.query(
        team_pk(team_id),
        range_key_condition=MediaItem.gsi1sk < before if before else None,
        filter_condition=_live_filter(now_seconds()),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tag_links(team_id: str, tag: str, *, before: str | None, page_size: int) -> Iterator[TagLink]:
    now = now_seconds()
    return TagLink.by_tag.query(
        tag_partition(team_id, tag_key(tag)),
        range_key_condition=TagLink.gsi1sk < before if before else None,
        filter_condition=TagLink.expires_at.does_not_exist() | (TagLink.expires_at > now),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tagged_any(
    team_id: str, tags: Sequence[str], *, before: str | None, page_size: int
) -> Iterator[MediaItem]:
    """Media carrying any of `tags`, newest first: the tag partitions are each sorted by
    gsi1sk, so a lazy merge of them, without repeats, is sorted too."""
    streams = [_tag_links(team_id, tag, before=before, page_size=page_size) for tag in tags]
    merged = heapq.merge(*streams, key=lambda link: link.gsi1sk, reverse=True)
    return _resolve(_first_of_each(merged), team_id, keep=None)


def _first_of_each(links: Iterator[TagLink]) -> Iterator[TagLink]:
    """One link per media: a media tagged with two of the wanted tags comes up twice."""
    last: str | None = None
    for link in links:
        if link.gsi1sk != last:
            last = link.gsi1sk
            yield link


def _tag_keys(item: MediaItem) -> set[str]:
    return {tag_key(tag) for tag in item.tags or ()}


def _resolve(links: Iterator[TagLink], team_id: str, *, keep) -> Iterator[MediaItem]:
    """Fetch the media items behind tag links, in link order, a batch at a time."""
    while True:
        chunk = list(itertools.islice(links, 25))
        if not chunk:
            return
        found = _load_many_owned([link.uid for link in chunk], team_id)
        for link in chunk:
            item = found.get(link.uid)
            if item is not None and (keep is None or keep(item)):
                yield item


# --- update ---------------------------------------------------------------------------


def update(uid: str, changes: Changes, *, team_id: str, loaded: MediaItem | None = None) -> Media:
    """Apply a PATCH to one of the team's media (`loaded`: the item if already read)."""
    for _ in range(_WRITE_RETRIES):
        item = loaded or _load_owned(uid, team_id)
        loaded = None
        if item is None:
            raise NotFound()
        new_tags = _apply_tag_change(item, changes)
        if len(new_tags) > MAX_TAGS:
            raise ValidationFailed.field("tags", f"Maximum {MAX_TAGS} tags allowed")
        was_public = bool(item.is_public)
        if _write_changes(item, changes, new_tags):
            _apply_visibility(item, was_public)
            return _to_media(item)
    raise Conflict("The media kept changing under concurrent updates; retry the request")


def update_many(ids: Sequence[str], changes: Changes, *, team_id: str) -> list[Media]:
    """Apply one PATCH to each of the team's media among `ids`; others are skipped.

    Every item's outcome is checked before anything is written, so a change that
    would break one item's limits changes none.
    """
    items = _load_many_owned(ids, team_id)
    for item in items.values():
        if len(_apply_tag_change(item, changes)) > MAX_TAGS:
            raise ValidationFailed.field(
                "tags", f"Media {item.uid} would have more than {MAX_TAGS} tags"
            )
    updated: list[Media] = []
    for uid in ids:
        if uid not in items:
            continue
        try:
            updated.append(update(uid, changes, team_id=team_id, loaded=items[uid]))
        except NotFound:
            continue  # deleted between the read and the write: as if never asked
    return updated


def _apply_tag_change(item: MediaItem, changes: Changes) -> list[str]:
    current = list(item.tags or [])
    if changes.tags is None:
        return current
    if changes.tag_mode == "replace":
        return list(changes.tags)
    if changes.tag_mode == "add":
        present = _keys(current)
        return current + [t for t in changes.tags if tag_key(t) not in present]
    removed = _keys(changes.tags)
    return [t for t in current if tag_key(t) not in removed]


def _keys(tags: Iterable[str]) -> set[str]:
    return {tag_key(t) for t in tags}


def _write_changes(item: MediaItem, changes: Changes, new_tags: list[str]) -> bool:
    """Write the item and its tag links together; False when someone else wrote first.

    An update of the changed attributes, not a save of the whole item: the resize
    function records variants on the same item at any time, and a save would erase
    a record it made after our read.
    """
    old_keys = _keys(item.tags or ())
    new_keys = _keys(new_tags)
    previous_updated = item.updated_ms
    actions = []
    if changes.name is not None:
        item.name = changes.name
        actions.append(MediaItem.name.set(changes.name))
    if changes.description is not None:
        item.description = changes.description or None
        actions.append(
            MediaItem.description.set(item.description)
            if item.description
            else MediaItem.description.remove()
        )
    if changes.is_public is not None:
        item.is_public = changes.is_public
        actions.append(MediaItem.is_public.set(changes.is_public))
    item.tags = new_tags or None
    actions.append(MediaItem.tags.set(new_tags) if new_tags else MediaItem.tags.remove())
    item.updated_ms = max(int(time.time() * 1000), int(previous_updated) + 1)
    actions.append(MediaItem.updated_ms.set(item.updated_ms))
    try:
        with TransactWrite(connection=_connection()) as tx:
            # Optimistic lock: tag links must match the tags of the version we read.
            tx.update(item, actions=actions, condition=MediaItem.updated_ms == previous_updated)
            for key in old_keys - new_keys:
                tx.delete(TagLink(item.pk, tag_sk(key)))
            for tag in new_tags:
                if tag_key(tag) not in old_keys:
                    tx.save(_tag_link(item, tag))
    except TransactWriteError as exc:
        if _conditional_failure(exc):
            return False
        raise
    return True


def _apply_visibility(item: MediaItem, was_public: bool) -> None:
    """After a visibility change: move the objects to the side CloudFront serves them
    from, point the record at the moved original, and drop what the CDN cached."""
    if bool(item.is_public) == was_public or not item.object_key:
        return
    from imgpro import cdn

    moved = storage.move_media_objects(item.uid, item.object_key, private=not item.is_public)
    try:
        item.update(actions=[MediaItem.object_key.set(moved)], condition=MediaItem.pk.exists())
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    item.object_key = moved
    cdn.invalidate([item.uid])


# --- delete ---------------------------------------------------------------------------


def delete(uid: str, *, team_id: str) -> None:
    item = _delete_records(uid, team_id, _load_owned(uid, team_id))
    if item is None:
        raise NotFound()
    _delete_objects([item])


def delete_many(ids: Sequence[str], *, team_id: str) -> BatchDeleteResult:
    loaded = _load_many_owned(ids, team_id)
    removed = [
        item for uid in ids if (item := _delete_records(uid, team_id, loaded.get(uid))) is not None
    ]
    _delete_objects(removed)
    gone = {item.uid for item in removed}
    return BatchDeleteResult(
        deleted=[item.uid for item in removed], not_found=[uid for uid in ids if uid not in gone]
    )


def _delete_records(uid: str, team_id: str, item: MediaItem | None) -> MediaItem | None:
    """Delete the record and its tag links; the deleted item, or None if it was not there.

    Conditioned on the version read, like updates: a PATCH that added a tag between
    our read and our write would otherwise leave that tag's link behind forever.
    """
    for _ in range(_WRITE_RETRIES):
        if item is None:
            return None
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.delete(item, condition=MediaItem.updated_ms == item.updated_ms)
                for key in _keys(item.tags or ()):
                    tx.delete(TagLink(item.pk, tag_sk(key)))
        except TransactWriteError as exc:
            if not _conditional_failure(exc):
                raise
            item = _load_owned(uid, team_id)
            continue
        return item
    raise Conflict("The media kept changing while being deleted; retry the request")


def _delete_objects(items: Sequence[MediaItem]) -> None:
    """Delete the objects of media whose records are gone, and drop them from the CDN.

    The delete has happened once the records are gone, so a failure here must not
    turn it into an error the client would retry (and get a 404 for); the objects
    are logged for the orphan sweeper instead.
    """
    if not items:
        return
    from imgpro import cdn

    try:
        storage.delete_media_objects((item.uid, item.object_key) for item in items)
        cdn.invalidate([item.uid for item in items])
    except Exception:
        logger.exception(
            "media deleted but its objects were not: %s", ", ".join(i.uid for i in items)
        )


# --- helpers --------------------------------------------------------------------------


def _conditional_failure(exc: TransactWriteError | PutError | UpdateError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _put_conditional_failure(exc: PutError) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def _connection() -> Connection:
    return MediaItem._get_connection().connection


def _to_media(item: MediaItem) -> Media:
    def _int(value: float | None) -> int | None:
        return None if value is None else int(value)

    return Media(
        uid=item.uid,
        team_id=item.team_id,
        name=item.name,
        status=item.status,
        is_public=bool(item.is_public),
        created_ms=int(item.created_ms),
        ext=item.ext,
        content_type=item.content_type,
        object_key=item.object_key,
        width=_int(item.width),
        height=_int(item.height),
        filesize=_int(item.filesize),
        description=item.description,
        tags=tuple(item.tags or ()),
        expires_at=_int(item.expires_at),
        sizes=tuple(
            SizeVariant(size, int(v["w"]), int(v["h"]), int(v["b"]), str(v["f"]))
            for size in SIZE_NAMES
            if (v := _variant_map(item, size)) is not None
        ),
    )


SIZE_NAMES = ("s", "m", "l", "xl", "xxl")


def _variant_map(item: MediaItem, size: str) -> dict | None:
    value = getattr(item, f"v_{size}")
    return None if value is None else value.as_dict()


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
