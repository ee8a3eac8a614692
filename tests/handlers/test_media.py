"""GET, PATCH and DELETE /v1/media/{uid}, GET /{uid}, GET / and unknown routes."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import BUCKET, CDN


@pytest.fixture
def uid(api) -> str:
    return api.upload("acme", description="first", tags="a,b").json()["id"]


def test_get_returns_the_same_object_as_upload(api) -> None:
    created = api.upload("acme", tags="x", public="1").json()
    assert api.get(f"/v1/media/{created['id']}", token="acme").json() == created


def test_get_unknown_media_is_404_with_the_seed_body(api) -> None:
    response = api.get("/v1/media/doesnotexist", token="acme")
    assert response.status == 404
    assert response.json()["error"] == "Media not found"


def test_get_malformed_uid_is_404_not_500(api) -> None:
    assert api.get("/v1/media/%2e%2e%2f", token="acme").status == 404


def test_expired_media_is_hidden_at_once(api, clock) -> None:
    uid = api.upload("acme", ttl="5m").json()["id"]
    clock.advance(3600)
    assert api.get(f"/v1/media/{uid}", token="acme").status == 404


def test_patch_updates_description_tags_and_public(api, uid) -> None:
    response = api.patch(
        f"/v1/media/{uid}",
        token="acme",
        json_body={
            "description": "Updated description",
            "tags": "updated,new-tags",
            "public": True,
        },
    )
    assert response.status == 200
    body = response.json()
    assert body["description"] == "Updated description"
    assert body["tags"] == ["updated", "new-tags"]
    assert body["url"].endswith(f"/{uid}")
    assert api.get(f"/v1/media/{uid}").json() == body


def test_patch_renames(api, uid) -> None:
    assert (
        api.patch(f"/v1/media/{uid}", token="acme", json_body={"name": "new.jpg"}).json()["name"]
        == "new.jpg"
    )


def test_patch_making_media_private_removes_its_url(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    body = api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False}).json()
    assert "url" not in body
    assert api.get(f"/v1/media/{uid}").status == 404


def test_patch_with_empty_strings_clears_description_and_tags(api, uid) -> None:
    body = api.patch(
        f"/v1/media/{uid}", token="acme", json_body={"description": "", "tags": ""}
    ).json()
    assert "description" not in body
    assert "tags" not in body


def test_patch_with_empty_body_changes_nothing(api, uid, clock) -> None:
    # The clock is frozen so that a private item's signed `src` (which carries an expiry
    # time) is the same in both answers, whichever second each one falls in.
    before = api.get(f"/v1/media/{uid}", token="acme").json()
    assert api.patch(f"/v1/media/{uid}", token="acme", json_body={}).json() == before


def test_patch_tags_as_array_is_accepted(api, uid) -> None:
    body = api.patch(f"/v1/media/{uid}", token="acme", json_body={"tags": ["p", "q"]}).json()
    assert body["tags"] == ["p", "q"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a/b.jpg"}, "name"),
        ({"name": 5}, "name"),
        ({"tags": "x" * 51}, "tags"),
        ({"tags": [1, 2]}, "tags"),
        ({"public": "perhaps"}, "public"),
        ({"description": "d" * 2001}, "description"),
    ],
)
def test_patch_validates_each_field(api, uid, payload, field) -> None:
    response = api.patch(f"/v1/media/{uid}", token="acme", json_body=payload)
    assert response.status == 400
    assert list(response.json()["errors"]) == [field]


def test_patch_with_invalid_json_is_400(api, uid) -> None:
    response = api.patch(
        f"/v1/media/{uid}",
        token="acme",
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.json()["code"] == "validation_error"


def test_patch_unknown_media_is_404(api) -> None:
    assert api.patch("/v1/media/nope", token="acme", json_body={"name": "x"}).status == 404


def test_delete_answers_204_with_an_empty_body(api, uid) -> None:
    response = api.delete(f"/v1/media/{uid}", token="acme")
    assert (response.status, response.body) == (204, b"")


def test_delete_removes_record_tag_links_and_object(api, uid) -> None:
    api.delete(f"/v1/media/{uid}", token="acme")
    assert api.get(f"/v1/media/{uid}", token="acme").status == 404
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    table = boto3.client("dynamodb")
    items = table.query(
        TableName="imgpro-test",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MEDIA#{uid}"}},
    )["Items"]
    assert items == []


def test_delete_removes_variants_too(api, uid) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=f"v/{uid}/s.webp", Body=b"variant")
    api.delete(f"/v1/media/{uid}", token="acme")
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_delete_twice_is_404_the_second_time(api, uid) -> None:
    api.delete(f"/v1/media/{uid}", token="acme")
    assert api.delete(f"/v1/media/{uid}", token="acme").status == 404


def test_share_link_redirects_public_media_to_its_src(api) -> None:
    body = api.upload("acme", public="1").json()
    response = api.get(f"/{body['id']}")
    assert response.status == 302
    assert response.headers["Location"] == body["src"] == f"{CDN}/{body['id']}.jpg"


def test_share_link_of_private_media_is_404(api, uid) -> None:
    assert api.get(f"/{uid}").status == 404


def test_service_info_lists_every_route(api) -> None:
    body = api.get("/").json()
    assert body["name"] == "imgpro"
    assert {"method": "POST", "path": "/v1/upload"} in body["endpoints"]
