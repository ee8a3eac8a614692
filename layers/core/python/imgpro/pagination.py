"""Cursors: opaque to clients, readable to us, like the seed's `1704067200_124`.

A cursor is `<created_ms>_<uid>` of the last item on a page. It maps to the
exclusive upper bound of gsi1sk for the next Query, so it needs no stored state,
survives deletions of that item, and new uploads (which sort above it) never
shift later pages.
"""

from __future__ import annotations

import re

from imgpro.models import sort_key
from imgpro.validation import InvalidField

_CURSOR = re.compile(r"^(\d{1,13})_([A-Za-z0-9]{1,64})$")


def encode_cursor(created_ms: int, uid: str) -> str:
    return f"{created_ms}_{uid}"


def parse_cursor(raw: object) -> str | None:
    """The gsi1sk bound a cursor stands for; None when no cursor was given."""
    if raw is None or raw == "":
        return None
    match = _CURSOR.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise InvalidField("Cursor is malformed; pass the next_cursor of a previous response")
    return sort_key(int(match.group(1)), match.group(2))


def cursor_from_sort_key(gsi1sk: str) -> str:
    """The cursor that resumes just below a gsi1sk (`<created_ms:013d>#<uid>`)."""
    created_ms, _, uid = gsi1sk.partition("#")
    return encode_cursor(int(created_ms), uid)
