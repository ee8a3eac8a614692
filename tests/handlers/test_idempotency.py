"""Idempotency-Key on POST /v1/upload: retries store nothing twice."""

from __future__ import annotations

import boto3

from tests.conftest import BUCKET
from tests.support import images


def _object_count() -> int:
    return boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)


def test_retry_with_the_same_key_returns_the_first_response(api) -> None:
    data = images.jpeg()
    first = api.upload("acme", data, headers={"Idempotency-Key": "k-1"}, tags="a")
    again = api.upload("acme", data, headers={"Idempotency-Key": "k-1"}, tags="a")
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body  # byte for byte, key order included


def test_retry_with_the_same_key_stores_nothing_twice(api) -> None:
    data = images.jpeg()
    for _ in range(3):
        api.upload("acme", data, headers={"Idempotency-Key": "k-2"})
    assert _object_count() == 1
    assert len(api.get("/v1/media", token="acme").json()["data"]) == 1


def test_same_key_with_a_different_body_is_a_422(api) -> None:
    api.upload("acme", images.jpeg(), headers={"Idempotency-Key": "k-3"})
    response = api.upload("acme", images.png(), headers={"Idempotency-Key": "k-3"})
    assert response.status == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert _object_count() == 1


def test_same_key_with_different_fields_is_a_422(api) -> None:
    data = images.jpeg()
    api.upload("acme", data, headers={"Idempotency-Key": "k-4"}, tags="a")
    response = api.upload("acme", data, headers={"Idempotency-Key": "k-4"}, tags="b")
    assert response.status == 422


def test_keys_are_scoped_to_the_team(api) -> None:
    first = api.upload("acme", images.jpeg(), headers={"Idempotency-Key": "shared"})
    other = api.upload("globex", images.png(), headers={"Idempotency-Key": "shared"})
    assert other.status == 201
    assert other.json()["id"] != first.json()["id"]


def test_without_a_key_each_request_creates_media(api) -> None:
    data = images.jpeg()
    assert api.upload("acme", data).json()["id"] != api.upload("acme", data).json()["id"]


def test_a_failed_attempt_can_be_retried_with_the_same_key(api, monkeypatch) -> None:
    from imgpro.media import creating

    original = creating.create
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("S3 hiccup")
        return original(*args, **kwargs)

    monkeypatch.setattr(creating, "create", flaky)
    from imgpro.http import adapter

    monkeypatch.setattr(adapter, "raise_server_errors", False)
    assert api.upload("acme", headers={"Idempotency-Key": "k-5"}).status == 500
    assert api.upload("acme", headers={"Idempotency-Key": "k-5"}).status == 201


def test_a_malformed_key_is_a_400(api) -> None:
    response = api.upload("acme", headers={"Idempotency-Key": "has spaces in it"})
    assert response.status == 400


def test_a_retry_while_the_first_runs_is_a_409(api, monkeypatch) -> None:
    from imgpro.media import creating

    original = creating.create
    retried: dict[str, object] = {}

    def create_and_retry(*args, **kwargs):
        retried["response"] = api.upload("acme", headers={"Idempotency-Key": "k-6"})
        return original(*args, **kwargs)

    monkeypatch.setattr(creating, "create", create_and_retry)
    first = api.upload("acme", headers={"Idempotency-Key": "k-6"})
    assert first.status == 201
    assert retried["response"].status == 409
    assert retried["response"].json()["code"] == "conflict"
