"""Media persistence: the one module that reads and writes media items and their tag links.

It owns the rules every use case relies on:

- an item past `expires_at` is gone, in reads by id and in query filters alike
  (DynamoDB TTL deletes hours late);
- a lookup for a team finds that team's media only;
- tag links match the tags of their item: they are written in the same transaction;
- concurrent writers are serialized by an optimistic lock on `updated_ms`: `modify`
  reads, changes, writes on condition that the version read is still current, and
  reads again when it is not;
- a write that stores or removes an image changes its team's quota counters
  (`imgpro.quotas.Change`) in the same transaction: an upload over quota stores
  nothing, and a delete gives its bytes back exactly once.

The use-case modules (`creating`, `reading`, `listing`, `changing`) hold no DynamoDB
details beyond the attributes they change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from imgpro import clock
from imgpro.errors import Conflict
from imgpro.imaging.limits import VARIANT_SIZES
from imgpro.media.records import Media, SizeVariant
from imgpro.models import META, MediaItem, TagLink, media_pk, tag_partition, tag_sk
from imgpro.validation import is_wellformed_uid, tag_key

if TYPE_CHECKING:
    from imgpro import quotas

WRITE_RETRIES = 5
"""Reads and writes `modify` tries before answering Conflict."""
TRANSACTION_ATTEMPTS = 8
"""Times `_write` tries one transaction that conflicts with others on the team item."""
_BATCH_GET = 100  # BatchGetItem's limit

T = TypeVar("T")


# --- reading --------------------------------------------------------------------------


def load(uid: str) -> MediaItem | None:
    """The live item of `uid`, whoever owns it; None if malformed, missing or expired."""
    if not is_wellformed_uid(uid):
        return None
    try:
        item = MediaItem.get(media_pk(uid), META)
    except MediaItem.DoesNotExist:
        return None
    return None if _expired(item) else item


def load_owned(uid: str, team_id: str) -> MediaItem | None:
    """The team's live item of `uid`: another team's is as absent as a missing one."""
    item = load(uid)
    return item if item is not None and item.team_id == team_id else None


def load_many_owned(ids: Iterable[str], team_id: str) -> dict[str, MediaItem]:
    """The team's live items among `ids`, by uid, a batch of reads at a time."""
    wanted = [uid for uid in dict.fromkeys(ids) if is_wellformed_uid(uid)]
    found: dict[str, MediaItem] = {}
    for start in range(0, len(wanted), _BATCH_GET):
        keys = [(media_pk(uid), META) for uid in wanted[start : start + _BATCH_GET]]
        for item in MediaItem.batch_get(keys):
            if item.team_id == team_id and not _expired(item):
                found[item.uid] = item
    return found


def live_filter(model: type[MediaItem] | type[TagLink]) -> Condition:
    """A query filter that leaves out expired items (or links), as `load` does."""
    condition: Condition = model.expires_at.does_not_exist() | (model.expires_at > _now_seconds())
    return condition


def _expired(item: MediaItem) -> bool:
    return item.expires_at is not None and item.expires_at <= _now_seconds()


def _now_seconds() -> int:
    return int(clock.now())


# --- items as values ------------------------------------------------------------------


def to_media(item: MediaItem) -> Media:
    def _int(value: float | None) -> int | None:
        return None if value is None else int(value)

    return Media(
        uid=item.uid,
        team_id=item.team_id,
        name=item.name,
        status=item.status,
        is_public=bool(item.is_public),
        created_ms=int(item.created_ms),
        ext=item.ext,
        content_type=item.content_type,
        object_key=item.object_key,
        width=_int(item.width),
        height=_int(item.height),
        filesize=_int(item.filesize),
        description=item.description,
        tags=tuple(item.tags or ()),
        expires_at=_int(item.expires_at),
        upload_id=item.upload_id,
        failure_reason=item.failure_reason,
        placeholder=_placeholder_map(item),
        sizes=tuple(
            SizeVariant(size, int(v["w"]), int(v["h"]), int(v["b"]), str(v["f"]))
            for size in VARIANT_SIZES
            if (v := _variant_map(item, size)) is not None
        ),
    )


def recorded_variants(item: MediaItem) -> tuple[tuple[str, str], ...]:
    """The variants the record lists, as (size, format): the objects a move copies.

    One format per size: the last one the resize function recorded. A size made in both
    formats has its other one on no record (it is made again when asked for)."""
    return tuple(
        (size, str(v["f"])) for size in VARIANT_SIZES if (v := _variant_map(item, size)) is not None
    )


def _placeholder_map(item: MediaItem) -> dict[str, str] | None:
    value = item.placeholder
    return None if value is None else {k: str(v) for k, v in value.as_dict().items()}


def _variant_map(item: MediaItem, size: str) -> dict[str, Any] | None:
    value = getattr(item, f"v_{size}")
    return None if value is None else value.as_dict()


def tag_keys(tags: Iterable[str]) -> set[str]:
    """The keys tags are compared and linked by: `Beach` and `beach` are one tag."""
    return {tag_key(tag) for tag in tags}


def tag_link(item: MediaItem, tag: str) -> TagLink:
    """The link that lists `item` under `tag` (newest first, like the team's listing)."""
    return TagLink(
        item.pk,
        tag_sk(tag_key(tag)),
        gsi1pk=tag_partition(item.team_id, tag_key(tag)),
        gsi1sk=item.gsi1sk,
        uid=item.uid,
        expires_at=item.expires_at,
    )


# --- writing --------------------------------------------------------------------------


