"""Reading media by id: what a viewer may see, what delivery may serve, a team's own."""

from __future__ import annotations

from collections.abc import Sequence

from imgpro.errors import NotFound
from imgpro.media import store
from imgpro.media.records import READY, Media


def get(uid: str, *, team_id: str | None) -> Media:
    """A media item that the viewer may see: the team's own, or any public one.

    `team_id` None is an anonymous viewer, who sees public media only.
    """
    item = store.load(uid)
    if item is None or not (item.team_id == team_id or (item.is_public and item.status == READY)):
        raise NotFound()
    return store.to_media(item)


def find_live(uid: str) -> Media | None:
    """Any live media by id, whoever owns it: for delivery, which has no caller."""
    item = store.load(uid)
    return None if item is None else store.to_media(item)


def get_owned(uid: str, *, team_id: str) -> Media:
    item = store.load_owned(uid, team_id)
    if item is None:
        raise NotFound()
    return store.to_media(item)


def get_many(ids: Sequence[str], *, team_id: str) -> list[Media]:
    """The team's live media among `ids`, in the order asked; others are left out."""
    found = store.load_many_owned(ids, team_id)
    return [store.to_media(found[uid]) for uid in ids if uid in found]
