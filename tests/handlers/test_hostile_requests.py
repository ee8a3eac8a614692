"""Odd and hostile requests get 4xx answers (never a 500), and races leave no debris."""

from __future__ import annotations

import json

import boto3

from tests.conftest import TABLE
from tests.support import images


def test_non_latin_filename_is_kept(api) -> None:
    assert api.upload("acme", images.jpeg(), filename="фото.jpg").json()["name"] == "фото.jpg"
    assert api.upload("acme", images.jpeg(), filename="😀.jpg").json()["name"] == "😀.jpg"


def test_accented_filename_is_not_garbled(api) -> None:
    assert api.upload("acme", images.jpeg(), filename="café.jpg").json()["name"] == "café.jpg"


def test_an_overlong_numeric_token_id_is_401(api) -> None:
    assert api.get("/v1/media", token="1" * 4301 + "|x").status == 401


def test_deeply_nested_json_is_400(api) -> None:
    uid = api.upload("acme").json()["id"]
    body = b'{"tags":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.patch(
        f"/v1/media/{uid}", token="acme", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


def test_lone_surrogates_are_a_validation_error(api) -> None:
    uid = api.upload("acme").json()["id"]
    for field in ("description", "tags", "name"):
        body = b'{"' + field.encode() + b'": "a\\ud800b"}'
        response = api.patch(
            f"/v1/media/{uid}",
            token="acme",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status == 400, field
        assert list(response.json()["errors"]) == [field]


def test_wrong_typed_falsy_values_do_not_clear_fields(api) -> None:
    uid = api.upload("acme", tags="a", description="d").json()["id"]
    response = api.patch(f"/v1/media/{uid}", token="acme", json_body={"tags": False})
    assert response.status == 400
    response = api.patch(f"/v1/media/{uid}", token="acme", json_body={"description": 0})
    assert response.status == 400
    body = api.get(f"/v1/media/{uid}", token="acme").json()
    assert (body["tags"], body["description"]) == (["a"], "d")


def test_null_clears_description_and_tags(api) -> None:
    uid = api.upload("acme", tags="a", description="d").json()["id"]
    body = api.patch(
        f"/v1/media/{uid}", token="acme", json_body={"tags": None, "description": None}
    ).json()
    assert "tags" not in body and "description" not in body


def _links(uid: str) -> list[str]:
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MEDIA#{uid}"}},
    )["Items"]
    return [item["sk"]["S"] for item in items]


def test_delete_racing_a_tag_add_leaves_no_tag_link(api, monkeypatch) -> None:
    from imgpro import media
    from imgpro.media import changing

    uid = api.upload("acme", tags="a").json()["id"]
    original = changing._delete_records
    raced = {"done": False}

    def racing(uid_, team_id, item):
        if not raced["done"]:
            raced["done"] = True
            media.update(uid_, media.Changes(tags=("b",), tag_mode="add"), team_id=team_id)
        return original(uid_, team_id, item)

    monkeypatch.setattr(changing, "_delete_records", racing)
    assert api.delete(f"/v1/media/{uid}", token="acme").status == 204
    assert _links(uid) == []


def test_tag_mode_all_bounds_its_scan_and_resumes_by_cursor(api, monkeypatch) -> None:
    from imgpro.media import listing

    monkeypatch.setattr(listing, "MAX_LINKS_EXAMINED", 3)
    rare = api.upload("acme", tags="common,rare").json()["id"]
    for _ in range(5):
        api.upload("acme", tags="common")
    first = api.get("/v1/media?tags=common,rare&tag_mode=all", token="acme").json()
    assert first["data"] == [] and first["has_more"] is True
    seen, cursor = [], first["next_cursor"]
    while cursor:
        page = api.get(
            f"/v1/media?tags=common,rare&tag_mode=all&cursor={cursor}", token="acme"
        ).json()
        seen += [m["id"] for m in page["data"]]
        cursor = page.get("next_cursor")
    assert seen == [rare]


def test_a_non_json_content_type_body_is_still_read_as_json(api) -> None:
    uid = api.upload("acme").json()["id"]
    response = api.patch(
        f"/v1/media/{uid}",
        token="acme",
        body=json.dumps({"name": "x.jpg"}).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert response.json()["name"] == "x.jpg"
