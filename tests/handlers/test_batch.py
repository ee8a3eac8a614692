"""Batch PATCH and DELETE on /v1/media?ids=."""

from __future__ import annotations

import pytest


@pytest.fixture
def uids(api) -> list[str]:
    return [api.upload("acme", tags="keep,old").json()["id"] for _ in range(3)]


def test_batch_update_answers_with_updated_count_and_media(api, uids) -> None:
    response = api.patch(
        f"/v1/media?ids={','.join(uids)}",
        token="acme",
        json_body={"description": "Batch updated", "tags": "batch,updated", "tag_mode": "replace"},
    )
    assert response.status == 200
    body = response.json()
    assert body["updated"] == 3
    assert [m["id"] for m in body["media"]] == uids
    assert all(m["tags"] == ["batch", "updated"] for m in body["media"])
    assert all(m["description"] == "Batch updated" for m in body["media"])


def test_batch_add_creates_the_union_of_tags(api, uids) -> None:
    body = api.patch(
        f"/v1/media?ids={uids[0]}",
        token="acme",
        json_body={"tags": "new-tag,another-tag,KEEP", "tag_mode": "add"},
    ).json()
    assert body["media"][0]["tags"] == ["keep", "old", "new-tag", "another-tag"]


def test_batch_remove_drops_the_given_tags(api, uids) -> None:
    body = api.patch(
        f"/v1/media?ids={uids[0]}",
        token="acme",
        json_body={"tags": "old,deprecated", "tag_mode": "remove"},
    ).json()
    assert body["media"][0]["tags"] == ["keep"]


def test_batch_tags_may_be_an_array(api, uids) -> None:
    body = api.patch(
        f"/v1/media?ids={uids[0]}", token="acme", json_body={"tags": ["z"], "tag_mode": "add"}
    ).json()
    assert body["media"][0]["tags"] == ["keep", "old", "z"]


def test_batch_add_past_ten_tags_changes_nothing(api, uids) -> None:
    response = api.patch(
        f"/v1/media?ids={','.join(uids)}",
        token="acme",
        json_body={"tags": ",".join(f"t{i}" for i in range(9)), "tag_mode": "add"},
    )
    assert response.status == 400
    assert "tags" in response.json()["errors"]
    assert api.get(f"/v1/media/{uids[0]}", token="acme").json()["tags"] == ["keep", "old"]


def test_batch_update_skips_unknown_ids(api, uids) -> None:
    body = api.patch(
        f"/v1/media?ids={uids[0]},missing1", token="acme", json_body={"name": "n.jpg"}
    ).json()
    assert body["updated"] == 1


def test_bad_tag_mode_is_a_validation_error(api, uids) -> None:
    response = api.patch(
        f"/v1/media?ids={uids[0]}", token="acme", json_body={"tags": "a", "tag_mode": "merge"}
    )
    assert response.status == 400
    assert list(response.json()["errors"]) == ["tag_mode"]


def test_batch_delete_reports_deleted_and_not_found(api, uids) -> None:
    response = api.delete(f"/v1/media?ids={uids[0]},{uids[1]},ghi789", token="acme")
    assert response.status == 200
    assert response.json() == {
        "deleted": 2,
        "not_found": 1,
        "ids": {"deleted": [uids[0], uids[1]], "not_found": ["ghi789"]},
    }
    assert api.get(f"/v1/media/{uids[0]}", token="acme").status == 404
    assert api.get(f"/v1/media/{uids[2]}", token="acme").status == 200


def test_batch_delete_counts_a_repeated_id_once(api, uids) -> None:
    body = api.delete(f"/v1/media?ids={uids[0]},{uids[0]}", token="acme").json()
    assert body["deleted"] == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_batch_without_ids_is_a_validation_error(api, method) -> None:
    response = api.request(method, "/v1/media", token="acme", json_body={})
    assert response.status == 400
    assert response.json()["errors"] == {"ids": ["The ids parameter is required"]}


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_batch_over_one_hundred_ids_is_refused(api, method) -> None:
    ids = ",".join(f"id{i}" for i in range(101))
    response = api.request(method, f"/v1/media?ids={ids}", token="acme", json_body={})
    assert response.status == 400
    assert response.json()["errors"] == {"ids": ["Maximum 100 ids allowed"]}


def test_batch_of_exactly_one_hundred_ids_is_accepted(api, uids) -> None:
    ids = ",".join([*uids, *(f"id{i}" for i in range(97))])
    body = api.delete(f"/v1/media?ids={ids}", token="acme").json()
    assert (body["deleted"], body["not_found"]) == (3, 97)
