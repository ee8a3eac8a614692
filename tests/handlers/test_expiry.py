"""Ephemeral media: hidden once expired, and gone for good once DynamoDB's TTL deletes it.

The expiry worker (`functions/expire_media`) is driven with stream records built here
exactly as DynamoDB Streams hands Lambda a TTL delete; storage is moto, time the
`clock` fixture, and `imgpro.cdn.invalidate` is counted.
"""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.conftest import BUCKET, CDN, TABLE
from tests.support import images
from tests.support.gateway import FakeContext, handler_module

NOW = 1_800_000_000
WEBP = {"accept": "image/avif,image/webp,*/*"}
NO_WEBP = {"accept": "image/png,image/*;q=0.8"}
STORED_BEFORE = 10_000_000
"""The acme team's stored bytes before a test uploads (set: older media)."""


def ttl_removal(old_image: dict[str, Any], sequence_number: str) -> dict[str, Any]:
    """A stream record of a TTL delete, as Lambda receives it (view type OLD_IMAGE)."""
    return {
        "eventID": f"e{sequence_number[-8:]}c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW + 3600,
            "Keys": {"pk": old_image["pk"], "sk": old_image["sk"]},
            "OldImage": old_image,
            "SequenceNumber": sequence_number,
            "SizeBytes": 731,
            "StreamViewType": "OLD_IMAGE",
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "eventSourceARN": (
            f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/2026-12-01T00:00:00.000"
        ),
    }


def user_removal(old_image: dict[str, Any], sequence_number: str) -> dict[str, Any]:
    """A REMOVE by a DeleteItem call: DynamoDB Streams sets no userIdentity for those."""
    record = ttl_removal(old_image, sequence_number)
    del record["userIdentity"]
    return record


def expire(*records: dict[str, Any]) -> dict[str, Any]:
    return handler_module("expire_media").handler({"Records": list(records)}, FakeContext())


def ttl_deletes(uid: str) -> dict[str, Any]:
    """Delete the media item as DynamoDB's TTL does (tag links included); its old image."""
    client = boto3.client("dynamodb")
    key = {"pk": {"S": f"MEDIA#{uid}"}}
    items = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": key["pk"]},
    )["Items"]
    old_image = next(item for item in items if item["sk"] == {"S": "META"})
    for item in items:
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    return old_image


def objects_of(uid: str) -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {obj["Key"] for obj in listed if uid in obj["Key"]}


def stored_bytes(team: str = "acme") -> int:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"TEAM#{team}"}, "sk": {"S": "META"}}
    )["Item"]
    return int(item["stored_bytes"]["N"])


def tags_of(key: str) -> dict[str, str]:
    tag_set = boto3.client("s3").get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def fetch(url: str, headers: dict[str, str]):
    from urllib.parse import parse_qsl, urlsplit

    from imgpro.delivery import deliver

    parts = urlsplit(url)
    return deliver(parts.path[len(urlsplit(CDN).path) :], dict(parse_qsl(parts.query)), headers)


@pytest.fixture
def invalidated(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    from imgpro import cdn

    calls: list[list[str]] = []

    def queue(media, *, reason: str) -> bool:
        calls.append([item.uid for item in media])
        return True

    monkeypatch.setattr(cdn, "invalidate", queue)
    return calls


@pytest.fixture
def usage(tokens) -> None:
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "TEAM#acme"}, "sk": {"S": "META"}},
        UpdateExpression="SET stored_bytes = :n",
        ExpressionAttributeValues={":n": {"N": str(STORED_BEFORE)}},
    )


