"""Monthly quotas per plan (imgpro.quotas) through the real handlers, on moto.

Each test has a team of its own, "tiny", on the free plan unless it says otherwise, and
the domain clock frozen at 2026-12-31 23:59:00 UTC, a minute before a new month.
"""

from __future__ import annotations

import calendar
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from imgpro import config, media, quotas, teams
from imgpro.errors import QuotaExceeded
from imgpro.media.inputs import NewMedia
from imgpro.models import team_pk
from tests.conftest import BUCKET, TABLE
from tests.handlers.test_large_upload import _announce, _land
from tests.support import images, origin

START = calendar.timegm((2026, 12, 31, 23, 59, 0))
DECEMBER = "2026_12"
JPEG = images.jpeg()


@pytest.fixture
def tiny(api, clock):
    """Team "tiny" on the free plan, with a full-access token `api` knows as "tiny"."""
    clock.set(START)
    return _team(api, "tiny", plan="free")


def _team(api, team_id: str, **settings) -> str:
    teams.put_team(team_id, **settings)
    api.tokens[team_id] = teams.issue_token(team_id).sanctum
    return team_id


def _usage(team_id: str = "tiny") -> tuple[int, int]:
    """(images this month, bytes stored), read consistently."""
    now = quotas.standing(team_id, consistent=True)
    return now.images_this_month, now.stored_bytes


def _set_counters(team_id: str = "tiny", *, images: int | None = None, stored: int | None = None):
    """Usage as if the team had uploaded that much: written straight to its item."""
    values = {}
    if images is not None:
        values[quotas.images_attribute(DECEMBER)] = images
    if stored is not None:
        values[quotas.STORED_BYTES] = stored
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": team_pk(team_id)}, "sk": {"S": "META"}},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(values)},
        ExpressionAttributeValues={f":v{i}": {"N": str(v)} for i, v in enumerate(values.values())},
    )


def _keys() -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def _listed(api, team_id: str = "tiny") -> list[str]:
    return [m["id"] for m in api.get("/v1/media?limit=100", token=team_id).json()["data"]]


def _refused(response, limit: str) -> str:
    assert response.status == 403, response
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert body["error"].startswith(limit), body["error"]
    return body["error"]


def _jpeg_size(api) -> int:
    """What an upload of JPEG stores, in bytes: learnt from another team's upload."""
    return api.upload("acme", JPEG).json()["filesize"]


@pytest.fixture
def no_pixel_work(monkeypatch):
    """Fails a test that decodes an image."""
    from imgpro.imaging import pipeline

    def refuse(data: bytes):
        raise AssertionError("the pixel work ran for a team over its quota")

    monkeypatch.setattr(pipeline, "prepare", refuse)


# --- the monthly image count --------------------------------------------------------------


def test_a_team_at_its_monthly_image_limit_cannot_upload(api, tiny, no_pixel_work) -> None:
    _set_counters(images=1000, stored=5000)
    message = _refused(api.upload("tiny", JPEG), "Monthly image quota exceeded")
    assert "1,000 of the 1,000 images a month that the free plan allows in 2026-12" in message
    assert "2027-01-01 00:00 UTC" in message
    assert _usage() == (1000, 5000)
    assert _keys() == []
    assert _listed(api) == []


@pytest.fixture
def remote(monkeypatch):
    from imgpro import importing

    with origin.serving() as server:
        monkeypatch.setenv(config.IMPORT_ALLOW_CIDRS, "127.0.0.0/8")
        monkeypatch.setenv(config.IMPORT_DEADLINE_SECONDS, "2")
        config.settings.cache_clear()
        importing.policy.cache_clear()
        yield server
    config.settings.cache_clear()
    importing.policy.cache_clear()


def _import(api, url: str, token: str = "tiny"):
    return api.post("/v1/import", token=token, json_body={"url": url})


def test_a_team_at_its_monthly_image_limit_cannot_import(api, tiny, remote) -> None:
    _set_counters(images=1000)
    _refused(_import(api, f"{remote.base_url}/photo.jpg"), "Monthly image quota exceeded")
    assert remote.requests == []  # refused before the fetch
    assert _usage() == (1000, 0)
    assert _keys() == []


def test_a_team_at_its_monthly_image_limit_cannot_announce_a_large_upload(api, tiny) -> None:
    _set_counters(images=1000)
    _refused(_announce(api, 5000, token="tiny"), "Monthly image quota exceeded")
    assert _usage() == (1000, 0)
    assert _listed(api) == []


def test_an_import_counts_one_image_and_its_bytes(api, tiny, remote) -> None:
    response = _import(api, f"{remote.base_url}/photo.jpg")
    assert response.status == 201, response
    assert _usage() == (1, response.json()["filesize"])


