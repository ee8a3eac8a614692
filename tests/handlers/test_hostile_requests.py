"""Odd and hostile requests get 4xx answers (never a 500), and races leave no debris."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import BUCKET, TABLE
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

    # One read unit a request (moto counts a Query as one) and pages of two links: the
    # search of two common tags stops after every page, answers has_more and a cursor.
    monkeypatch.setattr(listing, "TAG_SEARCH_READ_UNITS", 1.0)
    monkeypatch.setattr(listing, "LINKS_PER_PAGE", 2)
    rare = api.upload("acme", tags="common,rare").json()["id"]
    for _ in range(5):
        api.upload("acme", tags="common")
        api.upload("acme", tags="rare")
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


# --- bad multipart boundaries, JSON numbers and filenames: 400s, never 500s ---------------


def _multipart(boundary: str, disposition: bytes, content: bytes | None = None) -> bytes:
    """A one-file form written by hand, so that its boundary and header bytes are exact."""
    return (
        f"--{boundary}\r\n".encode("latin-1")
        + b"Content-Disposition: "
        + disposition
        + b"\r\nContent-Type: image/jpeg\r\n\r\n"
        + (content if content is not None else images.jpeg())
        + f"\r\n--{boundary}--\r\n".encode("latin-1")
    )


def _post_form(
    api, boundary: str, disposition: bytes = b'form-data; name="file"; filename="a.jpg"'
):
    return api.post(
        "/v1/upload",
        token="acme",
        body=_multipart(boundary, disposition),
        headers={"Content-Type": f'multipart/form-data; boundary="{boundary}"'},
    )


def _assert_bad_request(response, *words: str) -> None:
    assert response.status == 400, response
    body = response.json()
    assert set(body) == {"error", "code"} and body["code"] == "validation_error"
    for word in words:
        assert word in body["error"]


def _assert_nothing_stored() -> None:
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert [item["pk"]["S"] for item in items if item["pk"]["S"].startswith("MEDIA#")] == []


@pytest.mark.parametrize(
    ("boundary", "words"),
    [
        ("b" * 300, ("300 characters", "at most 70")),
        ("b" * 71, ("71 characters", "at most 70")),
        ("", ("empty",)),
        ("ends-in-a-space ", ("space",)),
        ("tab\there", ("ASCII",)),
        ("caf\u00e9", ("ASCII",)),
    ],
)
def test_a_boundary_rfc_2046_refuses_is_400_and_stores_nothing(api, boundary, words) -> None:
    _assert_bad_request(_post_form(api, boundary), "boundary", *words)
    _assert_nothing_stored()


@pytest.mark.parametrize(
    "boundary",
    [
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "===============8961396490085998256==",
        "dart-http-boundary-" + "x" * 51,
        "*****1421045301108*****",  # copied Android snippets: '*' is not in RFC 2046's set
        "with inner space",
    ],
)
def test_real_clients_boundaries_are_accepted(api, boundary) -> None:
    assert _post_form(api, boundary).status == 201


def test_a_raw_cr_in_a_part_header_is_400_and_stores_nothing(api) -> None:
    response = _post_form(api, "b", b'form-data; name="file"; filename="a\rb.jpg"')
    _assert_bad_request(response, "malformed")
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("1" * 5000, ("at most 32 digits",)),
        ("-" + "1" * 33, ("at most 32 digits",)),
        ("0." + "1" * 40, ("at most 32 digits",)),
        ("1e" + "1" * 40, ("at most 32 digits",)),
        ("1e999", ("out of range",)),
        ("NaN", ("not valid JSON", "NaN")),
        ("-Infinity", ("not valid JSON", "Infinity")),
    ],
)
def test_a_json_number_no_field_could_take_is_400_and_stores_nothing(api, number, words) -> None:
    body = b'{"name": "a.jpg", "filesize": ' + number.encode() + b"}"
    response = api.post(
        "/v1/upload/direct",
        token="acme",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    _assert_bad_request(response, *words)
    _assert_nothing_stored()


def test_a_long_json_number_leaves_the_media_unchanged(api) -> None:
    uid = api.upload("acme", description="d").json()["id"]
    response = api.patch(
        f"/v1/media/{uid}",
        token="acme",
        body=b'{"description": "x", "public": ' + b"1" * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    _assert_bad_request(response, "digits")
    assert api.get(f"/v1/media/{uid}", token="acme").json()["description"] == "d"


def test_a_json_number_that_fits_reaches_field_validation(api) -> None:
    response = api.post(
        "/v1/upload/direct",
        token="acme",
        json_body={"name": "a.jpg", "filesize": int("9" * 32)},
    )
    assert response.status == 400
    assert list(response.json()["errors"]) == ["filesize"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": "a.jpg",}', "application/json"),
        (b'{"a": 1}{"b": 2}', "application/json"),
        # A binary media type, so that API Gateway hands the bytes over base64-encoded.
        (b'{"name": "\xff.jpg"}', "application/octet-stream"),
        (b"\xff\xfe{", "application/octet-stream"),
    ],
)
def test_json_python_refuses_is_400_and_stores_nothing(api, body, content_type) -> None:
    response = api.post(
        "/v1/upload/direct", token="acme", body=body, headers={"Content-Type": content_type}
    )
    _assert_bad_request(response, "not valid JSON")
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        (b'"\\"x.jpg"', "x.jpg"),
        (b'"x%0d%0a.jpg"', "x.jpg"),
        (b'"x%0D%0ASet-Cookie: a=b%22.jpg"', "xSet-Cookie a=b.jpg"),
        (b'"a\\"; filename=\\"evil.jpg"', "a; filename=evil.jpg"),
        (b'"$(id)`id`.jpg"', "(id)id.jpg"),
        (b'"\\"\\".jpg"', "image.jpg"),
    ],
)
def test_quotes_and_line_breaks_in_a_filename_are_not_stored(api, filename, stored) -> None:
    response = _post_form(api, "b", b'form-data; name="file"; filename=' + filename)
    assert response.status == 201, response
    assert response.json()["name"] == stored


def test_an_rfc_5987_filename_is_ignored_for_the_plain_one(api) -> None:
    # RFC 7578 forbids filename* in forms and python-multipart drops it; .NET sends both.
    disposition = b'form-data; name="file"; filename="plain.jpg"; filename*=UTF-8\'\'na%C3%AFve.jpg'
    assert _post_form(api, "b", disposition).json()["name"] == "plain.jpg"