@pytest.fixture
def ephemeral(api, clock, usage) -> dict[str, Any]:
    """Public media with a 5-minute TTL, with variants in both formats at two sizes, and
    the copies a visibility move cut short would leave on the private side."""
    clock.set(NOW)
    data = images.encode(images.noise((900, 600)), "JPEG")
    media = api.upload("acme", data, public="1", ttl="5m", tags="a,b").json()
    for size in ("s", "m"):
        for accept in (WEBP, NO_WEBP):
            assert fetch(f"{media['src']}?size={size}", accept).status == 200
    s3 = boto3.client("s3")
    uid = media["id"]
    for stray in (f"private/o/{uid}.jpg", f"private/v/{uid}/l.webp"):
        s3.put_object(Bucket=BUCKET, Key=stray, Body=b"left by a move cut short")
    assert objects_of(uid) == {
        f"o/{uid}.jpg",
        *(f"v/{uid}/{size}.{fmt}" for size in ("s", "m") for fmt in ("webp", "jpg")),
        f"private/o/{uid}.jpg",
        f"private/v/{uid}/l.webp",
    }
    return media


# --- reads hide expired media at once -----------------------------------------------------


def test_expired_media_is_gone_from_every_read_before_ttl_deletes_it(api, ephemeral, clock):
    uid = ephemeral["id"]
    clock.set(ephemeral["expires_at"])
    assert api.get(f"/v1/media/{uid}", token="acme").status == 404
    assert api.get(f"/{uid}").status == 404
    assert uid not in {m["id"] for m in api.get("/v1/media", token="acme").json()["data"]}
    assert api.get("/v1/media?tag=a", token="acme").json()["data"] == []
    assert api.patch(f"/v1/media/{uid}", token="acme", json_body={"name": "x"}).status == 404
    assert api.delete(f"/v1/media/{uid}", token="acme").status == 404
    assert fetch(f"{ephemeral['src']}?size=l", WEBP).status == 404  # no new variant


# --- the worker ---------------------------------------------------------------------------


def test_a_ttl_removal_deletes_every_object_invalidates_and_releases_the_bytes(
    ephemeral, clock, invalidated
) -> None:
    uid = ephemeral["id"]
    clock.set(ephemeral["expires_at"] + 3600)
    record = ttl_removal(ttl_deletes(uid), "111000000000000000001")
    before = stored_bytes()
    assert expire(record) == {"batchItemFailures": []}
    assert objects_of(uid) == set()
    assert invalidated == [[uid]]
    assert stored_bytes() == before - ephemeral["filesize"]


def test_a_repeated_record_finds_nothing_left_and_releases_nothing_twice(
    ephemeral, invalidated
) -> None:
    uid = ephemeral["id"]
    record = ttl_removal(ttl_deletes(uid), "111000000000000000002")
    before = stored_bytes()
    assert expire(record) == {"batchItemFailures": []}
    assert expire(copy.deepcopy(record)) == {"batchItemFailures": []}
    assert objects_of(uid) == set()
    assert stored_bytes() == before - ephemeral["filesize"]
    assert invalidated == [[uid], [uid]]  # invalidating again is harmless


def test_a_user_initiated_remove_does_nothing(ephemeral, invalidated) -> None:
    uid = ephemeral["id"]
    objects, stored = objects_of(uid), stored_bytes()
    assert expire(user_removal(ttl_deletes(uid), "111000000000000000003")) == {
        "batchItemFailures": []
    }
    assert objects_of(uid) == objects
    assert invalidated == []
    assert stored_bytes() == stored


def test_other_items_removed_by_ttl_are_ignored(ephemeral, invalidated) -> None:
    uid = ephemeral["id"]
    tag_link = {
        "pk": {"S": f"MEDIA#{uid}"},
        "sk": {"S": "TAG#a"},
        "gsi1pk": {"S": "TEAM#acme#TAG#a"},
        "gsi1sk": {"S": f"{NOW * 1000:013d}#{uid}"},
        "uid": {"S": uid},
        "expires_at": {"N": str(ephemeral["expires_at"])},
    }
    rate_window = {
        "pk": {"S": "RATE#1#2026-12-01T10"},
        "sk": {"S": "META"},
        "total": {"N": "3"},
        "expires_at": {"N": str(NOW)},
    }
    stored = stored_bytes()
    response = expire(
        ttl_removal(tag_link, "111000000000000000004"),
        ttl_removal(rate_window, "111000000000000000005"),
    )
    assert response == {"batchItemFailures": []}
    assert len(objects_of(uid)) == 7
    assert invalidated == []
    assert stored_bytes() == stored


