"""One clock: freezing `imgpro.clock.now` moves every time the API hands out or checks."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

NOW = 1_700_000_000


def test_creation_expiry_and_signed_urls_all_read_the_one_clock(api, clock) -> None:
    clock.set(NOW)
    body = api.upload("acme", ttl="2h").json()
    assert body["expires_at"] == NOW + 7200
    policy = parse_qs(urlsplit(body["src"]).query)["Policy"][0]
    statement = json.loads(base64.b64decode(policy.translate(str.maketrans("-_~", "+=/"))))
    assert statement["Statement"][0]["Condition"]["DateLessThan"] == {"AWS:EpochTime": NOW + 3600}
    api.upload("acme")
    page = api.get("/v1/media?limit=1", token="acme").json()
    assert page["next_cursor"].startswith(f"{NOW * 1000}_")
    announced = api.post(
        "/v1/upload/direct", token="acme", json_body={"name": "big.png", "filesize": 5000}
    ).json()
    assert announced["upload"]["expires_at"] == NOW + 3600


def test_media_expires_when_the_clock_passes_its_ttl(api, clock) -> None:
    uid = api.upload("acme", ttl="5m").json()["id"]
    clock.advance(299)
    assert api.get(f"/v1/media/{uid}", token="acme").status == 200
    clock.advance(1)
    assert api.get(f"/v1/media/{uid}", token="acme").status == 404
