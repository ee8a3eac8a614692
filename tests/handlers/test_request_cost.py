"""What a batch request costs in AWS calls (issue 22): S3 calls of a batch visibility change
and of a batch delete of 100 ids, their one CDN invalidation, and the read units of the
worst `tag_mode=all` listing.

S3 calls are counted by botocore's `before-call` event on the functions' own client; read
units are what DynamoDB (here moto) reports in each answer's `ConsumedCapacity`, read by
the `after-call` event. Moto's units are coarse (a Query is 1 unit whatever it reads, a
batch read 1 unit per key), so the counts pin the plan, not AWS's bill.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from imgpro import keys
from tests.conftest import BUCKET
from tests.handlers.conftest import InvalidationQueue
from tests.support import images

N = 100


@pytest.fixture
def s3_calls(aws: None) -> Iterator[Counter[str]]:
    """Every call the functions' S3 client makes, by operation."""
    from imgpro.clients import s3

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = s3().meta.events
    events.register("before-call.s3", count, unique_id="test-request-cost")
    yield calls
    events.unregister("before-call.s3", unique_id="test-request-cost")


@pytest.fixture
def read_units(aws: None) -> Iterator[Counter[str]]:
    """Read units DynamoDB reports, by operation (and the calls, under `calls:<op>`)."""
    from imgpro.models import MediaItem

    units: Counter[str] = Counter()

    def count(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        units[f"calls:{model.name}"] += 1
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            units[model.name] += entry.get("CapacityUnits", 0)

    client = MediaItem._get_connection().connection.client
    client.meta.events.register("after-call.dynamodb", count, unique_id="test-read-units")
    yield units
    client.meta.events.unregister("after-call.dynamodb", unique_id="test-read-units")


def _with_two_variants(uids: list[str], *, private: bool) -> None:
    """Give each media two variants as the resize function leaves them: the objects, then
    their record."""
    from imgpro import media, storage

    for uid in uids:
        for size in ("s", "m"):
            key = keys.variant_key(uid, size, "webp", private=private)
            storage.put_variant(key, b"RIFF....WEBP", content_type="image/webp", private=private)
            media.record_variant(uid, media.SizeVariant(size, 32, 24, 12, "webp"))


def _stored() -> set[str]:
    found: set[str] = set()
    for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        found |= {obj["Key"] for obj in page.get("Contents", [])}
    return found


@pytest.fixture
def hundred(api) -> list[str]:
    """100 public JPEGs, each with two recorded variants: 300 objects."""
    data = images.jpeg((64, 48))
    uids = [api.upload("acme", data, public="1").json()["id"] for _ in range(N)]
    _with_two_variants(uids, private=False)
    return uids


def test_a_batch_visibility_change_of_100_touches_only_the_recorded_objects(
    api, hundred: list[str], s3_calls: Counter[str], invalidation_queue: InvalidationQueue
) -> None:
    s3_calls.clear()
    ids = ",".join(hundred)
    response = api.patch(f"/v1/media?ids={ids}", token="acme", json_body={"public": 0})
    assert response.status == 200 and response.json()["updated"] == N

    # One copy per object the records list (original + 2 variants), no HeadObject and no
    # listing; the side left is cleared by key: 11 possible keys per JPEG, 1,000 a call.
    assert dict(s3_calls) == {
        "CopyObject": 3 * N,
        "DeleteObjects": math.ceil(N * 11 / 1000),
    }
    assert _stored() == {
        key
        for uid in hundred
        for key in (
            keys.original_key(uid, "jpg", private=True),
            keys.variant_key(uid, "s", "webp", private=True),
            keys.variant_key(uid, "m", "webp", private=True),
        )
    }
    (message,) = invalidation_queue.take()  # one request, one invalidation
    assert message.json["reason"] == "visibility"
    assert sorted(message.json["media"]) == sorted(hundred)


def test_a_batch_delete_of_100_lists_nothing(
    api, hundred: list[str], s3_calls: Counter[str], invalidation_queue: InvalidationQueue
) -> None:
    s3_calls.clear()
    body = api.delete(f"/v1/media?ids={','.join(hundred)}", token="acme").json()
    assert body["deleted"] == N

    # Every key a JPEG can have (upload, original and 10 variants on each side: 23), by key.
    assert dict(s3_calls) == {"DeleteObjects": math.ceil(N * 23 / 1000)}
    assert _stored() == set()
    (message,) = invalidation_queue.take()
    assert message.json["reason"] == "delete"


def test_a_variant_the_record_lists_but_s3_lost_does_not_fail_the_move(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    _with_two_variants([uid], private=False)
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=keys.variant_key(uid, "s", "webp"))
    response = api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False})
    assert response.status == 200
    assert _stored() == {
        keys.original_key(uid, "jpg", private=True),
        keys.variant_key(uid, "m", "webp", private=True),
    }


