"""GET /v1/media: cursor and offset pagination, tag filters, ids, limits."""

from __future__ import annotations

import pytest


def _upload_many(api, n: int, **fields: str) -> list[str]:
    """Upload n images; returns their ids newest first, as the list orders them."""
    return [api.upload("acme", **fields).json()["id"] for _ in range(n)][::-1]


def _walk_cursor(api, limit: int, query: str = "") -> list[list[str]]:
    pages, cursor = [], None
    while True:
        url = f"/v1/media?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url, token="acme").json()
        pages.append([m["id"] for m in body["data"]])
        if not body["has_more"]:
            assert "next_cursor" not in body
            return pages
        cursor = body["next_cursor"]


def test_list_is_newest_first(api) -> None:
    ids = _upload_many(api, 3)
    assert [m["id"] for m in api.get("/v1/media", token="acme").json()["data"]] == ids


def test_list_response_has_the_seed_shape(api) -> None:
    _upload_many(api, 2)
    body = api.get("/v1/media?limit=1", token="acme").json()
    assert list(body) == ["data", "next_cursor", "has_more"]
    assert body["has_more"] is True


def test_cursor_pages_cover_everything_once(api) -> None:
    ids = _upload_many(api, 11)
    pages = _walk_cursor(api, 4)
    assert [len(p) for p in pages] == [4, 4, 3]
    assert [uid for page in pages for uid in page] == ids


def test_cursor_looks_like_the_seeds(api) -> None:
    _upload_many(api, 2)
    cursor = api.get("/v1/media?limit=1", token="acme").json()["next_cursor"]
    timestamp, _, uid = cursor.partition("_")
    assert timestamp.isdigit() and uid.isalnum()


def test_cursor_pages_are_stable_under_concurrent_inserts(api) -> None:
    ids = _upload_many(api, 6)
    first = api.get("/v1/media?limit=3", token="acme").json()
    _upload_many(api, 2)  # arrive between the two page requests
    second = api.get(f"/v1/media?limit=3&cursor={first['next_cursor']}", token="acme").json()
    seen = [m["id"] for m in first["data"]] + [m["id"] for m in second["data"]]
    assert seen == ids
    assert second["has_more"] is False


def test_cursor_survives_deletion_of_its_item(api) -> None:
    ids = _upload_many(api, 4)
    first = api.get("/v1/media?limit=2", token="acme").json()
    api.delete(f"/v1/media/{ids[1]}", token="acme")
    second = api.get(f"/v1/media?limit=2&cursor={first['next_cursor']}", token="acme").json()
    assert [m["id"] for m in second["data"]] == ids[2:]


def test_the_seeds_example_cursor_is_accepted(api) -> None:
    _upload_many(api, 1)
    response = api.get("/v1/media?limit=20&cursor=1704067200_123", token="acme")
    assert response.status == 200
    assert response.json() == {"data": [], "has_more": False}


@pytest.mark.parametrize("cursor", ["abc", "123", "_abc", "1704067200_", "1_a-b", "9" * 14 + "_a"])
def test_malformed_cursor_is_a_400(api, cursor) -> None:
    response = api.get(f"/v1/media?cursor={cursor}", token="acme")
    assert response.status == 400
    assert list(response.json()["errors"]) == ["cursor"]


def test_offset_pages_cover_everything_once(api) -> None:
    ids = _upload_many(api, 7)
    seen, offset = [], 0
    while True:
        body = api.get(f"/v1/media?limit=3&offset={offset}", token="acme").json()
        seen += [m["id"] for m in body["data"]]
        if not body["has_more"]:
            break
        offset += 3
    assert seen == ids


def test_offset_past_the_end_is_an_empty_page(api) -> None:
    _upload_many(api, 2)
    assert api.get("/v1/media?offset=5", token="acme").json() == {"data": [], "has_more": False}


def test_cursor_and_offset_together_is_a_400(api) -> None:
    response = api.get("/v1/media?cursor=1704067200_abc&offset=3", token="acme")
    assert response.status == 400


