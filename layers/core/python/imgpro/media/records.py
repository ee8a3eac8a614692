"""Media records: the values the media service hands out.

`Media` and its `SizeVariant`s, the results of lists and batch deletes, the statuses,
and new media ids. Plain values only: reading and writing items is `imgpro.media.store`;
what creates and updates take is `imgpro.media.inputs`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from imgpro.pagination import encode_cursor

READY = "ready"
PROCESSING = "processing"
FAILED = "failed"

_UID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_UID_LENGTH = 12  # 36^12 ≈ 4.7e18: unguessable, and short enough for URLs


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
    upload_id: str | None = None
    """The S3 multipart upload of a resumable upload still in progress."""
    failure_reason: str | None = None
    """Why processing failed, while `status` is failed."""
    placeholder: dict[str, str] | None = None
    """`thumbhash`, `blurhash`, `color` (imgpro.imaging.placeholder), made at ingest;
    None for SVG and for media stored before placeholders (`imgpro media placeholders`)."""

    @property
    def cursor(self) -> str:
        return encode_cursor(self.created_ms, self.uid)


@dataclass(frozen=True)
class Page:
    items: list[Media]
    has_more: bool
    next_cursor: str | None = None


@dataclass(frozen=True)
class BatchDeleteResult:
    deleted: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def new_uid() -> str:
    return "".join(secrets.choice(_UID_ALPHABET) for _ in range(_UID_LENGTH))