def test_an_unrecorded_variant_does_not_stay_on_the_public_side(api) -> None:
    # Made in the second format (the record keeps one per size), or written by the resize
    # function after our read of the record: not copied, but not left public either.
    from imgpro import storage

    uid = api.upload("acme", public="1").json()["id"]
    _with_two_variants([uid], private=False)
    stray = keys.variant_key(uid, "s", "jpg")
    storage.put_variant(stray, b"\xff\xd8", content_type="image/jpeg", private=False)
    assert api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False}).status == 200
    assert not any(not keys.is_private(key) for key in _stored())


def test_a_move_back_and_forth_keeps_the_recorded_variants(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    _with_two_variants([uid], private=False)
    for public in (False, True):
        response = api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": public})
        assert response.status == 200
    assert _stored() == {
        keys.original_key(uid, "jpg"),
        keys.variant_key(uid, "s", "webp"),
        keys.variant_key(uid, "m", "webp"),
    }
    assert list(api.get(f"/v1/media/{uid}", token="acme").json()["sizes"]) == ["s", "m"]


# --- tag_mode=all --------------------------------------------------------------------


def _tagged(team_id: str, tag_sets: list[tuple[str, ...]]) -> list[str]:
    """Media records with these tags and their links, written straight to the table (a
    thousand uploads would take minutes); newest last."""
    from imgpro import clock
    from imgpro.media import records, store
    from imgpro.models import MediaItem, media_pk, sort_key, team_pk

    start = clock.now_ms() - len(tag_sets)
    uids: list[str] = []
    with MediaItem.batch_write() as batch:
        for n, tags in enumerate(tag_sets):
            uid, created = records.new_uid(), start + n
            item = MediaItem(
                media_pk(uid),
                gsi1pk=team_pk(team_id),
                gsi1sk=sort_key(created, uid),
                uid=uid,
                team_id=team_id,
                name=f"{uid}.jpg",
                status=records.READY,
                is_public=False,
                object_key=keys.original_key(uid, "jpg", private=True),
                ext="jpg",
                content_type="image/jpeg",
                width=64,
                height=48,
                filesize=1000,
                tags=list(tags),
                created_ms=created,
                updated_ms=created,
            )
            batch.save(item)
            for tag in tags:
                batch.save(store.tag_link(item, tag))
            uids.append(uid)
    return uids


TEN = [f"t{n}" for n in range(10)]


def test_tag_mode_all_over_ten_tags_with_no_match_reads_little(
    api, read_units: Counter[str]
) -> None:
    from imgpro.media import listing

    # 1,100 links: a common first tag on 1,000 media; the other nine on 100 more, each of
    # those missing the common one. The old plan read the 1,000 items behind the first
    # tag's links (40 BatchGetItem, 5 Query).
    _tagged("acme", [("t0",)] * 1000 + [(TEN[1 + n % 9],) for n in range(100)])
    read_units.clear()
    body = api.get(f"/v1/media?tags={','.join(TEN)}&tag_mode=all", token="acme").json()
    assert body["data"] == [] and body["has_more"] is False

    assert read_units["calls:BatchGetItem"] == 0  # no item read for a link that cannot match
    assert read_units["calls:Query"] == len(TEN)  # one page of each tag: the rarest decides
    assert read_units["Query"] <= listing.TAG_SEARCH_READ_UNITS


def test_tag_mode_all_stays_within_its_read_units_and_resumes_by_cursor(
    api, read_units: Counter[str], monkeypatch
) -> None:
    from imgpro.media import listing

    # Two common tags that interleave and rarely meet: every third medium has both.
    monkeypatch.setattr(listing, "LINKS_PER_PAGE", 10)
    monkeypatch.setattr(listing, "TAG_SEARCH_READ_UNITS", 5.0)
    tag_sets = [("a", "b") if n % 30 == 0 else (("a",) if n % 2 else ("b",)) for n in range(300)]
    uids = _tagged("acme", tag_sets)
    expected = [uid for uid, tags in zip(uids, tag_sets, strict=True) if len(tags) == 2][::-1]

    seen: list[str] = []
    url = "/v1/media?tags=a,b&tag_mode=all&limit=100"
    pages = 0
    cursor: str | None = None
    while True:
        read_units.clear()
        page = api.get(url + (f"&cursor={cursor}" if cursor else ""), token="acme").json()
        pages += 1
        # The budget, plus at most one more page of each tag, plus the items shown.
        assert read_units["Query"] <= listing.TAG_SEARCH_READ_UNITS + 2
        seen += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == expected
    assert pages > 1  # the budget cut pages short: each said so and gave a cursor


# --- the race with the resize function ----------------------------------------------------


def _render_after(api, change) -> tuple[Any, str]:
    """A variant rendered from the record as it was before `change(uid)` ran, and written
    after it: the resize function read the record, then the media moved or went."""
    from imgpro import delivery, media, storage

    uid = api.upload("acme", images.jpeg((640, 480)), public="1").json()["id"]
    found = media.find_live(uid)
    assert found is not None and found.object_key is not None
    original = storage.get_object(found.object_key)
    assert original is not None
    change(uid)
    return delivery._make_variant(found, original.body, "s", "webp", private=False), uid


def test_a_variant_rendered_while_its_media_went_private_is_not_left_public(api) -> None:
    def make_private(uid: str) -> None:
        api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False})

    answer, uid = _render_after(api, make_private)
    assert answer.status == 404
    assert not any(not keys.is_private(key) for key in _stored())
    assert "sizes" not in api.get(f"/v1/media/{uid}", token="acme").json()


