"""GET /openapi.json, and real responses checked against the document it serves."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from imgpro.openapi import document


def test_openapi_json_is_served_with_this_api_as_its_server(api) -> None:
    response = api.get("/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    served = response.json()
    assert served["openapi"] == "3.1.0"
    assert served["servers"] == [{"url": "https://api.example.test/prod"}]
    assert {k: v for k, v in served.items() if k != "servers"} == document()


@pytest.mark.parametrize(
    ("schema", "make"),
    [
        ("MediaObject", lambda api: api.upload("acme", tags="a,b", ttl="1h", public="1")),
        (
            "DirectUpload",
            lambda api: api.post(
                "/v1/upload/direct", token="acme", json_body={"name": "big.jpg", "filesize": 9}
            ),
        ),
        ("Page", lambda api: api.get("/v1/media?limit=1", token="acme")),
    ],
    ids=["upload", "direct-upload", "list"],
)
def test_real_responses_match_their_schema_in_the_document(api, schema: str, make: Any) -> None:
    api.upload("acme")
    api.upload("acme")
    response = make(api)
    assert response.status in (200, 201)
    _validate(response.json(), schema)


def test_an_error_matches_the_error_schema(api) -> None:
    response = api.get("/v1/media?limit=0", token="acme")
    assert response.status == 400
    _validate(response.json(), "Error")


def _validate(instance: Any, name: str) -> None:
    doc = document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)
