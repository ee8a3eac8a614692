"""imgpro.expiry_rules: the bucket of days an object is tagged with, and the stream filter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imgpro import expiry_rules, keys, models
from imgpro.expiry_rules import BUCKET_DAYS, bucket_for, lifecycle_days, object_tags, tagging
from imgpro.validation import TTL_MAX_SECONDS, TTL_MIN_SECONDS

DAY = 86_400
NOW = 1_800_000_000


def test_importing_it_pulls_in_neither_boto3_nor_pynamodb() -> None:
    """The CDK app imports it for the lifecycle rules and the stream filter."""
    probe = (
        "import sys, imgpro.expiry_rules; "
        "print(sorted({'boto3', 'botocore', 'pynamodb', 'PIL'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_few_buckets_cover_every_ttl_the_api_accepts() -> None:
    assert BUCKET_DAYS == (1, 2, 3, 4, 5, 6, 7, 14, 30, 60, 90)
    assert bucket_for(NOW + TTL_MIN_SECONDS, NOW) == 1
    assert bucket_for(NOW + TTL_MAX_SECONDS, NOW) == 90


@pytest.mark.parametrize(
    ("seconds_left", "bucket"),
    [
        (-5, 1),  # already expired (a variant made late): the shortest
        (1, 1),
        (DAY, 1),
        (DAY + 1, 2),
        (7 * DAY, 7),
        (7 * DAY + 1, 14),
        (14 * DAY + 1, 30),
        (30 * DAY + 1, 60),
        (89 * DAY + 1, 90),
    ],
)
def test_days_left_round_up_to_the_next_bucket(seconds_left: int, bucket: int) -> None:
    assert bucket_for(NOW + seconds_left, NOW) == bucket


@pytest.mark.parametrize("seconds_left", range(1, TTL_MAX_SECONDS + 1, 3607 * 37))
def test_the_backstop_never_deletes_early_and_is_late_by_at_most_a_bucket(
    seconds_left: int,
) -> None:
    bucket = bucket_for(NOW + seconds_left, NOW)
    assert bucket is not None
    # S3 deletes at midnight UTC after creation + lifecycle days: at least this late.
    assert lifecycle_days(bucket) * DAY >= seconds_left + DAY
    smaller = [days for days in BUCKET_DAYS if days < bucket]
    assert not smaller or smaller[-1] * DAY < seconds_left  # no smaller bucket would do


def test_no_tag_rather_than_an_early_one_beyond_the_largest_bucket() -> None:
    assert bucket_for(NOW + 91 * DAY, NOW) is None
    assert object_tags(NOW + 91 * DAY, NOW) == {"ephemeral": "true"}


def test_tags_of_ephemeral_and_other_objects() -> None:
    assert object_tags(NOW + 3 * DAY, NOW) == {"ephemeral": "true", "expires-within-days": "3"}
    assert object_tags(None, NOW) == {"ephemeral": "false"}
    assert tagging(object_tags(NOW + 20 * DAY, NOW)) == "ephemeral=true&expires-within-days=30"


def test_the_stream_filter_names_media_items_as_the_models_key_them() -> None:
    keys_filter = expiry_rules.STREAM_FILTER["dynamodb"]["Keys"]
    prefix = keys_filter["pk"]["S"][0]["prefix"]
    assert models.media_pk("abc123def456").startswith(prefix)
    assert not models.tag_partition("t", "x").startswith(prefix)  # gsi1pk, not pk
    assert keys_filter["sk"]["S"] == [models.META]
    assert not models.receipt_pk("abc123def456").startswith(prefix)


def test_every_object_key_of_a_media_item() -> None:
    uid = "abc123def456"
    found = keys.media_object_keys(uid, "png")
    assert found[0] == f"incoming/{uid}"
    assert {f"o/{uid}.png", f"private/o/{uid}.png"} <= set(found)
    assert {f"v/{uid}/xxl.webp", f"private/v/{uid}/s.png"} <= set(found)
    assert len(found) == len(set(found)) == 1 + 2 * (1 + 5 * 2)
    assert keys.media_object_keys(uid, "svg") == [
        f"incoming/{uid}",
        f"o/{uid}.svg",
        f"private/o/{uid}.svg",
    ]
    assert keys.media_object_keys(uid, None) == [f"incoming/{uid}"]
