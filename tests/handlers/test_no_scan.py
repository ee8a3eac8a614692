"""No request path issues a DynamoDB Scan: every endpoint, counted at botocore."""

from __future__ import annotations


def test_no_endpoint_scans_the_table(api, dynamodb_calls) -> None:
    a = api.upload("acme", tags="x,y", public="1", ttl="1h").json()["id"]
    b = api.upload("acme", tags="y", headers={"Idempotency-Key": "once"}).json()["id"]
    api.upload("acme", tags="y", headers={"Idempotency-Key": "once"})
    api.get("/")
    api.get(f"/v1/media/{a}")
    api.get(f"/v1/media/{b}", token="acme")
    api.get(f"/{a}")
    cursor = api.get("/v1/media?limit=1", token="acme").json()["next_cursor"]
    api.get(f"/v1/media?limit=1&cursor={cursor}", token="acme")
    api.get("/v1/media?offset=1", token="acme")
    api.get("/v1/media?tags=x,y&tag_mode=any", token="acme")
    api.get("/v1/media?tags=x,y&tag_mode=all", token="acme")
    api.get(f"/v1/media?ids={a},{b}", token="acme")
    api.patch(f"/v1/media/{a}", token="acme", json_body={"tags": "z"})
    api.patch(f"/v1/media?ids={a},{b}", token="acme", json_body={"tags": "w", "tag_mode": "add"})
    api.delete(f"/v1/media/{a}", token="acme")
    api.delete(f"/v1/media?ids={b}", token="acme")

    assert sum(dynamodb_calls.values()) > 20  # the counter really saw the traffic
    assert dynamodb_calls["Query"] > 0
    assert dynamodb_calls["Scan"] == 0
