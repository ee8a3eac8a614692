"""Monthly quotas per plan: images uploaded this calendar month, and bytes stored now.

The plans' limits live here and nowhere else (`PLAN_LIMITS`); an operator may override
either limit for one team (`max_images_per_month`, `max_storage_bytes` on its item).

The counters are attributes of the team's own item (`TEAM#<team>`, META):

- `images_<YYYY>_<MM>`: images created in that calendar month (UTC). A new month is a
  new attribute, which starts at zero: no reset job, and past months stay readable.
  Deleting media does not give an image back: the count is of uploads made this month.
- `stored_bytes`: bytes of originals stored now (not the size variants the CDN makes).

Every change rides in the DynamoDB transaction that writes the media item (`Change`,
added by `imgpro.media.store`), as one more Update of the team item:

- an admission (an upload, an import, an announced large upload) adds one image and its
  bytes on condition that both stay within the limits, read as constants worked out
  beforehand (no arithmetic in a condition); so concurrent uploads cannot overrun a
  limit, and a refused one changes nothing;
- a release (a delete, a failed large upload) subtracts, never below zero;
- a settlement (a large upload processed) adds the difference between the stored and the
  declared size, without a limit: the declared size was the reservation admitted.

Before the costly work (decoding, fetching, the S3 put) an endpoint checks the counters
it read with the team (`standing`): a team over its quota is refused for one GetItem.
docs/quotas.md has the plans, the units and the cost.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from imgpro import clock
from imgpro.errors import QuotaExceeded
from imgpro.imaging.privacy import DEFAULT_STRIP, StripPolicy, strip_policy

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

GB = 10**9
"""Decimal units, as the plans are sold: 1 GB is 1,000,000,000 bytes (docs/quotas.md)."""
TB = 10**12


@dataclass(frozen=True)
class Limits:
    images_per_month: int
    storage_bytes: int
    images_source: str = ""
    """Where each limit comes from, for messages: "the free plan", "an override"."""
    storage_source: str = ""


def _plan(name: str, images: int, storage: int) -> Limits:
    return Limits(images, storage, f"the {name} plan", f"the {name} plan")


PLAN_LIMITS: dict[str, Limits] = {
    "free": _plan("free", 1_000, 1 * GB),
    "launch": _plan("launch", 10_000, 10 * GB),
    "growth": _plan("growth", 100_000, 100 * GB),
    "business": _plan("business", 1_000_000, 1 * TB),
}
"""The seed's "Monthly Quotas" table: images a month and bytes stored, per plan."""
DEFAULT_PLAN = "free"

STORED_BYTES = "stored_bytes"
MAX_IMAGES = "max_images_per_month"
MAX_STORAGE = "max_storage_bytes"
STRIP_METADATA = "strip_metadata"
_MONTH_ATTRIBUTE = re.compile(r"^images_(\d{4})_(\d{2})$")
_WRITE_RETRIES = 8


def limits_for(
    plan: str, *, max_images_per_month: int | None = None, max_storage_bytes: int | None = None
) -> Limits:
    """The plan's limits, with the operator's overrides (if any) taking their place."""
    limits = PLAN_LIMITS.get(plan, PLAN_LIMITS[DEFAULT_PLAN])
    if max_images_per_month is not None:
        limits = replace(
            limits, images_per_month=int(max_images_per_month), images_source="an override"
        )
    if max_storage_bytes is not None:
        limits = replace(limits, storage_bytes=int(max_storage_bytes), storage_source="an override")
    return limits


# --- months and sizes -------------------------------------------------------------------


def month_of(at: float) -> str:
    """The calendar month (UTC) containing `at` (epoch seconds): `2026_12`."""
    return time.strftime("%Y_%m", time.gmtime(at))


def images_attribute(month: str) -> str:
    """The team item's attribute counting the images of `month`: `images_2026_12`."""
    return f"images_{month}"


def _month_label(month: str) -> str:
    return month.replace("_", "-")


def _next_month_label(month: str) -> str:
    year, number = (int(part) for part in month.split("_"))
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return f"{year:04d}-{number:02d}-01 00:00 UTC"