def test_a_new_month_starts_from_zero(api, tiny, clock) -> None:
    teams.put_team("tiny", max_images_per_month=1)
    assert api.upload("tiny", JPEG).status == 201
    _refused(api.upload("tiny", JPEG), "Monthly image quota exceeded")
    clock.advance(60)  # 2027-01-01 00:00:00 UTC
    assert api.upload("tiny", JPEG).status == 201
    _refused(api.upload("tiny", JPEG), "Monthly image quota exceeded")
    assert quotas.monthly_images("tiny") == {"2026-12": 1, "2027-01": 1}
    assert len(_listed(api)) == 2


# --- storage --------------------------------------------------------------------------------


def test_a_team_at_its_storage_limit_cannot_upload_import_or_announce(
    api, tiny, remote, no_pixel_work
) -> None:
    _set_counters(images=3, stored=10**9)  # the free plan's 1 GB, exactly
    message = _refused(api.upload("tiny", JPEG), "Storage quota exceeded")
    assert "1,000,000,000 of the 1,000,000,000 bytes (1 GB) that the free plan allows" in message
    _refused(_import(api, f"{remote.base_url}/photo.jpg"), "Storage quota exceeded")
    _refused(_announce(api, 1000, token="tiny"), "Storage quota exceeded")
    assert remote.requests == []
    assert _usage() == (3, 10**9)
    assert _keys() == [] and _listed(api) == []


def test_an_image_that_does_not_fit_is_refused_after_the_decode_before_the_put(api, tiny) -> None:
    size = _jpeg_size(api)
    _set_counters(stored=10**9 - size + 1)  # one byte short
    message = _refused(api.upload("tiny", JPEG), "Storage quota exceeded")
    assert f"this image needs {size:,} more" in message
    assert _usage() == (0, 10**9 - size + 1)
    assert [key for key in _keys() if "tiny" in key] == []
    assert len(_keys()) == 1  # acme's


def test_an_image_that_fits_exactly_is_stored(api, tiny) -> None:
    size = _jpeg_size(api)
    _set_counters(stored=10**9 - size)
    assert api.upload("tiny", JPEG).status == 201
    assert _usage() == (1, 10**9)


def test_a_large_upload_declaring_more_than_is_left_is_refused(api, tiny) -> None:
    teams.put_team("tiny", max_storage_bytes=10_000)
    _set_counters(stored=4_000)
    message = _refused(_announce(api, 6_001, token="tiny"), "Storage quota exceeded")
    assert "this image needs 6,001 more" in message
    assert _announce(api, 6_000, token="tiny").status == 201
    assert _usage() == (1, 10_000)


# --- the transaction is the guard -----------------------------------------------------------


def test_the_transaction_refuses_what_a_stale_read_let_through(api, tiny) -> None:
    """Two uploads read the same counters; the second to commit is refused by the
    transaction, and its original, already put in S3, is deleted again."""
    teams.put_team("tiny", max_images_per_month=1)
    stale = quotas.standing("tiny")
    assert api.upload("tiny", JPEG).status == 201
    before = _keys()
    new = NewMedia(
        data=JPEG,
        name="late.jpg",
        ext="jpg",
        content_type="image/jpeg",
        width=64,
        height=48,
        is_public=False,
    )
    with pytest.raises(QuotaExceeded, match="1 of the 1 images a month that an override allows"):
        media.create("tiny", new, standing=stale)
    assert _keys() == before
    assert _usage()[0] == 1 and len(_listed(api)) == 1


def _one_at_a_time(monkeypatch) -> None:
    """moto in-process is not atomic (a transaction deep-copies the table while another
    thread writes it): its calls take turns, as the local stack makes them. Our own code,
    reads, decodes and all, runs concurrently."""
    import botocore.client

    turns = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def one_at_a_time(self, operation, params):
        with turns:
            return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", one_at_a_time)


@pytest.mark.parametrize("limit", ["images", "storage"])
def test_twenty_concurrent_uploads_at_the_edge_store_exactly_what_fits(
    api, tiny, monkeypatch, limit
) -> None:
    size = _jpeg_size(api)
    if limit == "images":
        teams.put_team("tiny", max_images_per_month=5)
    else:
        teams.put_team("tiny", max_storage_bytes=5 * size + size - 1)
    for _ in range(2):
        assert api.upload("tiny", JPEG).status == 201
    _one_at_a_time(monkeypatch)
    start = threading.Barrier(20)

    def upload(_: int):
        start.wait(10)
        return api.upload("tiny", JPEG)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(upload, range(20)))
    assert Counter(r.status for r in responses) == {201: 3, 403: 17}
    assert {r.json()["code"] for r in responses if r.status == 403} == {"quota_exceeded"}
    stored = _listed(api)
    assert len(stored) == 5
    assert _usage() == (5, 5 * size)
    tiny_keys = [key for key in _keys() if any(uid in key for uid in stored)]
    assert len(tiny_keys) == 5 and len(_keys()) == 6  # and acme's one


