"""The media bucket's key layout, and the CDN paths that map onto it. The one place that
spells them out: storage, delivery, URLs, the worker's trigger and the CDK grants all
read them from here.

    o/<uid>.<ext>                  an original, public
    v/<uid>/<size>.<ext>           a size variant of it, public
    private/o/..., private/v/...   the same for private media (the CDN serves that side
                                   to signed URLs only)
    incoming/<uid>                 a large upload, until the worker has processed it

Viewers ask for `/<uid>.<ext>` or `/private/<uid>.<ext>` (and `?size=`); `cdn_key_path`
maps that to the key path to serve. infra/cdn_function.js does the same in CloudFront
and cannot import this module: tests/infra/test_key_layout.py checks that they agree.

Imported by the CDK app and by functions without the imaging layer, so nothing here may
import boto3 or Pillow (`imaging.formats` and `imaging.limits` are plain data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from imgpro.imaging.formats import STORED_AS_IS, SVG, WEBP
from imgpro.imaging.limits import VARIANT_SIZES

ORIGINALS = "o/"
VARIANTS = "v/"
PRIVATE = "private/"
INCOMING = "incoming/"

SIZES: tuple[str, ...] = tuple(VARIANT_SIZES)
"""The size names a variant may have, in the seed's order (s, m, l, xl, xxl)."""
CONTENT_TYPES: dict[str, str] = {f.ext: f.content_type for f in (*STORED_AS_IS, SVG)}
"""What is stored, and so served: extension -> Content-Type. SVG is stored sanitized."""
EXTENSIONS: tuple[str, ...] = tuple(CONTENT_TYPES)

UID_PATTERN = "[a-z0-9]{12}"
"""A media id as `imgpro.media.records.new_uid` makes it; nothing else is ever a key."""


# --- keys -----------------------------------------------------------------------------


def original_key(uid: str, ext: str, *, private: bool = False) -> str:
    return f"{_side(private)}{ORIGINALS}{uid}.{ext}"


def variants_prefix(uid: str, *, private: bool = False) -> str:
    """Every variant of one media item is under this prefix (found by listing it)."""
    return f"{_side(private)}{VARIANTS}{uid}/"


def variant_key(uid: str, size: str, ext: str, *, private: bool = False) -> str:
    return f"{variants_prefix(uid, private=private)}{size}.{ext}"


def incoming_key(uid: str) -> str:
    """Where a large upload lands before processing (the presigned POST's key)."""
    return f"{INCOMING}{uid}"


def media_object_keys(uid: str, ext: str | None) -> list[str]:
    """Every key a media item's bytes can be under, whether or not they exist: its
    unprocessed upload, its original and each variant in each format it can be made in,
    on both sides (a visibility move cut short leaves copies on the other one). Known
    from the id and the original's extension, so deleting them needs no listing."""
    found = [incoming_key(uid)]
    if ext is None:
        return found  # never processed: no original, no variants
    for private in (False, True):
        found.append(original_key(uid, ext, private=private))
        found += [
            variant_key(uid, size, fmt, private=private)
            for size in SIZES
            for fmt in variant_formats(ext)
        ]
    return found


def is_private(key: str) -> bool:
    return key.startswith(PRIVATE)


def on_side(key: str, *, private: bool) -> str:
    """The same object's key on the private or the public side."""
    public_key = key.removeprefix(PRIVATE)
    return f"{PRIVATE}{public_key}" if private else public_key


def _side(private: bool) -> str:
    return PRIVATE if private else ""


# --- CDN paths ------------------------------------------------------------------------


def variant_formats(ext: str) -> tuple[str, ...]:
    """The formats variants of an original in `ext` are made in: WebP for browsers that
    take it, else the original's own. None for SVG: it is vectors, every size is the
    original."""
    return () if ext == SVG.ext else (WEBP.ext, ext)


def viewer_path(uid: str, ext: str, *, private: bool) -> str:
    """The URL path a viewer asks the CDN for (a size goes in the query)."""
    return f"/{_side(private)}{uid}.{ext}"


def cdn_key_path(*, uid: str, ext: str, private: bool, size: str | None, accepts_webp: bool) -> str:
    """The S3 key path a viewer URL maps to; the same rules as infra/cdn_function.js.

    The cache key is this path only: size and format normalized, no raw Accept header.
    """
    if size is None or not variant_formats(ext):
        return f"/{original_key(uid, ext, private=private)}"
    fmt = WEBP.ext if accepts_webp else ext
    return f"/{variant_key(uid, size, fmt, private=private)}"


def cdn_paths(uid: str, ext: str | None, *, private: bool) -> list[str]:
    """Every path CloudFront can hold an answer for one media item under, on one side,
    as exact invalidation paths (no wildcard): the viewer path, which every size shares
    (the query is in no path and no cache key), and each key path the viewer function
    rewrites it to, which is the cache key: the original, and every size in every format
    variants are made in. CloudFront's guide asks for both forms when a viewer function
    changes the URI.

    12 paths for JPEG, PNG and GIF (5 sizes x 2 formats), 7 for WebP, 2 for SVG; none for
    media never processed (no extension yet, and nothing was ever served)."""
    if ext is None:
        return []
    formats = dict.fromkeys(variant_formats(ext))  # WebP originals: one format, not two
    return [
        viewer_path(uid, ext, private=private),
        f"/{original_key(uid, ext, private=private)}",
        *(f"/{variant_key(uid, size, fmt, private=private)}" for size in SIZES for fmt in formats),
    ]


VIEWER_URL_HEADER = "x-imgpro-viewer-url"
"""The path and query a viewer asked for, which the viewer-request function forwards to the
origin in this header (the origin sees only the rewritten key path); infra/cdn.py forwards
it, and the resize function redirects a body too big for its response back there."""


def _either(names: Iterable[str]) -> str:
    return "|".join(re.escape(name) for name in names)


_PRIVATE = rf"(?P<private>{re.escape(PRIVATE)})?"
_EXT = _either(EXTENSIONS)

VIEWER_PATH = re.compile(rf"/{_PRIVATE}(?P<uid>{UID_PATTERN})\.(?P<ext>{_EXT})")
"""A viewer URL's path (fullmatch): groups `private`, `uid`, `ext`."""
ORIGIN_PATH = re.compile(
    rf"/{_PRIVATE}(?:{re.escape(ORIGINALS)}(?P<uid>{UID_PATTERN})\.(?P<ext>{_EXT})"
    rf"|{re.escape(VARIANTS)}(?P<vuid>{UID_PATTERN})/(?P<size>{_either(SIZES)})\.(?P<fmt>{_EXT}))"
)
"""A key path the CDN asks its origin for (fullmatch): `private`, and either `uid` and
`ext` of an original or `vuid`, `size` and `fmt` of a variant."""
