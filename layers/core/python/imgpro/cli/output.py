"""How the client commands print media objects: aligned tables, one line per media, and
`key: value` blocks (`--json` prints the API's own JSON instead)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

Media = Mapping[str, Any]

COLUMNS = ("ID", "NAME", "SIZE", "WxH", "STATUS", "TAGS", "EXPIRES", "LINK")
NAME_WIDTH = 40
TAGS_WIDTH = 30


def status(media: Media) -> str:
    """`ready`, `processing` or `failed` (the API sends `status` only while not ready)."""
    return str(media.get("status") or "ready")


def human_size(nbytes: int | None) -> str:
    """`12.6 MB`, `640 KB`, `512 B` (decimal units, as the plans are sold); `-` if unknown."""
    if nbytes is None:
        return "-"
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if nbytes >= size:
            return (
                f"{nbytes / size:.3g} {unit}" if nbytes < 100 * size else f"{nbytes // size} {unit}"
            )
    return f"{nbytes} B"


def dimensions(media: Media) -> str:
    width, height = media.get("width"), media.get("height")
    return f"{width}x{height}" if width and height else "-"


def when(unix: int | float | None) -> str:
    """A Unix time as `2026-12-07 14:05 UTC`; `-` for none (media that never expires)."""
    if unix is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix))


def link(media: Media) -> str:
    """The sharing link of public media; `private` for private media, whose image URL is
    signed, long and short-lived (`imgpro show` prints it)."""
    return str(media.get("url") or "private")


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row(media: Media) -> tuple[str, ...]:
    """One media's cells, in COLUMNS order."""
    tags = media.get("tags") or []
    return (
        str(media.get("id", "")),
        shorten(" ".join(str(media.get("name", "")).split()), NAME_WIDTH),
        human_size(media.get("filesize")),
        dimensions(media),
        status(media),
        shorten(",".join(str(tag) for tag in tags), TAGS_WIDTH) or "-",
        when(media.get("expires_at")),
        link(media),
    )


def table(items: Sequence[Media], *, header: bool = True) -> str:
    """An aligned table, the link last and unpadded (it is long)."""
    rows: list[tuple[str, ...]] = [COLUMNS] if header else []
    rows += [row(media) for media in items]
    if not rows:
        return ""
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(COLUMNS) - 1)]
    return "\n".join(
        "  ".join(
            [
                *(cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=True)),
                cells[-1],
            ]
        ).rstrip()
        for cells in rows
    )


def line(media: Media) -> str:
    """One media on one line, as `imgpro upload` prints each file it uploaded."""
    return "  ".join(row(media))


def details(media: Media) -> str:
    """Every field of one media, `key: value` a line (`imgpro show`)."""
    fields: list[tuple[str, str]] = [
        ("id", str(media.get("id", ""))),
        ("name", str(media.get("name", ""))),
        ("status", status(media)),
    ]
    if media.get("failure_reason"):
        fields.append(("failure", str(media["failure_reason"])))
    if media.get("filesize") is not None:
        fields.append(("size", f"{media['filesize']:,} bytes ({human_size(media['filesize'])})"))
    if media.get("width"):
        fields.append(("dimensions", dimensions(media)))
    fields.append(("visibility", "public" if media.get("url") else "private"))
    if media.get("description"):
        fields.append(("description", str(media["description"])))
    fields.append(("tags", ", ".join(str(tag) for tag in media.get("tags") or []) or "-"))
    fields.append(
        ("expires", when(media.get("expires_at")) if media.get("expires_at") else "never")
    )
    if media.get("url"):
        fields.append(("url", str(media["url"])))
    if media.get("src"):
        fields.append(("src", str(media["src"])))
    sizes = media.get("sizes") or {}
    for name, variant in sizes.items():
        fields.append((f"size {name}", _variant(variant)))
    width = max(len(name) for name, _ in fields) + 2
    return "\n".join(f"{name + ':':<{width}}{value}" for name, value in fields)


def to_json(value: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value, indent=2, ensure_ascii=False)


def _variant(variant: Any) -> str:
    if not isinstance(variant, Mapping):
        return str(variant)
    size = dimensions(variant)
    url = variant.get("src") or variant.get("url") or ""
    return f"{size} {url}".strip()
