"""The rules that make ephemeral media disappear, as data: read by the code that tags
objects at upload, by the expiry worker, by the local stack's TTL emulator and by the
CDK app (lifecycle rules, the stream trigger's filter), so none of them can drift.

Two paths delete an expired item's bytes (docs/ephemeral.md):

- DynamoDB TTL removes the item and writes a REMOVE record to the table's stream; the
  `expire_media` worker, invoked only for records that match `STREAM_FILTER`, deletes
  the objects, invalidates the CDN and releases the bytes from the team's usage.
- A backstop, if that path fails for good: every object of ephemeral media carries the
  tag `EXPIRY_TAG=<days>`, one of `BUCKET_DAYS`, and the bucket has one lifecycle rule
  per value expiring objects so tagged `lifecycle_days(<days>)` days after creation.

Rounding: `bucket_for` takes the whole days left until `expires_at`, rounded up, then
the smallest bucket at least that long. The rule deletes `bucket + 1` days after the
object was created (S3 then rounds up to the next midnight UTC), so an object is never
deleted before its media expires, and at most one bucket (plus the one-day margin and
S3's rounding) after. 11 buckets cover every TTL the API accepts (at most 90 days).

Imported by the CDK app and by every function, so nothing here may import boto3.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

DAY_SECONDS = 86_400

BUCKET_DAYS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 14, 30, 60, 90)
"""Whole days until expiry an object can be tagged with, ascending: daily for the first
week, then coarser. The largest covers the API's longest TTL (90 days)."""
MARGIN_DAYS = 1
"""Added to a bucket's days in its lifecycle rule: the stream path goes first, and S3
counts whole days after creation."""

EPHEMERAL_TAG = "ephemeral"
"""`true` on objects of media with a TTL, `false` on originals of other media."""
EXPIRY_TAG = "expires-within-days"
"""The tag the lifecycle rules match: a value of `BUCKET_DAYS`."""


def bucket_for(expires_at: float, now: float) -> int | None:
    """The bucket of an object created at `now` whose media expires at `expires_at`
    (epoch seconds): the smallest of BUCKET_DAYS that is not shorter than the whole days
    left, rounded up. None beyond the largest: no backstop rather than an early one."""
    days_left = max(1, math.ceil((expires_at - now) / DAY_SECONDS))
    return next((days for days in BUCKET_DAYS if days >= days_left), None)


def lifecycle_days(bucket: int) -> int:
    """Days after creation the lifecycle rule of `bucket` expires an object."""
    return bucket + MARGIN_DAYS


def lifecycle_rule_id(bucket: int) -> str:
    return f"expire-ephemeral-media-within-{bucket}-days"


def object_tags(expires_at: float | None, now: float) -> dict[str, str]:
    """The tags of an original (or a variant) stored at `now` for media that expires at
    `expires_at`, None meaning never."""
    if expires_at is None:
        return {EPHEMERAL_TAG: "false"}
    tags = {EPHEMERAL_TAG: "true"}
    bucket = bucket_for(expires_at, now)
    if bucket is not None:
        tags[EXPIRY_TAG] = str(bucket)
    return tags


def tagging(tags: dict[str, str]) -> str:
    """Tags as S3's `x-amz-tagging` header (and PutObject's `Tagging`) spells them."""
    return urlencode(tags)


# --- the stream path ------------------------------------------------------------------

WORKER_FUNCTION = "expire_media"
"""Folder under `functions/` of the worker that the table's stream invokes."""

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
TTL_IDENTITY: dict[str, str] = {"type": "Service", "principalId": TTL_PRINCIPAL}
"""`userIdentity` of a stream record for an item that DynamoDB's TTL process deleted."""
MEDIA_KEY_PREFIX = "MEDIA#"
MEDIA_SORT_KEY = "META"
"""pk prefix and sk of a media item (imgpro.models.media_pk and META, spelled out here:
the CDK app does not import the models; tests/unit/test_expiry_rules.py checks them)."""

STREAM_FILTER: dict[str, Any] = {
    "eventName": ["REMOVE"],
    "userIdentity": {"type": [TTL_IDENTITY["type"]], "principalId": [TTL_PRINCIPAL]},
    "dynamodb": {
        "Keys": {"pk": {"S": [{"prefix": MEDIA_KEY_PREFIX}]}, "sk": {"S": [MEDIA_SORT_KEY]}}
    },
}
"""The event source mapping's filter pattern: only TTL deletions of media items invoke
the worker. A user's delete, a tag link's or a rate window's expiry never do."""

STREAM_BATCH_SIZE = 10
"""Records per invocation at most: each costs a CloudFront invalidation."""
STREAM_RETRY_ATTEMPTS = 10
"""Retries of a failing record (bisected down to itself) before it is dead-lettered."""
