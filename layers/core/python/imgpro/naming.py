"""The name a stored image keeps: the user's base name with the real extension."""

from __future__ import annotations

import re
import unicodedata

from imgpro.imaging.formats import ImageFormat
from imgpro.validation import MAX_NAME_LENGTH

_FALLBACK = "image"

# What Windows refuses in a file name (a superset of macOS and Linux), so that the name
# can be saved as it is, plus `$` and the backtick, so that together with `"` and `\`
# nothing in it means anything inside double quotes, in an HTTP header's quoted string
# (Content-Disposition) or in a POSIX shell.
_UNSAFE = frozenset('"\\/:*?<>|$`')

# The HTML standard has browsers write LF, CR and `"` in a multipart filename as %0A,
# %0D and %22; dropped as characters, they are dropped as escapes too, so that nothing
# that decodes the name later brings them back.
_BROWSER_ESCAPES = re.compile("%(?:0a|0d|22)", re.IGNORECASE)

# A leading dot hides the file once saved, and a leading dash reads as an option to a
# command even when quoted.
_LEADING = " .-"


def stored_name(filename: str | None, fmt: ImageFormat) -> str:
    """`holiday.png` uploaded as JPEG bytes is stored as `holiday.jpg`; a `.jpeg` stays.

    Browsers send the base name, but older clients send a full path (either slash), and
    names can carry control characters, quotes and line breaks: keep the last path
    segment, without invisible or unsafe characters, with its spaces collapsed.
    """
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch not in _UNSAFE and unicodedata.category(ch)[0] != "C")
    # Until none is left: taking one out (or a character) can join another, as in %0%0aa.
    while _BROWSER_ESCAPES.search(base):
        base = _BROWSER_ESCAPES.sub("", base)
    # split() also takes U+2028 and U+2029, line breaks that are not control characters.
    base = " ".join(base.split())
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem.lstrip(_LEADING).rstrip() or _FALLBACK
    if ext.lower() not in fmt.extensions:
        ext = fmt.ext
    stem = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() or _FALLBACK
    return f"{stem}.{ext}"
