"""The auth matrix: each ability x each method, both token forms, two teams."""

from __future__ import annotations

import pytest

from tests.conftest import TOKENS

READS = [("GET", "/v1/media"), ("GET", "/v1/media?ids=abc"), ("GET", "/v1/media/{uid}")]
WRITES = [
    ("POST", "/v1/upload"),
    ("POST", "/v1/import"),
    ("PATCH", "/v1/media/{uid}"),
    ("DELETE", "/v1/media/{uid}"),
    ("PATCH", "/v1/media?ids={uid}"),
    ("DELETE", "/v1/media?ids={uid}"),
]
ALL_AUTHENTICATED = [("GET", "/v1/media"), *WRITES]


def _call(api, method: str, path: str, uid: str, **kw):
    path = path.format(uid=uid)
    if method == "POST" and path == "/v1/upload":
        return api.upload(kw.pop("token", None), **kw)
    if method == "PATCH":
        kw.setdefault("json_body", {"description": "changed"})
    return api.request(method, path, **kw)


@pytest.fixture
def uid(api) -> str:
    return api.upload("acme").json()["id"]


@pytest.mark.parametrize(("method", "path"), ALL_AUTHENTICATED)
def test_missing_token_is_401_unauthorized(api, uid, method, path) -> None:
    response = _call(api, method, path, uid, token=None)
    assert response.status == 401
    assert response.json() == {
        "error": "Invalid or missing authentication token",
        "code": "unauthorized",
    }


@pytest.mark.parametrize(("method", "path"), ALL_AUTHENTICATED)
def test_unknown_token_is_401(api, uid, method, path) -> None:
    assert _call(api, method, path, uid, token="not-a-real-token").status == 401


@pytest.mark.parametrize(("method", "path"), READS)
def test_read_token_may_read(api, uid, method, path) -> None:
    assert _call(api, method, path, uid, token="acme-read").status == 200


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_read_token_may_not_write(api, uid, method, path) -> None:
    response = _call(api, method, path, uid, token="acme-read")
    assert response.status == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), READS)
def test_write_token_may_not_read(api, uid, method, path) -> None:
    response = _call(api, method, path, uid, token="acme-write")
    assert response.status == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), [w for w in WRITES if w[1] != "/v1/import"])
def test_write_token_may_write(api, uid, method, path) -> None:
    assert _call(api, method, path, uid, token="acme-write").status in (200, 201, 204)


@pytest.mark.parametrize(("method", "path"), READS + [w for w in WRITES if w[1] != "/v1/import"])
def test_full_token_may_do_everything(api, uid, method, path) -> None:
    assert _call(api, method, path, uid, token="acme").status in (200, 201, 204)


def test_plain_token_form_authenticates(api) -> None:
    assert api.get("/v1/media", token=TOKENS["acme"]).status == 200


def test_sanctum_token_form_authenticates(api, tokens) -> None:
    assert tokens["acme"].endswith("|" + TOKENS["acme"])
    assert api.get("/v1/media", token=tokens["acme"]).status == 200


def test_sanctum_form_with_another_tokens_id_is_401(api, tokens) -> None:
    other_id = tokens["globex"].split("|")[0]
    assert api.get("/v1/media", token=f"{other_id}|{TOKENS['acme']}").status == 401


def test_sanctum_form_with_non_numeric_id_is_401(api) -> None:
    assert api.get("/v1/media", token=f"abc|{TOKENS['acme']}").status == 401


def test_non_bearer_scheme_is_401(api) -> None:
    response = api.get("/v1/media", headers={"Authorization": f"Basic {TOKENS['acme']}"})
    assert response.status == 401


def test_bearer_scheme_is_case_insensitive(api) -> None:
    response = api.get("/v1/media", headers={"Authorization": f"bearer {TOKENS['acme']}"})
    assert response.status == 200


def test_401_names_the_bearer_scheme(api) -> None:
    assert api.get("/v1/media").headers["WWW-Authenticate"].startswith("Bearer")


def test_service_info_needs_no_token(api) -> None:
    assert api.get("/").status == 200


# --- optional auth on GET /v1/media/{uid} and team isolation ---


def test_public_media_is_visible_without_a_token(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    assert api.get(f"/v1/media/{uid}").status == 200


def test_private_media_is_404_without_a_token(api, uid) -> None:
    response = api.get(f"/v1/media/{uid}")
    assert response.status == 404
    assert response.json()["error"] == "Media not found"


def test_private_media_is_visible_to_its_own_team(api, uid) -> None:
    assert api.get(f"/v1/media/{uid}", token="acme-read").status == 200


def test_private_media_is_404_for_another_team(api, uid) -> None:
    assert api.get(f"/v1/media/{uid}", token="globex").status == 404


def test_public_media_of_another_team_is_visible_with_a_token(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    assert api.get(f"/v1/media/{uid}", token="globex").status == 200


def test_invalid_token_on_optional_auth_is_401_not_anonymous(api) -> None:
    uid = api.upload("acme", public="1").json()["id"]
    assert api.get(f"/v1/media/{uid}", token="wrong").status == 401


def test_write_only_token_on_optional_auth_read_is_403(api, uid) -> None:
    assert api.get(f"/v1/media/{uid}", token="acme-write").status == 403


def test_another_team_cannot_update_media(api, uid) -> None:
    response = api.patch(f"/v1/media/{uid}", token="globex", json_body={"name": "x.jpg"})
    assert response.status == 404
    assert api.get(f"/v1/media/{uid}", token="acme").json()["name"] == "photo.jpg"


def test_another_team_cannot_delete_media(api, uid) -> None:
    assert api.delete(f"/v1/media/{uid}", token="globex").status == 404
    assert api.get(f"/v1/media/{uid}", token="acme").status == 200


def test_another_teams_media_is_not_counted_in_batch_delete(api, uid) -> None:
    body = api.delete(f"/v1/media?ids={uid}", token="globex").json()
    assert body == {"deleted": 0, "not_found": 1, "ids": {"deleted": [], "not_found": [uid]}}
    assert api.get(f"/v1/media/{uid}", token="acme").status == 200


def test_another_teams_media_is_not_counted_in_batch_update(api, uid) -> None:
    body = api.patch(f"/v1/media?ids={uid}", token="globex", json_body={"name": "x.jpg"}).json()
    assert body == {"updated": 0, "media": []}


def test_another_teams_media_is_not_listed(api, uid) -> None:
    assert api.get("/v1/media", token="globex").json() == {"data": [], "has_more": False}
    assert api.get(f"/v1/media?ids={uid}", token="globex").json()["data"] == []