_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": GB,
    "TB": TB,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_bytes(value: str) -> int:
    """`1000000`, `500MB`, `10GB`, `1TB` (decimal) or `1GiB` (binary): a whole number of
    bytes, zero or more. ValueError for anything else."""
    match = _SIZE.match(value)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise ValueError(
            f"{value!r} is not a size: use bytes, or a number with KB, MB, GB, TB "
            "(powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
        )
    amount = float(match.group(1)) * _UNITS[unit]
    if amount != int(amount):
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(amount)


def format_bytes(nbytes: int) -> str:
    """`1 GB`, `2.5 MB`, `999 bytes`: decimal units, as the plans are sold."""
    for unit, size in (("TB", TB), ("GB", GB), ("MB", 10**6), ("KB", 10**3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes:,} bytes"


# --- what one read of the team item says ---------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A team's plan, limits and usage, as one read of its item saw them."""

    team_id: str
    plan: str
    public_default: bool
    limits: Limits
    month: str
    images_this_month: int
    stored_bytes: int
    strip_metadata: StripPolicy = DEFAULT_STRIP
    """The team's metadata privacy setting, for the pipeline (imgpro.imaging.privacy)."""

    def check(self, nbytes: int) -> None:
        """Raise QuotaExceeded unless one more image of `nbytes` fits, as of this read.

        A cheap early answer, with no write: the transaction is what guards the limits.
        """
        refusal = _refusal(
            self.limits,
            images=self.images_this_month,
            stored=self.stored_bytes,
            nbytes=nbytes,
            month=self.month,
        )
        if refusal is not None:
            raise refusal

    def admission(self, nbytes: int) -> Change:
        """The change that admits one image of `nbytes`, within this team's limits;
        QuotaExceeded if it cannot fit, as of this read."""
        self.check(nbytes)
        return Change(team_id=self.team_id, images=1, nbytes=nbytes, limits=self.limits)


def standing(team_id: str, *, consistent: bool = False) -> Standing:
    """The team's plan, limits and counters this month: one GetItem of the team item.

    A team with no item (a token issued for it without `imgpro team put`) is on the
    free plan with nothing used.
    """
    raw = _get(team_id, consistent=consistent)
    return _standing(team_id, raw, at=clock.now())


def _standing(team_id: str, raw: Mapping[str, Any], *, at: float) -> Standing:
    month = month_of(at)
    return Standing(
        team_id=team_id,
        plan=_string(raw, "plan") or DEFAULT_PLAN,
        public_default=bool(raw.get("public_default", {}).get("BOOL", False)),
        limits=limits_for(
            _string(raw, "plan") or DEFAULT_PLAN,
            max_images_per_month=_number(raw, MAX_IMAGES),
            max_storage_bytes=_number(raw, MAX_STORAGE),
        ),
        month=month,
        images_this_month=_number(raw, images_attribute(month)) or 0,
        stored_bytes=_number(raw, STORED_BYTES) or 0,
        strip_metadata=strip_policy(_string(raw, STRIP_METADATA)),
    )


def monthly_images(team_id: str) -> dict[str, int]:
    """Every month's image count of the team (`{"2026-12": 42}`), for operators and tests."""
    raw = _get(team_id, consistent=True)
    counts = {}
    for name, value in raw.items():
        match = _MONTH_ATTRIBUTE.match(name)
        if match:
            counts[f"{match.group(1)}-{match.group(2)}"] = int(value["N"])
    return dict(sorted(counts.items()))


def _refusal(
    limits: Limits, *, images: int, stored: int, nbytes: int, month: str
) -> QuotaExceeded | None:
    if images >= limits.images_per_month:
        return QuotaExceeded(
            f"Monthly image quota exceeded: this team has uploaded {images:,} of the "
            f"{limits.images_per_month:,} images a month that {limits.images_source} allows "
            f"in {_month_label(month)} (UTC); uploads start again on {_next_month_label(month)}"
        )
    if stored + nbytes > limits.storage_bytes:
        return QuotaExceeded(
            f"Storage quota exceeded: this team stores {stored:,} of the "
            f"{limits.storage_bytes:,} bytes ({format_bytes(limits.storage_bytes)}) that "
            f"{limits.storage_source} allows, and this image needs {nbytes:,} more; "
            "delete media to make room"
        )
    return None


# --- changes, written in the media's transaction -------------------------------------------


@dataclass(frozen=True)
class Change:
    """What one media write does to its team's counters, as one more Update in the
    transaction of that write (`imgpro.media.store` adds it with `add_to`)."""

    team_id: str
    images: int = 0
    """Added to the count of `month` (negative: given back)."""
    nbytes: int = 0
    """Added to `stored_bytes` (negative: released)."""
    limits: Limits | None = None
    """Set for an admission: the write happens only if both counters stay within."""
    month: str | None = None
    """The month whose images change; None: the month the media was created in."""
    counted: tuple[int | None, int | None] | None = None
    """A release's second form, once the first was refused because a counter held less
    than it would take away (usage from before quotas existed): the counters as read
    (`stored_bytes`, images), set to what they become, floored at zero, if unchanged."""

    @property
    def admission(self) -> bool:
        return self.limits is not None


def release(team_id: str, *, nbytes: int, images: int = 0, created_ms: int | None = None) -> Change:
    """Give back `nbytes` of storage and `images` images of the month of `created_ms`."""
    month = month_of(created_ms / 1000) if created_ms is not None else None
    return Change(team_id=team_id, images=-images, nbytes=-nbytes, month=month)


def settlement(team_id: str, *, declared: int, stored: int) -> Change:
    """A large upload processed: its reservation of `declared` bytes becomes the `stored`
    size. Not limited: the declared size is what the quota admitted."""
    return Change(team_id=team_id, nbytes=stored - declared)


def held(status: str, *, filesize: float | None, declared_size: float | None) -> tuple[int, int]:
    """What a media item holds of its team's quota, by its status: (bytes, images of its
    creation month still reserved). A ready item its stored size; a large upload still
    processing its declared size and its image (both reserved when it was announced); a
    failed one nothing (released when it failed). `status` as in `imgpro.media.records`."""
    if status == "processing":
        return int(declared_size or 0), 1
    if status == "failed":
        return 0, 0
    return int(filesize or 0), 0


def add_to(tx: Any, change: Change, *, at_ms: int) -> bool:
    """Add the change's Update of the team item to the transaction `tx` (last, being its
    only Update, so its cancellation reason is the last one). False when there is
    nothing to write."""
    from pynamodb.constants import ALL_OLD
    from pynamodb.expressions.operand import Path

    from imgpro.models import META, TeamItem, team_pk

    month = change.month or month_of(at_ms / 1000)
    images = Path(images_attribute(month))
    stored = TeamItem.stored_bytes
    actions: list[Any] = []
    conditions: list[Any] = []
    if change.counted is not None:
        for path, old, delta in (
            (stored, change.counted[0], change.nbytes),
            (images, change.counted[1], change.images),
        ):
            if delta == 0:
                continue
            if old is None:
                conditions.append(path.does_not_exist())  # nothing to take from
            else:
                actions.append(path.set(max(0, old + delta)))
                conditions.append(path == old)
    else:
        if change.images:
            actions.append(images.add(change.images))
        if change.nbytes:
            actions.append(stored.add(change.nbytes))
        if change.images < 0:
            conditions.append(images >= -change.images)
        if change.nbytes < 0:
            conditions.append(stored >= -change.nbytes)
        if change.limits is not None:
            # Constants worked out here: a condition cannot do arithmetic. Without the
            # attribute the count is zero, which fits only a limit above zero.
            image_limit = change.limits.images_per_month
            room = change.limits.storage_bytes - max(change.nbytes, 0)
            under = images < image_limit
            conditions.append(images.does_not_exist() | under if image_limit > 0 else under)
            fits = stored <= room
            conditions.append(stored.does_not_exist() | fits if room >= 0 else fits)
        if change.images > 0 or change.nbytes > 0:
            # An upload for a team that has no item yet makes it a free team's.
            actions += [
                TeamItem.team_id.set(TeamItem.team_id | change.team_id),
                TeamItem.plan.set(TeamItem.plan | DEFAULT_PLAN),
                TeamItem.created_ms.set(TeamItem.created_ms | at_ms),
            ]
    if not actions:
        return False
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    tx.update(
        TeamItem(team_pk(change.team_id), META),
        actions=actions,
        condition=condition,
        return_values=ALL_OLD,
    )
    return True


def after_refusal(change: Change, old: Mapping[str, Any] | None, *, at_ms: int) -> Change:
    """The team item's condition cancelled the transaction that carried `change`; `old`
    is the item as it stood (None if DynamoDB did not say: then it is read).

    An admission raises QuotaExceeded, saying which limit; if, read again, the image
    fits after all (media were deleted meanwhile), the same change is to be tried again.
    A release comes back in its second form, floored at zero.
    """
    raw = old if old is not None else _get(change.team_id, consistent=True)
    month = change.month or month_of(at_ms / 1000)
    if change.limits is not None:
        refusal = _refusal(
            change.limits,
            images=_number(raw, images_attribute(month)) or 0,
            stored=_number(raw, STORED_BYTES) or 0,
            nbytes=change.nbytes,
            month=month,
        )
        if refusal is not None:
            raise refusal
        return change
    return replace(
        change,
        month=month,
        counted=(_number(raw, STORED_BYTES), _number(raw, images_attribute(month))),
    )


# --- outside any transaction: items that DynamoDB's TTL removed -----------------------------


def release_storage(team_id: str, nbytes: int) -> None:
    """Subtract `nbytes` from the team's stored-bytes counter, never below zero.

    For a removal that no transaction of ours made (DynamoDB's TTL deleting an expired
    item). Not idempotent: the caller releases each item once. A team with no counter
    has nothing to release.
    """
    nbytes = int(nbytes)
    if nbytes <= 0:
        return
    from botocore.exceptions import ClientError

    client, table = _client()
    key = _key(team_id)
    for attempt in range(_WRITE_RETRIES):
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET #stored = #stored - :n",
                ConditionExpression="#stored >= :n",
                ExpressionAttributeNames={"#stored": STORED_BYTES},
                ExpressionAttributeValues={":n": {"N": str(nbytes)}},
            )
            return
        except ClientError as error:
            if _code(error) == "TransactionConflictException":
                backoff(attempt)  # an upload's transaction holds the team item
                continue
            if _code(error) != "ConditionalCheckFailedException":
                raise
        # The counter holds less than that (usage from before quotas), or nothing.
        stored = _number(_get(team_id, consistent=True), STORED_BYTES)
        if stored is None:
            return
        if stored >= nbytes:
            continue  # an upload raised it meanwhile: subtract after all
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET #stored = :zero",
                ConditionExpression="#stored = :old",
                ExpressionAttributeNames={"#stored": STORED_BYTES},
                ExpressionAttributeValues={":old": {"N": str(stored)}, ":zero": {"N": "0"}},
            )
            return
        except ClientError as error:
            if _code(error) not in (
                "ConditionalCheckFailedException",
                "TransactionConflictException",
            ):
                raise
            backoff(attempt)
    raise RuntimeError(f"could not release {nbytes:,} bytes of team {team_id}: kept changing")


def backoff(attempt: int) -> None:
    """Wait a little before writing the team item again (another write holds it):
    jittered, growing from about 10 ms."""
    time.sleep(random.uniform(0.5, 1.0) * 0.01 * 2 ** min(attempt, 5))


# --- the team item, raw (the monthly attributes are not declared on the model) -------------


def _get(team_id: str, *, consistent: bool) -> Mapping[str, Any]:
    client, table = _client()
    answer = client.get_item(TableName=table, Key=_key(team_id), ConsistentRead=consistent)
    item: Mapping[str, Any] = answer.get("Item", {})
    return item


def _key(team_id: str) -> dict[str, Any]:
    from imgpro.models import META, team_pk

    return {"pk": {"S": team_pk(team_id)}, "sk": {"S": META}}


def _number(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    return None if value is None or "N" not in value else int(value["N"])


def _string(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return None if value is None else value.get("S")


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _client() -> tuple[Any, str]:
    """The botocore client of the models' shared connection (made once per container by
    `imgpro.models.bind`), and the table's name."""
    from imgpro.models import TeamItem

    return TeamItem._get_connection().connection.client, TeamItem.Meta.table_name
