"""Changing media: PATCH one item or many (tags, visibility and all), and deletes.

Writes are conditioned on the version read (`updated_ms`), so tag links always
match the tags of the item they belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pynamodb.expressions.condition import Condition

from imgpro import storage
from imgpro.errors import NotFound, ValidationFailed
from imgpro.media import store
from imgpro.media.inputs import Changes
from imgpro.media.records import BatchDeleteResult, Media
from imgpro.models import MediaItem
from imgpro.validation import MAX_TAGS, tag_key

logger = logging.getLogger("imgpro")


# --- update ---------------------------------------------------------------------------


def update(uid: str, changes: Changes, *, team_id: str, loaded: MediaItem | None = None) -> Media:
    """Apply a PATCH to one of the team's media (`loaded`: the item if already read)."""
    written: list[tuple[MediaItem, bool]] = []
    try:
        item = _update(uid, changes, team_id=team_id, loaded=loaded, written=written)
    finally:
        _move_and_forget(written)
    return store.to_media(item)


def update_many(ids: Sequence[str], changes: Changes, *, team_id: str) -> list[Media]:
    """Apply one PATCH to each of the team's media among `ids`; others are skipped.

    Every item's outcome is checked before anything is written, so a change that
    would break one item's limits changes none. The objects of media whose visibility
    changed are moved together once the records are written, and the CDN is told once
    for all of them.
    """
    items = store.load_many_owned(ids, team_id)
    for item in items.values():
        if len(_apply_tag_change(item, changes)) > MAX_TAGS:
            raise ValidationFailed.field(
                "tags", f"Media {item.uid} would have more than {MAX_TAGS} tags"
            )
    updated: list[MediaItem] = []
    written: list[tuple[MediaItem, bool]] = []
    try:
        for uid in ids:
            if uid not in items:
                continue
            try:
                updated.append(
                    _update(uid, changes, team_id=team_id, loaded=items[uid], written=written)
                )
            except NotFound:
                continue  # deleted between the read and the write: as if never asked
    finally:
        # Even if a later item failed: the records written so far say the new side.
        _move_and_forget(written)
    return [store.to_media(item) for item in updated]


def _update(
    uid: str,
    changes: Changes,
    *,
    team_id: str,
    loaded: MediaItem | None,
    written: list[tuple[MediaItem, bool]],
) -> MediaItem:
    result = store.modify(
        lambda: store.load_owned(uid, team_id),
        lambda item, unchanged: _write_changes(item, changes, unchanged),
        first=loaded,
        conflict="The media kept changing under concurrent updates; retry the request",
    )
    if result is None:
        raise NotFound()
    written.append(result)
    return result[0]


def _apply_tag_change(item: MediaItem, changes: Changes) -> list[str]:
    current = list(item.tags or [])
    if changes.tags is None:
        return current
    if changes.tag_mode == "replace":
        return list(changes.tags)
    if changes.tag_mode == "add":
        present = store.tag_keys(current)
        return current + [t for t in changes.tags if tag_key(t) not in present]
    removed = store.tag_keys(changes.tags)
    return [t for t in current if tag_key(t) not in removed]


def _write_changes(
    item: MediaItem, changes: Changes, unchanged: Condition
) -> tuple[MediaItem, bool]:
    """Write the changes and the tag links they imply if `unchanged` holds; the item
    written, and whether it was public before.

    An update of the changed attributes, not a save of the whole item: the resize
    function records variants on the same item at any time, and a save would erase
    a record it made after our read.
    """
    new_tags = _apply_tag_change(item, changes)
    if len(new_tags) > MAX_TAGS:
        raise ValidationFailed.field("tags", f"Maximum {MAX_TAGS} tags allowed")
    was_public = bool(item.is_public)
    old_keys = store.tag_keys(item.tags or ())
    actions = []
    if changes.name is not None:
        item.name = changes.name
        actions.append(MediaItem.name.set(changes.name))
    if changes.description is not None:
        item.description = changes.description or None
        actions.append(
            MediaItem.description.set(item.description)
            if item.description
            else MediaItem.description.remove()
        )
    if changes.is_public is not None:
        item.is_public = changes.is_public
        actions.append(MediaItem.is_public.set(changes.is_public))
    item.tags = new_tags or None
    actions.append(MediaItem.tags.set(new_tags) if new_tags else MediaItem.tags.remove())
    actions.append(MediaItem.updated_ms.set(item.updated_ms))
    # Optimistic lock: tag links must match the tags of the version we read.
    store.update_with_links(item, actions, old_keys=old_keys, condition=unchanged)
    return item, was_public