def test_a_failing_record_is_reported_alone_and_succeeds_when_retried(
    api, ephemeral, invalidated, monkeypatch
) -> None:
    from imgpro import storage

    other = api.upload("acme", public="1", ttl="5m").json()
    first = ttl_removal(ttl_deletes(ephemeral["id"]), "111000000000000000006")
    failing = ttl_removal(ttl_deletes(other["id"]), "111000000000000000007")
    before = stored_bytes()
    delete_objects = storage.delete_objects

    def refuse_the_other(keys) -> None:
        keys = list(keys)
        if any(other["id"] in key for key in keys):
            raise RuntimeError("S3 refused to delete")
        delete_objects(keys)

    monkeypatch.setattr(storage, "delete_objects", refuse_the_other)
    assert expire(first, failing) == {
        "batchItemFailures": [{"itemIdentifier": "111000000000000000007"}]
    }
    assert objects_of(ephemeral["id"]) == set()
    assert objects_of(other["id"]) == {f"o/{other['id']}.jpg"}
    assert stored_bytes() == before - ephemeral["filesize"]

    monkeypatch.setattr(storage, "delete_objects", delete_objects)
    assert expire(failing) == {"batchItemFailures": []}
    assert objects_of(other["id"]) == set()
    assert stored_bytes() == before - ephemeral["filesize"] - other["filesize"]
    assert invalidated == [[ephemeral["id"]], [other["id"]]]


def test_a_failed_release_is_retried_and_then_made_once(ephemeral, monkeypatch) -> None:
    from imgpro import quotas

    release = quotas.release_storage
    calls: list[int] = []

    def fail_once(team_id: str, nbytes: int) -> None:
        calls.append(nbytes)
        if len(calls) == 1:
            raise RuntimeError("throttled")
        release(team_id, nbytes)

    monkeypatch.setattr(quotas, "release_storage", fail_once)
    record = ttl_removal(ttl_deletes(ephemeral["id"]), "111000000000000000008")
    before = stored_bytes()
    # A batch that fails whole is a function error (the errors alarm's metric).
    with pytest.raises(BatchProcessingError, match="All records failed"):
        expire(record)
    assert stored_bytes() == before
    assert expire(record) == {"batchItemFailures": []}
    assert expire(record) == {"batchItemFailures": []}
    assert stored_bytes() == before - ephemeral["filesize"]
    assert calls == [ephemeral["filesize"]] * 2


def test_an_expired_large_upload_never_sent_gives_back_its_reservation(
    api, clock, usage, invalidated, monkeypatch
) -> None:
    from imgpro import quotas

    released: list[tuple[str, int]] = []
    monkeypatch.setattr(quotas, "release_storage", lambda team, n: released.append((team, n)))
    clock.set(NOW)
    announced = api.post(
        "/v1/upload/direct",
        token="acme",
        json_body={"name": "big.png", "filesize": 5_000_000, "ttl": "5m"},
    ).json()
    assert announced["status"] == "processing"
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key=f"incoming/{announced['id']}", Body=b"never processed"
    )
    expire(ttl_removal(ttl_deletes(announced["id"]), "111000000000000000009"))
    assert objects_of(announced["id"]) == set()
    assert released == [("acme", 5_000_000)]


# --- tags for the lifecycle backstop --------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "bucket"),
    [
        ("5m", "1"),
        ("1d", "1"),
        ("25h", "2"),
        ("7d", "7"),
        ("8d", "14"),
        ("31d", "60"),
        ("90d", "90"),
    ],
)
def test_originals_of_ephemeral_media_are_tagged_with_their_bucket_of_days(
    api, tokens, ttl, bucket
) -> None:
    media = api.upload("acme", ttl=ttl).json()
    assert tags_of(f"private/o/{media['id']}.jpg") == {
        "ephemeral": "true",
        "expires-within-days": bucket,
    }


def test_other_originals_carry_no_expiry_tag(api, tokens) -> None:
    media = api.upload("acme").json()
    assert tags_of(f"private/o/{media['id']}.jpg") == {"ephemeral": "false"}


