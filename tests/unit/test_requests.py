"""The adapter's reading of API Gateway events."""

from __future__ import annotations

import base64

import pytest

from imgpro.errors import BadRequest
from imgpro.http.requests import request_from_event
from tests.support.gateway import load_event


def test_base_url_includes_the_stage_on_the_execute_api_domain() -> None:
    request = request_from_event(load_event("rest_api_proxy.json"))
    assert request.base_url == "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod"


def test_base_url_has_no_stage_on_a_custom_domain() -> None:
    event = load_event("rest_api_proxy.json")
    event["requestContext"]["path"] = event["path"]
    event["headers"]["Host"] = event["multiValueHeaders"]["Host"] = ["img.example.com"]
    event["multiValueHeaders"]["Host"] = ["img.example.com"]
    assert request_from_event(event).base_url == "https://img.example.com"


def test_headers_are_case_insensitive() -> None:
    request = request_from_event(load_event("rest_api_proxy.json"))
    assert request.header("user-agent") == request.header("USER-AGENT") == "curl/8.5.0"


def test_base64_bodies_are_decoded() -> None:
    event = load_event("rest_api_proxy.json")
    event.update(body=base64.b64encode(b"\x00\xff").decode(), isBase64Encoded=True)
    assert request_from_event(event).body == b"\x00\xff"


def test_repeated_query_parameters_keep_the_last_value() -> None:
    event = load_event("rest_api_proxy.json")
    event["multiValueQueryStringParameters"] = {"limit": ["5", "7"]}
    event["queryStringParameters"] = {"limit": "7"}
    assert request_from_event(event).query == {"limit": "7"}


@pytest.mark.parametrize("body", ["[1, 2]", "{bad", '"text"'])
def test_json_bodies_must_be_objects(body) -> None:
    event = load_event("rest_api_proxy.json")
    event["body"] = body
    with pytest.raises(BadRequest):
        request_from_event(event).json()


def test_empty_json_body_is_an_empty_object() -> None:
    assert request_from_event(load_event("rest_api_proxy.json")).json() == {}


def test_cors_headers_only_for_allowed_origins(monkeypatch) -> None:
    from imgpro.http.adapter import CORS_ORIGINS, with_cors_headers
    from imgpro.http.responses import Response

    response = Response.json(200, {"ok": True})
    monkeypatch.delenv(CORS_ORIGINS, raising=False)
    assert with_cors_headers(response, {"headers": {"Origin": "https://a.test"}}) == response
    monkeypatch.setenv(CORS_ORIGINS, "https://a.test,https://b.test")
    allowed = with_cors_headers(response, {"headers": {"origin": "https://b.test"}})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.test"
    assert allowed.headers["Vary"] == "Origin"
    other = with_cors_headers(response, {"headers": {"Origin": "https://evil.test"}})
    assert "Access-Control-Allow-Origin" not in other.headers
    monkeypatch.setenv(CORS_ORIGINS, "*")
    anyone = with_cors_headers(response, {"headers": {}})
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"