def test_a_variant_rendered_while_its_media_was_deleted_is_deleted_too(api) -> None:
    def delete(uid: str) -> None:
        assert api.delete(f"/v1/media/{uid}", token="acme").status == 204

    answer, _ = _render_after(api, delete)
    assert answer.status == 404
    assert _stored() == set()


def test_a_condition_that_fails_records_nothing(api) -> None:
    from imgpro.media import store
    from imgpro.models import META, MediaItem, media_pk

    uid = api.upload("acme", public="1").json()["id"]
    item = MediaItem(media_pk(uid), META)
    applied = store.set_if_present(
        item,
        [MediaItem.name.set("x.jpg")],
        condition=MediaItem.is_public == False,  # noqa: E712
    )
    assert applied is False
    assert api.get(f"/v1/media/{uid}", token="acme").json()["name"] != "x.jpg"
    gone = MediaItem(media_pk("zzzzzzzzzzzz"), META)
    assert store.set_if_present(gone, [MediaItem.name.set("x.jpg")]) is False


def test_a_move_cut_short_before_the_record_changed_loses_nothing_on_the_way_back(
    api, monkeypatch
) -> None:
    # The objects moved, the record still names the old original: moving back copies
    # from the side the objects are on, never deletes the only copy.
    from imgpro.media import store

    uid = api.upload("acme", public="1").json()["id"]
    set_if_present = store.set_if_present

    def fail(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(store, "set_if_present", fail)
    with pytest.raises(RuntimeError):
        api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False})
    monkeypatch.setattr(store, "set_if_present", set_if_present)
    assert _stored() == {keys.original_key(uid, "jpg", private=True)}

    assert api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": True}).status == 200
    assert _stored() == {keys.original_key(uid, "jpg")}
