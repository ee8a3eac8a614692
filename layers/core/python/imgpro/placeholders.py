"""Placeholders for media stored before they were made at ingest (`imgpro media
placeholders`): read each ready raster original, make its placeholder as ingest does
(imgpro.imaging.placeholder), and write it on the item. Idempotent: media that has one,
SVG and media not ready are skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pynamodb.exceptions import PutError, UpdateError

from imgpro.media.records import READY
from imgpro.models import MediaItem, team_pk

Read = Callable[[str], bytes | None]
"""The bytes of an object key, or None when it is gone."""


@dataclass
class Tally:
    made: int = 0
    skipped: int = 0
    failed: int = 0


def media_items(team_id: str | None) -> Iterable[MediaItem]:
    """One team's media (its index partition), or every media item (a scan: an operator's
    one-off, never a request's)."""
    if team_id is not None:
        return MediaItem.by_team.query(team_pk(team_id))
    return MediaItem.scan(MediaItem.pk.startswith("MEDIA#") & (MediaItem.sk == "META"))


def backfill(items: Iterable[MediaItem], read: Read, *, force: bool = False) -> Tally:
    tally = Tally()
    for item in items:
        if item.status != READY or item.ext == "svg" or not item.object_key:
            tally.skipped += 1
            continue
        if item.placeholder is not None and not force:
            tally.skipped += 1
            continue
        data = read(item.object_key)
        made = placeholder_of(data) if data is not None else None
        if made is None:
            tally.failed += 1
            continue
        try:
            # Only this attribute, on the item as it still exists: a concurrent update
            # keeps its changes, a deleted item stays deleted.
            item.update(
                actions=[MediaItem.placeholder.set(made)],
                condition=MediaItem.pk.exists(),
            )
        except (UpdateError, PutError):
            tally.failed += 1
            continue
        tally.made += 1
    return tally


def placeholder_of(data: bytes) -> dict[str, str] | None:
    """The placeholder of a stored original, as ingest makes it; None if it cannot be read."""
    from imgpro.imaging import formats, raster
    from imgpro.imaging.containers import inspect_container
    from imgpro.imaging.errors import ImageRejected

    fmt = formats.detect(data[: formats.HEAD_BYTES])
    if fmt is None or fmt not in formats.STORED_AS_IS:
        return None
    try:
        return raster.placeholder_of(fmt, data, inspect_container(fmt, data)).as_dict()
    except ImageRejected:
        return None