# --- nothing is consumed by a failure -------------------------------------------------------


def test_a_bad_image_or_a_failed_import_consumes_nothing(api, tiny, remote) -> None:
    assert api.upload("tiny", b"not an image").status == 400
    assert _import(api, f"{remote.base_url}/missing").status == 502
    assert _import(api, f"{remote.base_url}/text").status == 400
    assert _usage() == (0, 0)
    assert _keys() == []


def test_a_retry_with_the_same_idempotency_key_replays_rather_than_refuses(api, tiny) -> None:
    teams.put_team("tiny", max_images_per_month=1)
    first = api.upload("tiny", JPEG, headers={"Idempotency-Key": "once"})
    again = api.upload("tiny", JPEG, headers={"Idempotency-Key": "once"})
    assert first.status == again.status == 201
    assert again.json()["id"] == first.json()["id"]
    assert _usage()[0] == 1


# --- deletes --------------------------------------------------------------------------------


def test_deleting_gives_back_the_bytes_but_not_the_months_images(api, tiny) -> None:
    uids = [api.upload("tiny", JPEG).json() for _ in range(4)]
    size = uids[0]["filesize"]
    assert _usage() == (4, 4 * size)
    assert api.delete(f"/v1/media/{uids[0]['id']}", token="tiny").status == 204
    assert _usage() == (4, 3 * size)
    ids = ",".join(m["id"] for m in uids[1:3])
    assert api.delete(f"/v1/media?ids={ids}", token="tiny").json()["deleted"] == 2
    assert _usage() == (4, size)


def test_a_delete_never_takes_the_counter_below_zero(api, tiny) -> None:
    """Media stored before quotas existed: the counter holds less than the item."""
    uid = api.upload("tiny", JPEG).json()["id"]
    _set_counters(stored=10)
    assert api.delete(f"/v1/media/{uid}", token="tiny").status == 204
    assert _usage() == (1, 0)


def test_deleting_another_teams_media_releases_nothing(api, tiny) -> None:
    uid = api.upload("tiny", JPEG).json()["id"]
    before = _usage()
    assert api.delete(f"/v1/media/{uid}", token="acme").status == 404
    assert _usage() == before


# --- large uploads: reserve, settle, release ------------------------------------------------


def test_a_large_upload_reserves_its_declared_size_and_settles_to_the_stored_size(
    api, tiny
) -> None:
    data = images.png()
    uid = _announce(api, 50_000, token="tiny").json()["id"]
    assert _usage() == (1, 50_000)
    _land(uid, data)
    stored = api.get(f"/v1/media/{uid}", token="tiny").json()["filesize"]
    assert stored < 50_000
    assert _usage() == (1, stored)


def test_a_stored_image_larger_than_declared_settles_up(api, tiny) -> None:
    pending = media.create_pending(
        "tiny", media.PendingMedia(name="big", declared_size=100, is_public=False)
    )
    assert _usage() == (1, 100)
    data = images.png()
    assert len(data) > 100
    media.finish_pending(
        pending.uid,
        media.StoredImage(
            data=data, name="big.png", ext="png", content_type="image/png", width=64, height=48
        ),
    )
    assert _usage() == (1, len(data))


def test_a_failed_large_upload_releases_its_reservation(api, tiny) -> None:
    uid = _announce(api, 5000, token="tiny").json()["id"]
    _land(uid, b"this is not an image at all")
    assert api.get(f"/v1/media/{uid}", token="tiny").json()["status"] == "failed"
    assert _usage() == (0, 0)
    assert api.delete(f"/v1/media/{uid}", token="tiny").status == 204  # nothing more to give
    assert _usage() == (0, 0)


def test_deleting_a_pending_upload_releases_its_reservation(api, tiny) -> None:
    uid = _announce(api, 5000, token="tiny").json()["id"]
    assert api.delete(f"/v1/media/{uid}", token="tiny").status == 204
    assert _usage() == (0, 0)


def test_a_reservation_made_last_month_is_released_from_last_month(api, tiny, clock) -> None:
    uid = _announce(api, 5000, token="tiny").json()["id"]
    clock.advance(120)  # January
    _land(uid, b"not an image")
    assert quotas.monthly_images("tiny") == {"2026-12": 0}
    assert _usage() == (0, 0)


# --- the limits: plans and overrides --------------------------------------------------------


