"""GET /docs and GET /docs/{asset} through the real playground handler, as API Gateway
calls it: the page and its policy, each file of the fixed list with its type and cache
rule, and nothing else: unknown names and traversal attempts are 404s that never touch the
file system, and a function shipped without its files says how to build them (503)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from imgpro import config, playground
from tests.conftest import CDN
from tests.support.gateway import FakeContext, Gateway, handler_module

FILES = {
    "swagger-ui-bundle.js": b"window.SwaggerUIBundle = function () {};\n",
    "playground.js": b'SwaggerUIBundle({ url: "openapi.json" });\n',
    "swagger-ui.css": b".swagger-ui { color: #3b4151 }\n",
    "index.css": b"body { margin: 0 }\n",
    "favicon-32x32.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
    "LICENSE": b"Apache License\n",
    "NOTICE": b"swagger-ui\n",
    "swagger-ui-bundle.js.LICENSE.txt": b"/*! licenses */\n",
}


@pytest.fixture
def functions_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A functions folder whose playground has built (stand-in) files, as the local stack
    names it; no Lambda task root."""
    static = tmp_path / "functions" / "playground" / "static"
    static.mkdir(parents=True)
    for name, data in FILES.items():
        (static / name).write_bytes(data)
    (static / playground.BUILT).write_text("swagger-ui-dist test\n")
    monkeypatch.delenv(playground.TASK_ROOT, raising=False)
    monkeypatch.setenv(playground.FUNCTIONS_DIR, str(tmp_path / "functions"))
    return tmp_path / "functions"


@pytest.fixture
def api(aws: None, functions_dir: Path) -> Gateway:
    return Gateway()


def test_the_page_loads_every_asset_relative_to_itself_with_its_version(api: Gateway) -> None:
    response = api.get("/docs")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.body.decode()
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    # `docs/x` from `<base>/docs` is `<base>/docs/x`, under any stage prefix.
    static = playground.static_dir()
    linked_assets = ("swagger-ui-bundle.js", "playground.js", "swagger-ui.css", "index.css")
    assert sorted(linked) == sorted(
        [
            *(
                f"docs/{name}?v={playground._read(static, name)[1]}"
                for name in (*linked_assets, "favicon-32x32.png")
            ),
            "openapi.json",  # the <noscript> link: <base>/openapi.json
        ]
    )
    assert "<script>" not in page and "style=" not in page


def test_the_page_is_text_not_base64(functions_dir: Path, aws: None) -> None:
    event = Gateway.event(
        "GET", "/docs", _route("/docs"), {}, "", {"Host": "api.example.test"}, None
    )
    proxied = handler_module("playground").handler(event, FakeContext())
    assert proxied["isBase64Encoded"] is False
    assert proxied["body"].startswith("<!doctype html>")


def test_the_policy_allows_this_origin_and_the_cdn_only(api: Gateway) -> None:
    policy = _policy(api.get("/docs").headers["Content-Security-Policy"])
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "font-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", CDN],
        "connect-src": ["'self'", CDN],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_the_cdn_in_the_policy_is_the_origin_of_the_configured_base(api: Gateway) -> None:
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(config.CDN_BASE_URL, "http://127.0.0.1:8787/cdn/")
            config.settings.cache_clear()
            policy = _policy(api.get("/docs").headers["Content-Security-Policy"])
    finally:
        config.settings.cache_clear()
    assert policy["img-src"] == ["'self'", "data:", "blob:", "http://127.0.0.1:8787"]
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8787"]


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_asset_with_its_type(api: Gateway, name: str) -> None:
    response = api.get(f"/docs/{name}")
    assert response.status == 200, response
    assert response.body == FILES[name]
    assert response.headers["Content-Type"] == playground.ASSETS[name]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == playground.ASSET_CACHE


def test_text_assets_are_text_and_images_base64_in_the_proxy_response(
    functions_dir: Path, aws: None
) -> None:
    for name, encoded in (("swagger-ui-bundle.js", False), ("favicon-32x32.png", True)):
        proxied = _invoke(f"/docs/{name}", {"asset": name})
        assert proxied["isBase64Encoded"] is encoded
        body = base64.b64decode(proxied["body"]) if encoded else proxied["body"].encode()
        assert body == FILES[name]