def test_limit_defaults_to_fifty(api, monkeypatch) -> None:
    from imgpro.media import listing

    seen: dict[str, int] = {}
    original = listing.list_media

    def spy(team_id, **kw):
        seen["limit"] = kw["limit"]
        return original(team_id, **kw)

    monkeypatch.setattr(listing, "list_media", spy)
    api.get("/v1/media", token="acme")
    assert seen == {"limit": 50}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_outside_one_to_one_hundred_is_a_400(api, limit) -> None:
    response = api.get(f"/v1/media?limit={limit}", token="acme")
    assert response.status == 400
    assert list(response.json()["errors"]) == ["limit"]


def test_limit_of_one_hundred_is_accepted(api) -> None:
    assert api.get("/v1/media?limit=100", token="acme").status == 200


def test_offset_must_be_a_whole_number(api) -> None:
    assert list(api.get("/v1/media?offset=x", token="acme").json()["errors"]) == ["offset"]


def test_expired_media_is_not_listed(api, clock) -> None:
    keep = api.upload("acme").json()["id"]
    api.upload("acme", ttl="5m", tags="t")
    clock.advance(3600)
    assert [m["id"] for m in api.get("/v1/media", token="acme").json()["data"]] == [keep]
    assert api.get("/v1/media?tags=t", token="acme").json()["data"] == []


# --- ids ---


def test_ids_fetches_the_given_items_in_order(api) -> None:
    a, _, c = _upload_many(api, 3)
    body = api.get(f"/v1/media?ids={c},nope,{a}", token="acme").json()
    assert [m["id"] for m in body["data"]] == [c, a]
    assert body["has_more"] is False


def test_more_than_one_hundred_ids_is_a_400(api) -> None:
    ids = ",".join(f"x{i}" for i in range(101))
    assert api.get(f"/v1/media?ids={ids}", token="acme").json()["errors"] == {
        "ids": ["Maximum 100 ids allowed"]
    }


# --- tags ---


@pytest.fixture
def tagged(api) -> dict[str, str]:
    return {
        "beach": api.upload("acme", tags="vacation,beach").json()["id"],
        "city": api.upload("acme", tags="vacation,city").json()["id"],
        "work": api.upload("acme", tags="work").json()["id"],
        "none": api.upload("acme").json()["id"],
    }


def _ids(api, query: str) -> list[str]:
    return [m["id"] for m in api.get(f"/v1/media?{query}", token="acme").json()["data"]]


def test_tag_mode_any_matches_media_with_either_tag(api, tagged) -> None:
    assert _ids(api, "tags=beach,work&tag_mode=any") == [tagged["work"], tagged["beach"]]


def test_tag_mode_defaults_to_any(api, tagged) -> None:
    assert _ids(api, "tags=beach,work") == [tagged["work"], tagged["beach"]]


def test_tag_mode_any_lists_media_with_several_matching_tags_once(api, tagged) -> None:
    assert _ids(api, "tags=vacation,beach") == [tagged["city"], tagged["beach"]]


def test_tag_mode_all_needs_every_tag(api, tagged) -> None:
    assert _ids(api, "tags=vacation,beach&tag_mode=all") == [tagged["beach"]]


def test_tag_filter_is_case_insensitive(api, tagged) -> None:
    assert _ids(api, "tags=BEACH") == [tagged["beach"]]


def test_unknown_tag_matches_nothing(api, tagged) -> None:
    assert _ids(api, "tags=nothing") == []


def test_bad_tag_mode_is_a_400(api) -> None:
    response = api.get("/v1/media?tags=a&tag_mode=some", token="acme")
    assert list(response.json()["errors"]) == ["tag_mode"]


def test_tag_filtered_cursor_pages_cover_everything_once(api) -> None:
    tagged = _upload_many(api, 5, tags="p")
    _upload_many(api, 3, tags="q")
    both = _upload_many(api, 2, tags="p,q")
    pages = _walk_cursor(api, 3, "&tags=p,q&tag_mode=all")
    assert [uid for page in pages for uid in page] == both
    pages = _walk_cursor(api, 2, "&tags=p")
    assert [uid for page in pages for uid in page] == both + tagged


def test_retagged_media_moves_between_tag_filters(api, tagged) -> None:
    api.patch(f"/v1/media/{tagged['work']}", token="acme", json_body={"tags": "beach"})
    assert _ids(api, "tags=work") == []
    assert _ids(api, "tags=beach") == [tagged["work"], tagged["beach"]]
