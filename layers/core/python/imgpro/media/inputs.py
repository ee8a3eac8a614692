"""What the write use cases take: a new upload (`creating`) and a PATCH (`changing`).

Apart from `records` because nothing that only reads needs them, and every value class
costs its routes about a millisecond of cold start to build (bench/cold_start.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpro.validation import TagUpdateMode


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
    placeholder: dict[str, str] | None = None


@dataclass(frozen=True)
class Changes:
    """What a PATCH asks to change; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    tag_mode: TagUpdateMode = "replace"
    is_public: bool | None = None
