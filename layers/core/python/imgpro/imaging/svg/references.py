"""Which link targets a sanitized SVG may keep: same-document `#id` references, and raster
`data:` URIs on `<image>`. Everything else (any scheme, any relative or protocol-relative
URL, `data:` of other types) is dropped by the caller.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

# `image/jpg` is not a registered type but tools write it; it comes out as `image/jpeg`.
_RASTER_PREFIXES = {
    f"data:image/{written};base64,": f"data:image/{canonical};base64,"
    for written, canonical in (
        ("png", "png"),
        ("jpeg", "jpeg"),
        ("jpg", "jpeg"),
        ("gif", "gif"),
        ("webp", "webp"),
    )
}
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# Browsers strip tabs and newlines anywhere in a URL and ignore some invisible
# characters, which is how `java\tscript:` slips past a naive check. Dropping every
# space, control and format character before deciding is stricter than any browser.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_MAX_DECODES = 4


def _compact(value: str) -> str:
    return "".join(
        ch for ch in value if not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE
    )


def normalise(value: str) -> str:
    """The value as a link-following browser might read it, for deciding only: no
    invisible characters, percent-encoding decoded (repeatedly), scheme in lower case."""
    text = _compact(value)
    for _ in range(_MAX_DECODES):
        decoded = _compact(unquote(text))
        if decoded == text:
            break
        text = decoded
    match = _SCHEME.match(text.lower())
    if match:
        text = match.group(0) + text[match.end() :]
    return text


def is_fragment_id(value: str) -> bool:
    """Whether `value` is an id we let a `#` reference point to. Ids that tools write
    (`SVGID_1_`, `linearGradient4512`, `paint0_linear_1_2`) use letters, digits, `-_.`;
    anything else (quotes, parentheses, colons, `%`) has no business in a reference."""
    return bool(value) and all(ch.isalnum() or ch in "-_." for ch in value)


def clean_reference(value: str, *, raster: bool) -> str | None:
    """The canonical form of an allowed href value, or None to drop the attribute.

    A value is kept only when it is safe both as written and as normalised, so neither
    `%23id` (a relative URL to a browser) nor `java&#9;script:` passes.
    """
    written = _compact(value)
    read = normalise(value)
    if not raster:
        if written.startswith("#") and read == written and is_fragment_id(written[1:]):
            return written
        return None
    return _clean_raster_data_uri(written, read)


def _clean_raster_data_uri(written: str, read: str) -> str | None:
    lowered = written.lower()
    for prefix, canonical in _RASTER_PREFIXES.items():
        if lowered.startswith(prefix) and read.lower().startswith(prefix):
            payload = written[len(prefix) :]
            return canonical + payload if _BASE64.fullmatch(payload) else None
    return None