def test_an_asset_at_its_current_version_is_cached_for_good(api: Gateway) -> None:
    version = playground._read(playground.static_dir(), "swagger-ui.css")[1]
    fresh = api.get(f"/docs/swagger-ui.css?v={version}")
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = api.get("/docs/swagger-ui.css?v=0123456789abcdef")
    assert stale.headers["Cache-Control"] == playground.ASSET_CACHE


def test_a_rebuilt_asset_gets_a_new_version(api: Gateway, functions_dir: Path) -> None:
    before = api.get("/docs").body
    path = functions_dir / "playground" / "static" / "playground.js"
    path.write_bytes(b"/* rebuilt, and longer */\n")
    after = api.get("/docs").body
    assert before != after
    assert api.get("/docs/playground.js").body == b"/* rebuilt, and longer */\n"


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "swagger-ui-bundle.js.map",
        "swagger-ui.js",
        ".built",
        "SWAGGER-UI.CSS",
        "swagger-ui.css ",
        "swagger-ui.css%00",
        "..",
        "..%2Fhandler.py",
        "..%2F..%2Fupload%2Fhandler.py",
        "%2E%2E%2Fhandler.py",
        "%2Fetc%2Fpasswd",
        "static%2Fswagger-ui.css",
        "..%5Chandler.py",
    ],
)
def test_anything_else_is_not_found(api: Gateway, name: str) -> None:
    response = api.get(f"/docs/{name}")
    assert response.status == 404
    assert response.json() == {"error": "No such file in the API playground", "code": "not_found"}


def test_a_traversal_never_reaches_the_file_system(
    api: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reads(*args: object) -> None:
        raise AssertionError("read a file")

    monkeypatch.setattr(playground, "_read", no_reads)
    monkeypatch.setattr(playground, "_built_static_dir", no_reads)
    assert api.get("/docs/..%2F..%2F..%2Fetc%2Fpasswd").status == 404


@pytest.mark.parametrize("path", ["/docs", "/docs/swagger-ui-bundle.js"])
def test_without_the_built_files_the_answer_says_how_to_build_them(
    api: Gateway, functions_dir: Path, path: str
) -> None:
    (functions_dir / "playground" / "static" / playground.BUILT).unlink()
    response = api.get(path)
    assert response.status == 503
    assert response.json()["code"] == "playground_not_built"
    assert "make web" in response.json()["error"]


def test_a_missing_file_of_a_built_folder_is_503_not_500(api: Gateway, functions_dir: Path) -> None:
    (functions_dir / "playground" / "static" / "swagger-ui.css").unlink()
    assert api.get("/docs/swagger-ui.css").status == 503
    assert api.get("/docs").status == 503


def test_in_lambda_the_files_are_next_to_the_handler(
    api: Gateway, functions_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(playground.TASK_ROOT, str(functions_dir / "playground"))
    monkeypatch.setenv(playground.FUNCTIONS_DIR, "/nonexistent")
    assert playground.static_dir() == functions_dir / "playground" / "static"
    assert api.get("/docs/NOTICE").body == FILES["NOTICE"]


def test_by_default_the_files_are_those_of_this_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(playground.TASK_ROOT, raising=False)
    monkeypatch.delenv(playground.FUNCTIONS_DIR, raising=False)
    repo = Path(__file__).resolve().parents[2]
    assert playground.static_dir() == repo / "functions" / "playground" / "static"


def test_the_build_writes_exactly_the_files_served() -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "web" / "build.py"
    spec = importlib.util.spec_from_file_location("web_build", path)
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert set(build.FROM_DIST) | set(build.OWN) == set(playground.ASSETS)
    assert build.STAMP == playground.BUILT


def _route(path: str):
    from tests.support.gateway import match_route

    matched = match_route("GET", path)
    assert matched is not None
    return matched[0]


def _invoke(path: str, params: dict[str, str]) -> dict:
    event = Gateway.event("GET", path, _route(path), params, "", {"Host": "api.example.test"}, None)
    return handler_module("playground").handler(event, FakeContext())


def _policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}
