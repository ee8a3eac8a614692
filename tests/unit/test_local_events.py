"""HTTP request ⇄ API Gateway REST proxy event, as the local stack builds them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from imgpro.local.events import (
    HttpRequest,
    MalformedProxyResponse,
    RouteMatch,
    build_event,
    is_binary_media_type,
    match_route,
    to_http_response,
)
from imgpro.routes import ROUTES, Route

REAL_EVENT = Path(__file__).parents[1] / "events" / "rest_api_proxy.json"


def event_for(
    method: str = "GET",
    target: str = "/v1/media",
    *,
    headers: tuple[tuple[str, str], ...] = (("Host", "127.0.0.1:8787"),),
    body: bytes = b"",
) -> dict[str, Any]:
    request = HttpRequest(method=method, target=target, headers=headers, body=body)
    match = match_route(method, target.partition("?")[0])
    assert match is not None, f"{method} {target} matched no route"
    return build_event(request, match, request_id="req-1", request_time_ms=1_795_986_000_000)


# Route matching


def test_literal_segment_beats_path_parameter() -> None:
    match = match_route("GET", "/v1/media")
    assert match is not None
    assert match.route.path == "/v1/media"


def test_path_parameter_matches_a_single_segment() -> None:
    match = match_route("GET", "/v1/media/abc123")
    assert match == RouteMatch(route=match.route, path_parameters={"uid": "abc123"})
    assert match.route.function == "get_media"


def test_root_level_parameter_serves_share_pages() -> None:
    match = match_route("GET", "/abc123")
    assert match is not None
    assert (match.route.function, match.path_parameters) == ("share", {"uid": "abc123"})


def test_intermediate_resource_is_not_taken_for_a_parameter() -> None:
    # `/v1` exists as the parent of `/v1/media`, so `/{uid}` never sees it.
    assert match_route("GET", "/v1") is None


def test_method_not_defined_on_a_resource_is_not_found() -> None:
    assert match_route("PUT", "/v1/media") is None


def test_unknown_path_is_not_found() -> None:
    assert match_route("GET", "/v1/media/abc123/extra") is None


def test_trailing_slash_is_not_found() -> None:
    assert match_route("GET", "/v1/media/") is None


def test_method_is_matched_case_insensitively() -> None:
    match = match_route("delete", "/v1/media/abc")
    assert match is not None
    assert match.route.function == "delete_media"


def test_path_parameter_is_url_decoded() -> None:
    match = match_route("GET", "/v1/media/a%20b")
    assert match is not None
    assert match.path_parameters == {"uid": "a b"}


def test_root_resource_has_no_path_parameters() -> None:
    match = match_route("GET", "/")
    assert match is not None
    assert (match.route.function, match.path_parameters) == ("service_info", None)


def test_every_route_in_the_table_is_reachable() -> None:
    for route in ROUTES:
        path = route.path.replace("{uid}", "abc123")
        match = match_route(route.method, path)
        assert match is not None and match.route == route, route


def test_routes_can_be_given_explicitly() -> None:
    routes = (Route("GET", "/a/{x}", "one"), Route("GET", "/a/b", "two"))
    match = match_route("GET", "/a/b", routes)
    assert match is not None
    assert match.route.function == "two"


# Event building


def test_event_has_the_keys_of_a_real_rest_api_event() -> None:
    real = json.loads(REAL_EVENT.read_text())
    event = event_for("GET", "/v1/media/abc123")
    assert set(event) == set(real)
    assert set(event["requestContext"]) == set(real["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(real["requestContext"]["identity"])


def test_event_names_resource_path_and_method() -> None:
    event = event_for("PATCH", "/v1/media/abc123")
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/v1/media/{uid}",
        "/v1/media/abc123",
        "PATCH",
    )
    assert event["pathParameters"] == {"uid": "abc123"}
    assert event["stageVariables"] is None


def test_request_context_describes_the_request() -> None:
    headers = (("Host", "127.0.0.1:8787"), ("User-Agent", "curl/8.5.0"))
    context = event_for("GET", "/v1/media/abc123", headers=headers)["requestContext"]
    assert context["resourcePath"] == "/v1/media/{uid}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/v1/media/abc123"
    assert context["stage"] == "local"
    assert context["requestId"] == "req-1"
    assert context["requestTimeEpoch"] == 1_795_986_000_000
    assert context["requestTime"] == "29/Nov/2026:21:00:00 +0000"
    assert context["protocol"] == "HTTP/1.1"
    assert context["domainName"] == "127.0.0.1:8787"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8.5.0"
    assert context["accountId"] and context["apiId"]


def test_no_query_string_gives_null_parameters() -> None:
    event = event_for("GET", "/v1/media")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_empty_query_string_gives_null_parameters() -> None:
    event = event_for("GET", "/v1/media?")
    assert event["queryStringParameters"] is None


def test_repeated_query_parameter_keeps_every_value_and_the_last_single() -> None:
    event = event_for("GET", "/v1/media?tags=a&limit=5&tags=b")
    assert event["multiValueQueryStringParameters"] == {"tags": ["a", "b"], "limit": ["5"]}
    assert event["queryStringParameters"] == {"tags": "b", "limit": "5"}


def test_query_values_are_url_decoded() -> None:
    event = event_for("GET", "/v1/media?tags=caf%C3%A9%2Cdog&q=a+b&flag")
    assert event["queryStringParameters"] == {"tags": "café,dog", "q": "a b", "flag": ""}


def test_repeated_header_keeps_every_value_and_the_last_single() -> None:
    headers = (("Host", "h"), ("Accept", "image/webp"), ("Accept", "image/png"))
    event = event_for(headers=headers)
    assert event["multiValueHeaders"]["Accept"] == ["image/webp", "image/png"]
    assert event["headers"]["Accept"] == "image/png"


def test_header_names_keep_the_clients_case() -> None:
    event = event_for(headers=(("Host", "h"), ("x-custom-THING", "1")))
    assert event["headers"]["x-custom-THING"] == "1"


def test_headers_differing_only_in_case_are_one_header() -> None:
    event = event_for(headers=(("Host", "h"), ("Accept", "a"), ("accept", "b")))
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert "accept" not in event["headers"]


def test_forwarding_headers_are_added_as_api_gateway_does() -> None:
    request = HttpRequest(
        method="GET",
        target="/",
        headers=(("Host", "h"), ("X-Forwarded-For", "203.0.113.9")),
        source_ip="127.0.0.1",
        server_port=8787,
    )
    match = match_route("GET", "/")
    assert match is not None
    headers = build_event(request, match, request_id="r", request_time_ms=0)["headers"]
    assert headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Port"] == "8787"


def test_hop_by_hop_headers_do_not_reach_the_function() -> None:
    event = event_for(headers=(("Host", "h"), ("Connection", "keep-alive"), ("Expect", "x")))
    assert "Connection" not in event["headers"]
    assert "Expect" not in event["headers"]


def test_multipart_body_is_base64_encoded() -> None:
    body = b"--b\r\n\xff\xd8\xff binary\r\n--b--\r\n"
    headers = (("Host", "h"), ("Content-Type", "multipart/form-data; boundary=b"))
    event = event_for("POST", "/v1/upload", headers=headers, body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_image_body_is_base64_encoded() -> None:
    headers = (("Host", "h"), ("Content-Type", "image/png"))
    event = event_for("POST", "/v1/upload", headers=headers, body=b"\x89PNG")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"


def test_octet_stream_body_is_base64_encoded() -> None:
    headers = (("Host", "h"), ("content-type", "Application/Octet-Stream"))
    event = event_for("POST", "/v1/upload", headers=headers, body=b"\x00\x01")
    assert event["isBase64Encoded"] is True


def test_json_body_is_passed_as_text() -> None:
    headers = (("Host", "h"), ("Content-Type", "application/json"))
    body = '{"name": "café"}'.encode()
    event = event_for("PATCH", "/v1/media/abc", headers=headers, body=body)
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"name": "café"}'


def test_body_without_content_type_is_passed_as_text() -> None:
    event = event_for("PATCH", "/v1/media/abc", body=b"name=x")
    assert (event["body"], event["isBase64Encoded"]) == ("name=x", False)


def test_empty_body_is_null() -> None:
    event = event_for("GET", "/v1/media")
    assert (event["body"], event["isBase64Encoded"]) == (None, False)


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("image/jpeg", True),
        ("image/svg+xml", True),
        ("multipart/form-data; boundary=x", True),
        ("application/octet-stream", True),
        ("application/json", False),
        ("text/plain; charset=utf-8", False),
        ("multipart/mixed", False),
        (None, False),
    ],
)
def test_binary_media_types_are_those_the_deployed_api_declares(
    content_type: str | None, binary: bool
) -> None:
    assert is_binary_media_type(content_type) is binary


# Response conversion


def test_response_carries_status_headers_and_text_body() -> None:
    response = to_http_response(
        {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": '{"a":1}'}
    )
    assert response.status == 201
    assert response.header("Content-Type") == "application/json"
    assert response.body == b'{"a":1}'


def test_base64_response_body_is_decoded() -> None:
    payload = b"\x89PNG\r\n\x1a\n"
    response = to_http_response(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(payload).decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.body == payload


def test_multi_value_headers_are_merged_with_single_headers() -> None:
    response = to_http_response(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "text/plain", "X-One": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "",
        }
    )
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
    assert response.header("X-One") == "1"


def test_multi_value_headers_win_over_a_single_header_of_the_same_name() -> None:
    response = to_http_response(
        {
            "statusCode": 200,
            "headers": {"Vary": "Accept"},
            "multiValueHeaders": {"vary": ["Origin", "Accept-Encoding"]},
        }
    )
    assert [v for k, v in response.headers if k.lower() == "vary"] == ["Origin", "Accept-Encoding"]


def test_response_without_content_type_is_labelled_json() -> None:
    response = to_http_response({"statusCode": 204})
    assert response.header("Content-Type") == "application/json"
    assert response.body == b""


def test_reserved_response_headers_are_remapped() -> None:
    response = to_http_response(
        {"statusCode": 401, "headers": {"WWW-Authenticate": "Bearer", "Content-Type": "x/y"}}
    )
    assert response.header("WWW-Authenticate") is None
    assert response.header("x-amzn-Remapped-WWW-Authenticate") == "Bearer"


def test_handler_content_length_is_not_passed_through() -> None:
    response = to_http_response({"statusCode": 200, "headers": {"Content-Length": "999"}})
    assert response.header("Content-Length") is None


def test_numeric_header_values_become_strings() -> None:
    response = to_http_response({"statusCode": 200, "headers": {"X-RateLimit-Limit": 100}})
    assert response.header("X-RateLimit-Limit") == "100"


@pytest.mark.parametrize(
    "result",
    [
        None,
        "200",
        {},
        {"statusCode": "abc"},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["Content-Type"]},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_response_is_refused(result: Any) -> None:
    with pytest.raises(MalformedProxyResponse):
        to_http_response(result)