def _move_and_forget(written: Sequence[tuple[MediaItem, bool]]) -> None:
    """After the records are written: move the objects of the media whose visibility
    changed, then have the CDN forget them, once for the request."""
    moved: list[MediaItem] = []
    try:
        _apply_visibility(
            [item for item, was_public in written if bool(item.is_public) != was_public],
            moved,
        )
    finally:
        _forget_moved(moved)


def _apply_visibility(items: Sequence[MediaItem], moved: list[MediaItem]) -> None:
    """Move the objects of `items` (whose visibility changed) to the side CloudFront
    serves them from, all in one go, and point each record at its moved original. The
    items whose objects moved go on `moved`, for the caller to have the CDN forget.

    What moves is what each record lists (`storage.move_to_side`): its original and the
    variants in its `sizes`, with no listing or HeadObject per item. A variant the resize
    function writes concurrently (it read the record before our write) may be missing
    from the record we read: one written before the move's delete goes with every other
    key of the side left, one written after it is deleted again by the resize function,
    whose recording is conditioned on the side (`creating.record_variant`); either is
    made again on the new side when next asked for (docs/cdn.md, "Moving and deleting by
    the record").
    """
    for private in (True, False):
        side = [
            item
            for item in items
            if bool(item.is_public) != private and item.object_key and item.ext
        ]
        if not side:
            continue
        new_keys = storage.move_to_side([_objects(item) for item in side], private=private)
        # From here the objects are on their new side: whatever happens next, what the
        # edge holds of the old one must go.
        moved += side
        for item, new_key in zip(side, new_keys, strict=True):
            store.set_if_present(item, [MediaItem.object_key.set(new_key)])
            item.object_key = new_key


def _objects(item: MediaItem) -> storage.MediaObjects:
    assert item.object_key is not None and item.ext is not None  # checked by the caller
    return storage.MediaObjects(
        uid=item.uid,
        ext=item.ext,
        original=item.object_key,
        content_type=item.content_type or "application/octet-stream",
        variants=store.recorded_variants(item),
        expires_at=item.expires_at,
    )


def _forget_moved(moved: Sequence[MediaItem]) -> None:
    """Media that left the public side must leave the edge (a year of cache); media that
    joined it must not stay hidden behind a cached 404. One invalidation per request;
    queueing never fails the change, which is made (imgpro.cdn)."""
    from imgpro import cdn

    if moved:
        cdn.invalidate(moved, reason="visibility")


# --- delete ---------------------------------------------------------------------------


def delete(uid: str, *, team_id: str) -> None:
    item = _delete_records(uid, team_id, store.load_owned(uid, team_id))
    if item is None:
        raise NotFound()
    _delete_objects([item])


def delete_many(ids: Sequence[str], *, team_id: str) -> BatchDeleteResult:
    loaded = store.load_many_owned(ids, team_id)
    removed = [
        item for uid in ids if (item := _delete_records(uid, team_id, loaded.get(uid))) is not None
    ]
    _delete_objects(removed)
    gone = {item.uid for item in removed}
    return BatchDeleteResult(
        deleted=[item.uid for item in removed], not_found=[uid for uid in ids if uid not in gone]
    )


def _delete_records(uid: str, team_id: str, item: MediaItem | None) -> MediaItem | None:
    """Delete the record and its tag links; the deleted item, or None if it was not there.

    Conditioned on the version read, like updates: a PATCH that added a tag between
    our read and our write would otherwise leave that tag's link behind forever.
    """
    if item is None:
        return None

    def delete_read_version(found: MediaItem, unchanged: Condition) -> MediaItem:
        store.delete_with_links(found, condition=unchanged)
        return found

    return store.modify(
        lambda: store.load_owned(uid, team_id),
        delete_read_version,
        first=item,
        bump_version=False,
        conflict="The media kept changing while being deleted; retry the request",
    )


def _delete_objects(items: Sequence[MediaItem]) -> None:
    """Delete the objects of media whose records are gone, and drop them from the CDN.

    The delete has happened once the records are gone, so a failure here must not
    turn it into an error the client would retry (and get a 404 for); the objects
    are logged for the orphan sweeper instead. The CDN is told once for all the items,
    whether or not every object went: only public media, as private bytes never reach
    an edge cache (imgpro.cdn.edge_paths).
    """
    if not items:
        return
    from imgpro import cdn

    try:
        storage.delete_media_objects((item.uid, item.ext, item.object_key) for item in items)
    except Exception:
        logger.exception(
            "media deleted but its objects were not: %s", ", ".join(i.uid for i in items)
        )
    public = [item for item in items if item.is_public]
    if public:
        cdn.invalidate(public, reason="delete")
