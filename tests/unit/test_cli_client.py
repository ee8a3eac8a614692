"""The client commands (`imgpro upload|list|show|update|delete`): their flags, what they
print, and how they put the API's answers (and its silence) into words, against a small
canned HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from imgpro.cli import build_parser, main, output
from imgpro.cli.api import (
    Api,
    ApiError,
    ClientError,
    Unreachable,
    api_url,
    from_environment,
    token_id,
    transient,
)

# --- a canned API -----------------------------------------------------------------------------


@dataclass
class Canned:
    url: str
    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    """`"METHOD /path?query"` (or `"METHOD /path"` for any query) -> status, headers, body."""
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    later: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    """Answers for the next requests of a kind, after the one in `answers`."""

    def answer(self, request: str, status: int, body: Any = None, **headers: str) -> None:
        self.answers[request] = _encoded(status, body, headers)

    def then(self, request: str, status: int, body: Any = None, **headers: str) -> None:
        self.later.setdefault(request, []).append(_encoded(status, body, headers))

    def next_answer(self, key: str) -> tuple[int, dict[str, str], bytes] | None:
        for request in (key, key.split("?")[0]):
            if request in self.answers:
                found = self.answers[request]
                queued = self.later.get(request)
                if queued:
                    self.answers[request] = queued.pop(0)
                return found
        return None

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _, _ in self.requests]


@pytest.fixture
def api_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Canned]:
    canned = Canned(url="")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            canned.requests.append((self.command, self.path, dict(self.headers), body))
            key = f"{self.command} {self.path}"
            found = canned.next_answer(key)
            status, headers, data = found or (
                404,
                {"Content-Type": "application/json"},
                b'{"error":"Not found","code":"not_found"}',
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    canned.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv("IMGPRO_API_URL", canned.url)
    monkeypatch.setenv("IMGPRO_TOKEN", "3|secret")
    try:
        yield canned
    finally:
        server.shutdown()
        server.server_close()


def _encoded(status: int, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    if body is None or isinstance(body, bytes):
        return status, headers, body or b""
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


READY = {
    "id": "abc123def456",
    "name": "photo.jpg",
    "url": "http://api.test/abc123def456",
    "src": "http://api.test/cdn/abc123def456.jpg",
    "width": 1920,
    "height": 1080,
    "filesize": 33269,
    "tags": ["beach", "sunset"],
    "description": "My awesome photo",
    "expires_at": 1764617000,
}
PROCESSING = {"id": "zzz999yyy888", "name": "big scan.png", "status": "processing"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- flags ------------------------------------------------------------------------------------


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(list(argv))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_upload_takes_many_files_and_the_media_fields() -> None:
    args = build_parser().parse_args(
        ["upload", "a.png", "b.jpg", "--tags", "x,y", "--ttl", "7d", "--private", "--json"]
    )
    assert args.files == ["a.png", "b.jpg"]
    assert (args.tags, args.ttl, args.public, args.json) == ("x,y", "7d", False, True)
    assert build_parser().parse_args(["upload", "a.png", "--public"]).public is True
    assert build_parser().parse_args(["upload", "a.png"]).public is None


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["upload"], "FILE"),
        (["upload", "a.png", "--public", "--private"], "not allowed with"),
        (["upload", "a.png", "--ttl", "1s"], "TTL"),
        (["upload", "a.png", "--tags", ",".join(f"t{n}" for n in range(11))], "--tags"),
        (["upload", "a.png", "--limit-rate", "fast"], "is not a rate"),
        (["upload", "a.png", "--wait-timeout", "0"], "above 0"),
        (["show", "abc"], "is not a media id"),
        (["show", "https://api.test/abc123def456"], "is not a media id"),
        (["delete"], "ID"),
        (["list", "--limit", "101"], "1 to 100"),
        (["list", "--tag-mode", "some"], "invalid choice"),
        (["update", "abc123def456", "--tag-mode", "merge"], "invalid choice"),
        (["update", "abc123def456", "--name", "a/b"], "--name"),
    ],
)
def test_command_lines_that_cannot_be_right_exit_2_on_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    err = refused(capsys, *argv)
    assert complaint in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "rate"),
    [("800", 800.0), ("500K", 512_000.0), ("2M", 2 * 1024**2), ("1.5m", 1.5 * 1024**2)],
)
def test_limit_rate_reads_curl_units(value: str, rate: float) -> None:
    assert build_parser().parse_args(["upload", "a", "--limit-rate", value]).limit_rate == rate


def test_api_url_and_token_come_from_flags_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMGPRO_API_URL", "http://env.test/prod/")
    monkeypatch.setenv("IMGPRO_TOKEN", "1|env")
    assert from_environment(None, None) == Api("http://env.test/prod", "1|env")
    assert from_environment("https://flag.test", "2|flag") == Api("https://flag.test", "2|flag")
    monkeypatch.delenv("IMGPRO_TOKEN")
    assert from_environment(None, None).token is None
    monkeypatch.delenv("IMGPRO_API_URL")
    with pytest.raises(ClientError, match=r"--api-url is required \(or set \$IMGPRO_API_URL\)"):
        from_environment(None, None)
    monkeypatch.setenv("IMGPRO_API_URL", "api.test")
    with pytest.raises(ClientError, match=r"\$IMGPRO_API_URL: 'api.test' is not an API URL") as bad:
        from_environment(None, None)
    assert bad.value.status == 2


@pytest.mark.parametrize("value", ["ftp://x", "http://", "http://h:99999", "http://h/?q=1"])
def test_api_urls_are_http_with_a_host(value: str) -> None:
    with pytest.raises(ValueError):
        api_url(value)


def test_only_a_tokens_id_is_ever_used_to_name_state() -> None:
    assert token_id("12|s3cret|x") == "12"
    assert token_id("bare") == token_id(None) == ""


# --- printing ---------------------------------------------------------------------------------


def test_human_sizes_are_decimal_like_the_plans() -> None:
    assert [output.human_size(n) for n in (None, 0, 999, 1946, 33269, 12_015_271, 150 * 10**6)] == [
        "-",
        "0 B",
        "999 B",
        "1.95 KB",
        "33.3 KB",
        "12 MB",
        "150 MB",
    ]


def test_a_table_aligns_every_column_but_the_last() -> None:
    lines = output.table([READY, PROCESSING]).splitlines()
    assert lines[0].split() == list(output.COLUMNS)
    assert lines[1].split("  ")[0] == "abc123def456"
    assert "1920x1080" in lines[1] and "33.3 KB" in lines[1] and "beach,sunset" in lines[1]
    assert "2025-12-01 19:23 UTC" in lines[1]
    assert lines[1].endswith("http://api.test/abc123def456")
    assert lines[2].endswith("private")
    assert "processing" in lines[2] and "big scan.png" in lines[2]
    starts = [
        line.index(column) for line, column in zip(lines, ["WxH", "1920x1080", "-"], strict=True)
    ]
    assert starts[0] == starts[1]


def test_long_names_and_tags_are_shortened_in_a_table() -> None:
    row = output.row({"id": "x", "name": "n" * 300, "tags": [f"tag{n}" for n in range(10)]})
    assert len(row[1]) == output.NAME_WIDTH and row[1].endswith("…")
    assert len(row[5]) == output.TAGS_WIDTH


def test_details_show_every_field() -> None:
    shown = output.details(
        {**READY, "sizes": {"s": {"src": "http://s", "width": 320, "height": 180, "filesize": 1}}}
    )
    assert "id:          abc123def456" in shown
    assert "size:        33,269 bytes (33.3 KB)" in shown
    assert "visibility:  public" in shown
    assert "tags:        beach, sunset" in shown
    assert "size s:      320x180 http://s" in shown
    failed = output.details({"id": "x", "name": "y", "status": "failed", "failure_reason": "Bad"})
    assert "status:     failed" in failed
    assert "failure:    Bad" in failed and "expires:    never" in failed


# --- errors -----------------------------------------------------------------------------------


def test_api_errors_carry_the_apis_words_its_code_and_each_fields_messages() -> None:
    error = ApiError(
        400,
        error="Validation failed",
        code="validation_error",
        errors={"ttl": ["TTL is too short"], "tags": ["At most 10", "Too long"]},
    )
    assert str(error) == (
        "Validation failed (400 validation_error): ttl: TTL is too short; tags: At most 10 Too long"
    )
    limited = ApiError(429, error="Rate limit exceeded", code="rate_limited", retry_after=42)
    assert str(limited) == "Rate limit exceeded (429 rate_limited); retry after 42 s"


def test_what_may_pass_is_transient() -> None:
    assert transient(ApiError(503, error="x"), answered=False)
    assert transient(ApiError(429, error="x", code="rate_limited"), answered=False)
    assert transient(ApiError(409, error="x", code="conflict"), answered=False)
    assert transient(ApiError(403, error="x", code="AccessDenied"), answered=False)  # S3, expired
    assert not transient(ApiError(403, error="x", code="quota_exceeded"), answered=True)
    assert not transient(ApiError(400, error="x", code="validation_error"), answered=True)
    assert not transient(ApiError(404, error="x", code="not_found"), answered=True)
    assert transient(Unreachable("reset", refused=False), answered=False)
    assert not transient(Unreachable("refused", refused=True), answered=False)
    assert transient(Unreachable("refused", refused=True), answered=True)
    assert not transient(ClientError("other"), answered=True)


def test_a_refused_connection_says_where_and_what_to_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    status, out, err = run(capsys, "list", "--api-url", url)
    assert status == 1 and out == ""
    assert err.startswith(f"imgpro list: error: cannot connect to {url} (Connection refused)")
    assert "--api-url or $IMGPRO_API_URL" in err and "imgpro local" in err
    assert err.count("\n") == 1


def test_a_bad_token_and_a_missing_one_say_so(
    api_server: Canned, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api_server.answer(
        "GET /v1/media",
        401,
        {"error": "Invalid or missing authentication token", "code": "unauthorized"},
    )
    status, _, err = run(capsys, "list")
    assert status == 1
    assert err == (
        "imgpro list: error: Invalid or missing authentication token (401 unauthorized); "
        "check --token or $IMGPRO_TOKEN\n"
    )
    assert api_server.requests[0][2]["Authorization"] == "Bearer 3|secret"
    monkeypatch.delenv("IMGPRO_TOKEN")
    status, _, err = run(capsys, "list")
    assert "this needs a token: pass --token or set $IMGPRO_TOKEN" in err
    assert "Authorization" not in api_server.requests[1][2]


def test_rate_limiting_shows_retry_after(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer(
        "GET /v1/media/abc123def456",
        429,
        {"error": "Rate limit exceeded: 100 requests a minute", "code": "rate_limited"},
        **{"Retry-After": "17"},
    )
    status, _, err = run(capsys, "show", "abc123def456")
    assert status == 1
    assert err == (
        "imgpro show: error: media abc123def456: Rate limit exceeded: 100 requests a minute "
        "(429 rate_limited); retry after 17 s\n"
    )


def test_something_that_is_not_the_api_is_named(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer("GET /v1/media", 200, b"<html>hello</html>", **{"Content-Type": "text/html"})
    status, _, err = run(capsys, "list")
    assert status == 1
    assert "answered text/html, not the API's JSON" in err and "ApiUrl ends in /prod" in err
    api_server.answer("GET /v1/media", 403, {"message": "Missing Authentication Token"})
    status, _, err = run(capsys, "list")
    assert "Missing Authentication Token (HTTP 403); is http" in err


# --- the commands -----------------------------------------------------------------------------


def test_list_prints_a_table_and_how_to_go_on(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer(
        "GET /v1/media", 200, {"data": [READY, PROCESSING], "has_more": True, "next_cursor": "c1"}
    )
    status, out, err = run(capsys, "list", "--limit", "2", "--tags", "a,b", "--tag-mode", "all")
    assert status == 0
    assert out.splitlines()[0].startswith("ID")
    assert len(out.splitlines()) == 3
    assert err == "more: imgpro list --cursor c1 (or --all)\n"
    assert api_server.paths() == ["GET /v1/media?limit=2&tags=a%2Cb&tag_mode=all"]


def test_list_all_follows_the_cursor_to_the_end(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer(
        "GET /v1/media?limit=100", 200, {"data": [READY], "has_more": True, "next_cursor": "c1"}
    )
    api_server.answer(
        "GET /v1/media?limit=100&cursor=c1", 200, {"data": [PROCESSING], "has_more": False}
    )
    status, out, _ = run(capsys, "list", "--all", "--json")
    assert status == 0
    assert json.loads(out) == {"data": [READY, PROCESSING], "has_more": False}
    assert len(api_server.requests) == 2


def test_an_empty_list_says_so_on_stderr(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer("GET /v1/media", 200, {"data": [], "has_more": False})
    assert run(capsys, "list") == (0, "", "no media\n")


def test_show_prints_details_or_json(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer("GET /v1/media/abc123def456", 200, READY)
    status, out, _ = run(capsys, "show", "abc123def456")
    assert status == 0 and "description: My awesome photo" in out
    status, out, _ = run(capsys, "show", "abc123def456", "--json")
    assert json.loads(out) == READY


def test_show_of_unknown_media_names_it(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer(
        "GET /v1/media/abc123def456", 404, {"error": "Media not found", "code": "not_found"}
    )
    assert run(capsys, "show", "abc123def456") == (
        1,
        "",
        "imgpro show: error: media abc123def456: Media not found (404 not_found)\n",
    )


def test_update_sends_only_what_is_given(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer("PATCH /v1/media/abc123def456", 200, READY)
    status, _, _ = run(
        capsys, "update", "abc123def456", "--tags", "x", "--tag-mode", "add", "--private"
    )
    assert status == 0
    assert json.loads(api_server.requests[0][3]) == {
        "tags": "x",
        "tag_mode": "add",
        "public": False,
    }
    run(capsys, "update", "abc123def456", "--description", "")
    assert json.loads(api_server.requests[1][3]) == {"description": ""}  # clears it


def test_update_of_several_uses_the_batch_route(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    api_server.answer("PATCH /v1/media", 200, {"updated": 1, "media": [READY]})
    status, out, err = run(capsys, "update", "abc123def456", "zzz999yyy888", "--name", "n.jpg")
    assert api_server.paths() == ["PATCH /v1/media?ids=abc123def456%2Czzz999yyy888"]
    assert status == 1 and "abc123def456" in out
    assert err == "imgpro update: error: media zzz999yyy888: not found\n"


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["update", "abc123def456"], "nothing to change"),
        (["update", "abc123def456", "--tag-mode", "add"], "nothing to change"),
        (
            ["update", "abc123def456", "--tag-mode", "add", "--public"],
            "--tag-mode applies to --tags",
        ),
    ],
)
def test_update_with_nothing_to_change_is_a_usage_error(
    api_server: Canned, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2 and complaint in err
    assert api_server.requests == []


def test_delete_one_or_many(api_server: Canned, capsys: pytest.CaptureFixture[str]) -> None:
    api_server.answer("DELETE /v1/media/abc123def456", 204)
    assert run(capsys, "delete", "abc123def456") == (0, "deleted abc123def456\n", "")
    api_server.answer(
        "DELETE /v1/media",
        200,
        {
            "deleted": 1,
            "not_found": 1,
            "ids": {"deleted": ["abc123def456"], "not_found": ["zzz999yyy888"]},
        },
    )
    status, out, err = run(capsys, "delete", "abc123def456", "zzz999yyy888", "abc123def456")
    assert status == 1
    assert out == "deleted abc123def456\n"
    assert err == "imgpro delete: error: media zzz999yyy888: not found\n"
    assert api_server.paths()[-1] == "DELETE /v1/media?ids=abc123def456%2Czzz999yyy888"


def test_delete_of_one_unknown_media_fails(
    api_server: Canned, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "delete", "abc123def456", "--json")
    assert status == 1
    assert json.loads(out)["ids"] == {"deleted": [], "not_found": ["abc123def456"]}
    assert "media abc123def456: not found" in err


def test_upload_refuses_the_whole_batch_when_a_file_is_unusable(
    api_server: Canned, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(b"x")
    status, out, err = run(capsys, "upload", str(good), str(tmp_path / "missing.png"))
    assert status == 2 and out == ""
    assert err == f"imgpro upload: error: {tmp_path}/missing.png: no such file\n"
    assert api_server.requests == []


def test_upload_prints_a_line_per_file_and_fails_for_any_failed(
    api_server: Canned,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(b"\xff\xd8 fake")
    second.write_bytes(b"\xff\xd8 other")
    api_server.answer("POST /v1/upload", 201, READY)
    status, out, _ = run(capsys, "upload", str(first), "--json")
    assert status == 0 and json.loads(out) == READY

    api_server.answer("POST /v1/upload", 201, READY)
    api_server.then(
        "POST /v1/upload",
        400,
        {
            "error": "Validation failed",
            "code": "validation_error",
            "errors": {"file": ["Not an image"]},
        },
    )
    status, out, err = run(capsys, "upload", str(first), str(second))
    assert status == 1
    assert out.startswith("abc123def456  photo.jpg") and out.count("\n") == 1
    assert err == (
        f"imgpro upload: error: {second}: Validation failed (400 validation_error): "
        "file: Not an image\n"
        "imgpro upload: error: 1 of 2 files were not uploaded\n"
    )


# --- what the Lambda layer's copy of the package may rely on -------------------------------------


def test_the_cli_does_not_import_rich_until_an_upload_runs() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, imgpro.cli; imgpro.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_without_rich_a_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from imgpro.cli import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setitem(sys.modules, "rich.console", None)  # import fails
    assert isinstance(progress.reporter(bars=True), progress.PlainReporter)
    monkeypatch.delitem(sys.modules, "rich.console")
    assert isinstance(progress.reporter(bars=True), progress.BarReporter)
    assert isinstance(progress.reporter(bars=False), progress.PlainReporter)


def test_the_bar_reporter_draws_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    from imgpro.cli import progress

    reporter = progress.BarReporter()
    bar = reporter.start("photo.png", 1000)
    bar.set_completed(400)
    reporter.note("a note")
    bar.part_sent(1, 2, 400)
    bar.set_completed(1000)
    bar.close()
    err = capsys.readouterr().err
    assert "a note" in err and "photo.png" in err
