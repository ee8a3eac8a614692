"""Media records: the values the service hands out, and reading them back.

The `Media` value and the inputs and results of the other parts; loading items by
id, scoped to a team, with expired ones treated as gone; and the helpers that turn
an item into a `Media` or build its tag links.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pynamodb.connection import Connection

from imgpro.errors import NotFound
from imgpro.imaging.limits import VARIANT_SIZES
from imgpro.models import META, MediaItem, TagLink, media_pk, tag_partition, tag_sk
from imgpro.pagination import encode_cursor
from imgpro.validation import TagUpdateMode, is_wellformed_uid, tag_key

READY = "ready"
PROCESSING = "processing"
FAILED = "failed"

_UID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_UID_LENGTH = 12  # 36^12 ≈ 4.7e18: unguessable, and short enough for URLs
_BATCH_GET = 100  # BatchGetItem's limit
_WRITE_RETRIES = 5


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


# --- helpers --------------------------------------------------------------------------


def _tag_link(item: MediaItem, tag: str) -> TagLink:
    return TagLink(
        item.pk,
        tag_sk(tag_key(tag)),
        gsi1pk=tag_partition(item.team_id, tag_key(tag)),
        gsi1sk=item.gsi1sk,
        uid=item.uid,
        expires_at=item.expires_at,
    )


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
            for size in VARIANT_SIZES
            if (v := _variant_map(item, size)) is not None
        ),
    )


def _variant_map(item: MediaItem, size: str) -> dict | None:
    value = getattr(item, f"v_{size}")
    return None if value is None else value.as_dict()