def test_variants_are_tagged_by_the_days_left_when_they_are_made(api, clock, tokens) -> None:
    clock.set(NOW)
    media = api.upload("acme", images.jpeg(), public="1", ttl="8d").json()
    plain = api.upload("acme", images.jpeg(), public="1").json()
    clock.advance(3 * 86_400 + 1)  # 5 days less a second left
    assert fetch(f"{media['src']}?size=s", WEBP).status == 200
    assert fetch(f"{plain['src']}?size=s", WEBP).status == 200
    assert tags_of(f"v/{media['id']}/s.webp") == {"ephemeral": "true", "expires-within-days": "5"}
    assert tags_of(f"v/{plain['id']}/s.webp") == {}


def test_a_visibility_move_tags_the_copies_by_the_days_left(api, clock, tokens) -> None:
    clock.set(NOW)
    media = api.upload("acme", images.jpeg(), ttl="10d").json()
    assert tags_of(f"private/o/{media['id']}.jpg")["expires-within-days"] == "14"
    clock.advance(6 * 86_400)
    api.patch(f"/v1/media/{media['id']}", token="acme", json_body={"public": True})
    assert tags_of(f"o/{media['id']}.jpg")["expires-within-days"] == "4"


# --- the local stack's TTL emulation, with the real worker ---------------------------------


def test_the_ttl_emulator_and_the_worker_make_expired_media_disappear(
    ephemeral, clock, invalidated
) -> None:
    from imgpro.local.ttl import TtlEmulator

    uid = ephemeral["id"]
    emulator = TtlEmulator(
        table=TABLE,
        invoke=lambda event: expire(*event["Records"]),
        client=boto3.client("dynamodb"),
    )
    before = stored_bytes()
    assert emulator.tick() == 0
    assert len(objects_of(uid)) == 7
    clock.set(ephemeral["expires_at"])
    assert emulator.tick() == 1
    assert objects_of(uid) == set()
    assert invalidated == [[uid]]
    assert stored_bytes() == before - ephemeral["filesize"]
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MEDIA#{uid}"}},
    )["Items"]
    assert items == []  # tag links went with it


# --- the CDN: the same queue as the API's -------------------------------------------------


def test_the_worker_queues_the_invalidation_as_a_delete_does(
    ephemeral, clock, invalidation_queue
) -> None:
    from imgpro import keys

    uid = ephemeral["id"]
    clock.set(ephemeral["expires_at"] + 3600)
    assert expire(ttl_removal(ttl_deletes(uid), "111000000000000000021")) == {
        "batchItemFailures": []
    }
    (message,) = invalidation_queue.take()
    assert message.json["reason"] == "expiry"
    assert message.json["media"] == [uid]
    assert message.json["paths"] == keys.cdn_paths(uid, "jpg", private=False)


def test_expired_private_media_queues_nothing(api, clock, usage, invalidation_queue) -> None:
    clock.set(NOW)
    secret = api.upload("acme", public="0", ttl="5m").json()
    assert expire(ttl_removal(ttl_deletes(secret["id"]), "111000000000000000022")) == {
        "batchItemFailures": []
    }
    assert invalidation_queue.take() == []


def test_an_invalidation_the_queue_refused_fails_the_record_which_is_retried(
    ephemeral, clock, invalidation_queue, monkeypatch
) -> None:
    # The worker, unlike the API, can wait: its record is retried whole (each step is
    # safe to repeat), so the invalidation is queued once SQS answers again.
    from imgpro import cdn

    uid = ephemeral["id"]
    record = ttl_removal(ttl_deletes(uid), "111000000000000000023")
    working = cdn._sqs

    class Unreachable:
        def send_message(self, **kwargs: Any) -> None:
            raise RuntimeError("SQS cannot be reached")

    monkeypatch.setattr(cdn, "_sqs", Unreachable)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        expire(record)
    assert objects_of(uid) == set()
    monkeypatch.setattr(cdn, "_sqs", working)
    assert expire(copy.deepcopy(record)) == {"batchItemFailures": []}
    (message,) = invalidation_queue.take()
    assert message.json["media"] == [uid]
