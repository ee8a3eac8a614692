"""The OpenAPI document: made from the route table and the wire types, and kept fresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imgpro import openapi
from imgpro.api_models import SizeName
from imgpro.keys import SIZES
from imgpro.routes import ROUTES

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_document_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi.document_text(), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_every_route_is_an_operation_of_the_document() -> None:
    paths = openapi.document()["paths"]
    documented = sorted((method.upper(), path) for path, ops in paths.items() for method in ops)
    assert documented == sorted((route.method, route.path) for route in ROUTES)


def test_a_route_without_an_operation_refuses_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    operations = {key: op for key, op in openapi.OPERATIONS.items() if key != ("GET", "/")}
    monkeypatch.setattr(openapi, "OPERATIONS", operations)
    with pytest.raises(LookupError, match="GET /"):
        openapi._build()


def test_served_document_names_the_callers_base_url_as_its_server() -> None:
    doc = openapi.document("https://abc.execute-api.eu-west-1.amazonaws.com/prod/")
    assert doc["servers"] == [{"url": "https://abc.execute-api.eu-west-1.amazonaws.com/prod"}]
    assert "servers" not in openapi.document()


def test_operations_needing_a_token_say_so_and_public_ones_do_not() -> None:
    ops = _operations()
    assert ops["uploadMedia"]["security"] == [{"bearerAuth": []}]
    assert ops["getMedia"]["security"] == [{"bearerAuth": []}, {}]
    assert ops["getServiceInfo"]["security"] == []
    assert openapi.document()["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `Authorization: Bearer <token>`.",
    }


def test_rate_limit_headers_are_on_token_routes_and_retry_after_on_429() -> None:
    responses = _operations()["listMedia"]["responses"]
    assert set(responses["200"]["headers"]) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
    assert "Retry-After" in responses["429"]["headers"]
    assert "headers" not in _operations()["getServiceInfo"]["responses"]["200"]


def test_creating_operations_take_an_idempotency_key() -> None:
    for operation_id in ("uploadMedia", "startDirectUpload", "importMedia"):
        names = [p["name"] for p in _operations()[operation_id]["parameters"]]
        assert "Idempotency-Key" in names, operation_id


def test_errors_are_documented_with_the_seeds_shape_and_codes() -> None:
    doc = openapi.document()
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "code"]
    responses = _operations()["importMedia"]["responses"]
    assert set(responses) >= {"201", "400", "401", "403", "429", "502", "504"}
    assert "`import_failed`" in responses["502"]["description"]
    assert "`quota_exceeded`" in responses["403"]["description"]


def test_upload_is_multipart_with_a_binary_file() -> None:
    body = _operations()["uploadMedia"]["requestBody"]["content"]["multipart/form-data"]
    schema = _resolve(body["schema"])
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"]["format"] == "binary"


def test_media_object_lists_every_field_and_no_other() -> None:
    media = openapi.document()["components"]["schemas"]["MediaObject"]
    assert media["additionalProperties"] is False
    assert set(media["properties"]) == {
        "id", "name", "url", "src", "width", "height", "filesize", "status",
        "failure_reason", "description", "tags", "expires_at", "sizes", "placeholder",
    }  # fmt: skip
    assert media["required"] == ["id", "name"]


def test_created_media_links_to_get_update_and_delete() -> None:
    links = _operations()["uploadMedia"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "getMedia",
        "updateMedia",
        "deleteMedia",
    }
    assert all(link["parameters"] == {"uid": "$response.body#/id"} for link in links.values())


def test_size_names_of_the_wire_types_are_the_key_layouts() -> None:
    assert SizeName.__args__ == SIZES  # type: ignore[attr-defined]


def _operations() -> dict[str, dict[str, Any]]:
    paths = openapi.document()["paths"]
    return {op["operationId"]: op for ops in paths.values() for op in ops.values()}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[-1]
    return json.loads(json.dumps(openapi.document()["components"]["schemas"][name]))
