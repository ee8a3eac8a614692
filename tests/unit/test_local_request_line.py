"""The local server's line per request (imgpro.local.server.request_line)."""

from __future__ import annotations

from http import HTTPStatus

from imgpro.local.server import MAX_LOGGED_PATH, request_line


def test_method_path_status_duration_and_team() -> None:
    line = request_line("GET", "/v1/media/abc", 200, 12.34, "t_1")
    assert line == "GET /v1/media/abc 200 12.3ms team=t_1"


def test_no_team_without_an_authenticated_token() -> None:
    assert request_line("GET", "/", 200, 0.26) == "GET / 200 0.3ms"


def test_the_query_is_never_shown() -> None:
    target = "/cdn/private/abc.jpg?Expires=1&Signature=sig&Key-Pair-Id=K2&Policy=p#frag"
    assert request_line("GET", target, 200, 1.0) == "GET /cdn/private/abc.jpg 200 1.0ms"


def test_what_http_server_answered_itself_has_no_duration() -> None:
    assert request_line(None, "", HTTPStatus.REQUEST_URI_TOO_LONG) == "- / 414"


def test_a_long_path_is_cut() -> None:
    line = request_line("GET", "/" + "a" * 1000, 404, 1.0)
    assert line == f"GET /{'a' * (MAX_LOGGED_PATH - 1)}... 404 1.0ms"