def insert(item: MediaItem, *, usage: quotas.Change | None = None) -> None:
    """Write a new item and its tag links in one transaction, with the `usage` it adds
    to its team's counters; fails if the uid is taken, QuotaExceeded if over quota."""

    def write(tx: TransactWrite) -> None:
        tx.save(item, condition=MediaItem.pk.does_not_exist())
        for tag in item.tags or ():
            tx.save(tag_link(item, tag))

    _write(write, usage, at_ms=int(item.created_ms))


def replace(item: MediaItem, *, condition: Condition, usage: quotas.Change | None) -> None:
    """Save the whole item if `condition` holds, with `usage` in the same transaction."""
    _write(lambda tx: tx.save(item, condition=condition), usage, at_ms=int(item.created_ms))


def update_with_links(
    item: MediaItem, actions: Sequence[Action], *, old_keys: set[str], condition: Condition
) -> None:
    """Apply `actions` to the item and bring its tag links from `old_keys` to `item.tags`,
    in one transaction, if `condition` holds."""
    new_tags = item.tags or []
    new_keys = tag_keys(new_tags)
    with _transaction() as tx:
        tx.update(item, actions=list(actions), condition=condition)
        for key in old_keys - new_keys:
            tx.delete(TagLink(item.pk, tag_sk(key)))
        for tag in new_tags:
            if tag_key(tag) not in old_keys:
                tx.save(tag_link(item, tag))


def delete_with_links(item: MediaItem, *, condition: Condition) -> None:
    """Delete the item and every link of its tags in one transaction, if `condition` holds,
    giving back to its team what the item held of the quota (`quotas.held`)."""
    from imgpro import quotas

    nbytes, images = quotas.held(
        item.status, filesize=item.filesize, declared_size=item.declared_size
    )

    def write(tx: TransactWrite) -> None:
        tx.delete(item, condition=condition)
        for key in tag_keys(item.tags or ()):
            tx.delete(TagLink(item.pk, tag_sk(key)))

    usage = quotas.release(
        item.team_id, nbytes=nbytes, images=images, created_ms=int(item.created_ms)
    )
    _write(write, usage, at_ms=int(item.created_ms))


def set_if_present(
    item: MediaItem, actions: Sequence[Action], *, condition: Condition | None = None
) -> bool:
    """Apply `actions` to an item that may have been deleted since; a no-op if it was
    (or if `condition`, when given, does not hold). Whether it was applied.

    An update of those attributes only, not a save, so it never undoes another
    writer's change; and no version bump, since nothing here depends on the rest.
    """
    present = MediaItem.pk.exists()
    try:
        item.update(
            actions=list(actions), condition=present if condition is None else present & condition
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def modify(
    read: Callable[[], MediaItem | None],
    change: Callable[[MediaItem, Condition], T],
    *,
    conflict: str,
    first: MediaItem | None = None,
    bump_version: bool = True,
) -> T | None:
    """The optimistic lock: read the item, change it, write it if nobody wrote in between.

    `read` returns the item to change, or None when it is gone (or no longer in a state
    to change), which `modify` answers with None. `change(item, condition)` changes the
    item and writes it under `condition` (the version read is still the stored one),
    with the next version already set on the item unless `bump_version` is False (a
    delete has nothing to bump). When the condition fails, another writer came first:
    the item is read and changed again, up to WRITE_RETRIES times in all, then
    Conflict(`conflict`). `first` is the item when the caller has read it already.
    """
    for attempt in range(WRITE_RETRIES):
        item = first if attempt == 0 and first is not None else read()
        if item is None:
            return None
        unchanged = MediaItem.updated_ms == item.updated_ms
        if bump_version:
            # Strictly increasing even when two writes share a millisecond (or the
            # clock steps back), so every write is a new version.
            item.updated_ms = max(clock.now_ms(), int(item.updated_ms) + 1)
        try:
            return change(item, unchanged)
        except PynamoDBException as error:
            if not condition_failed(error):
                raise
    raise Conflict(conflict)


def condition_failed(error: PynamoDBException) -> bool:
    """Whether a write was refused only because its condition did not hold. A single
    write says so in its error code, a transaction in its cancellation reasons."""
    if error.cause_response_code == "ConditionalCheckFailedException":
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _write(
    build: Callable[[TransactWrite], None], usage: quotas.Change | None, *, at_ms: int
) -> None:
    """One transaction: the items `build` adds, and the team's `usage` last.

    When the team item's condition alone cancels it, `quotas.after_refusal` decides:
    QuotaExceeded for an admission, a floored second form for a release. A conflict with
    another transaction on the same items (a team's uploads all write its item) is
    retried after a short wait: DynamoDB cancels rather than queues. Any other
    cancellation (the media's own condition) is raised for the caller, as before.
    """
    from imgpro import quotas  # writes only: a read route never loads the quota rules

    for attempt in range(TRANSACTION_ATTEMPTS):
        team_last = False
        try:
            with _transaction() as tx:
                build(tx)
                team_last = usage is not None and quotas.add_to(tx, usage, at_ms=at_ms)
            return
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            codes = [reason.code if reason is not None else None for reason in reasons]
            refused = "ConditionalCheckFailed"
            if team_last and usage is not None and codes and codes[-1] == refused:
                if codes.count(refused) == 1:
                    last = reasons[-1]
                    assert last is not None  # its code is the refusal
                    usage = quotas.after_refusal(usage, last.raw_item, at_ms=at_ms)
                    continue
            elif "TransactionConflict" in codes and refused not in codes:
                quotas.backoff(attempt)
                continue
            raise
    raise Conflict("The team's usage kept changing under concurrent writes; retry the request")


def _transaction() -> TransactWrite:
    return TransactWrite(connection=MediaItem._get_connection().connection)