def test_an_override_beats_the_plan_both_ways(api, tiny) -> None:
    _team(api, "bigco", plan="business", max_images_per_month=1)
    assert api.upload("bigco", JPEG).status == 201
    _refused(api.upload("bigco", JPEG), "Monthly image quota exceeded")

    teams.put_team("tiny", plan="free", max_storage_bytes=2 * 10**9)
    _set_counters(images=999, stored=10**9)
    assert api.upload("tiny", JPEG).status == 201  # past the free plan's 1 GB
    _refused(api.upload("tiny", JPEG), "Monthly image quota exceeded")  # its 1,000 images


def test_putting_the_team_again_keeps_its_usage(api, tiny) -> None:
    api.upload("tiny", JPEG)
    before = _usage()
    teams.put_team("tiny", plan="launch", public_default=True)
    assert _usage() == before
    assert quotas.standing("tiny").limits == quotas.PLAN_LIMITS["launch"]


def test_each_plan_has_the_seeds_limits(api, clock) -> None:
    clock.set(START)
    for plan, images_a_month, storage in (
        ("free", 1_000, 10**9),
        ("launch", 10_000, 10 * 10**9),
        ("growth", 100_000, 100 * 10**9),
        ("business", 1_000_000, 10**12),
    ):
        _team(api, f"on-{plan}", plan=plan)
        limits = quotas.standing(f"on-{plan}").limits
        assert (limits.images_per_month, limits.storage_bytes) == (images_a_month, storage)
        _set_counters(f"on-{plan}", images=images_a_month - 1)
        assert api.upload(f"on-{plan}", JPEG).status == 201
        _refused(api.upload(f"on-{plan}", JPEG), "Monthly image quota exceeded")


def test_a_team_without_an_item_is_a_free_team(api, clock) -> None:
    clock.set(START)
    api.tokens["ghost"] = teams.issue_token("ghost").sanctum
    assert api.upload("ghost", JPEG).status == 201
    standing = quotas.standing("ghost")
    assert (standing.plan, standing.images_this_month) == ("free", 1)
    assert teams.get_team("ghost").plan == "free"


# --- release_storage (for the TTL worker) ---------------------------------------------------


def test_release_storage_subtracts_and_floors_at_zero(api, tiny) -> None:
    _set_counters(stored=1000)
    quotas.release_storage("tiny", 300)
    assert _usage()[1] == 700
    quotas.release_storage("tiny", 5000)
    assert _usage()[1] == 0
    quotas.release_storage("nobody", 5000)  # no team, no counter: nothing to do
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": team_pk("nobody")}, "sk": {"S": "META"}}
    )


def _transactions_answer(monkeypatch, *answers: str) -> list[str]:
    """The next TransactWriteItems calls fail as DynamoDB cancels them, one per answer:
    "conflict" (another transaction held an item), or "refused-silently" (the team's
    condition failed, and the emulator did not say how the item stood). Returns the
    operations seen."""
    import botocore.client
    from botocore.exceptions import ClientError

    pending = list(answers)
    seen: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def cancelling(self, operation, params):
        seen.append(operation)
        if operation != "TransactWriteItems" or not pending:
            return original(self, operation, params)
        answer = pending.pop(0)
        items = params["TransactItems"]
        if answer == "conflict":
            reasons = [{"Code": "None"}] * (len(items) - 1) + [{"Code": "TransactionConflict"}]
        else:
            try:
                original(self, operation, params)
            except ClientError as error:
                reasons = error.response["CancellationReasons"]
                reasons[-1].pop("Item", None)
            else:
                raise AssertionError("the transaction was expected to be refused")
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            },
            operation,
        )

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", cancelling)
    return seen


def test_a_transaction_that_conflicts_on_the_team_item_is_tried_again(
    api, tiny, monkeypatch
) -> None:
    waits: list[int] = []
    monkeypatch.setattr(quotas, "backoff", waits.append)
    seen = _transactions_answer(monkeypatch, "conflict", "conflict")
    assert api.upload("tiny", JPEG).status == 201
    assert seen.count("TransactWriteItems") == 3
    assert waits == [0, 1]
    assert _usage()[0] == 1 and len(_listed(api)) == 1


def test_a_refusal_that_does_not_say_how_the_team_stood_is_read_again(
    api, tiny, monkeypatch
) -> None:
    teams.put_team("tiny", max_images_per_month=1)
    stale = quotas.standing("tiny")
    assert api.upload("tiny", JPEG).status == 201
    _transactions_answer(monkeypatch, "refused-silently")
    new = NewMedia(
        data=JPEG,
        name="late.jpg",
        ext="jpg",
        content_type="image/jpeg",
        width=64,
        height=48,
        is_public=False,
    )
    with pytest.raises(QuotaExceeded, match="1 of the 1 images"):
        media.create("tiny", new, standing=stale)
    assert _usage()[0] == 1
