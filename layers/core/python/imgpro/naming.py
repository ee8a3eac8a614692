"""The name a stored image keeps: the user's base name with the real extension."""

from __future__ import annotations

import unicodedata

from imgpro.imaging.formats import ImageFormat
from imgpro.validation import MAX_NAME_LENGTH

_FALLBACK = "image"


def stored_name(filename: str | None, fmt: ImageFormat) -> str:
    """`holiday.png` uploaded as JPEG bytes is stored as `holiday.jpg`; a `.jpeg` stays.

    Browsers send the base name, but older clients send a full path (either slash),
    and names can carry control characters: keep only the last path segment and
    printable characters.
    """
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    if ext.lower() in fmt.extensions and stem:
        name = base
    else:
        name = f"{(stem if dot else base) or _FALLBACK}.{fmt.ext}"
    if len(name) > MAX_NAME_LENGTH:
        suffix = name.rsplit(".", 1)[-1]
        name = f"{name[: MAX_NAME_LENGTH - len(suffix) - 1]}.{suffix}"
    return name
