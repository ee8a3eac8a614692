"""GET /docs and GET /docs/{asset} through the real playground handler, as API Gateway
calls it: the page and its policy, the upload demo at GET /docs/upload and its policy
(S3's origin, where the parts go, included), each file of the fixed list with its type and
cache rule, and nothing else: unknown names and traversal attempts are 404s that never
touch the file system, and a function shipped without its files says how to build them
(503)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from imgpro import clients, config, playground
from tests.conftest import BUCKET, CDN
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
    "uppy.min.js": b"globalThis.Uppy = {};\n",
    "uppy.min.css": b".uppy-Root { color: #333 }\n",
    "uppy-LICENSE": b"The MIT License (MIT)\n",
    "upload.js": b'new Uppy.Uppy().use(Uppy.AwsS3, { endpoint: "../v1/uploads" });\n',
    "imgpro.css": b".imgpro-nav { text-align: right }\n",
}
S3_US_EAST_1 = f"https://{BUCKET}.s3.amazonaws.com"
"""Where boto3 presigns a part URL for the test bucket in us-east-1 (virtual-hosted style:
that region's host name has no region in it)."""


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
    linked_assets = (
        "swagger-ui-bundle.js",
        "playground.js",
        "swagger-ui.css",
        "index.css",
        "imgpro.css",
    )
    assert sorted(linked) == sorted(
        [
            *(
                f"docs/{name}?v={playground._read(static, name)[1]}"
                for name in (*linked_assets, "favicon-32x32.png")
            ),
            "openapi.json",  # the <noscript> link: <base>/openapi.json
            "docs/upload",  # the upload demo: <base>/docs/upload
        ]
    )
    assert "<script>" not in page and "style=" not in page


def test_the_upload_page_loads_uppy_and_its_script_relative_to_itself(api: Gateway) -> None:
    response = api.get("/docs/upload")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = response.body.decode()
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    # From `<base>/docs/upload`, `x` is `<base>/docs/x` and `../docs` is the playground.
    static = playground.static_dir()
    assets = ("uppy.min.js", "uppy.min.css", "upload.js", "imgpro.css", "favicon-32x32.png")
    assert sorted(linked) == sorted(
        [*(f"{name}?v={playground._read(static, name)[1]}" for name in assets), "../docs"]
    )
    # Scripts after the elements they look up; none inline, no inline style.
    assert (
        page.index('id="dashboard"') < page.index('src="uppy.min.js') < page.index('src="upload.js')
    )
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    for element in ('id="token"', 'id="description"', 'id="tags"', 'id="ttl"', 'id="public"'):
        assert element in page


def test_the_upload_page_is_text_not_base64(functions_dir: Path, aws: None) -> None:
    proxied = _invoke("/docs/upload", {"asset": "upload"})
    assert proxied["statusCode"] == 200
    assert proxied["isBase64Encoded"] is False
    assert proxied["body"].startswith("<!doctype html>")


def test_the_upload_policy_adds_s3_for_the_parts_and_nothing_else(api: Gateway) -> None:
    policy = _policy(api.get("/docs/upload").headers["Content-Security-Policy"])
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        # Uppy needs no 'unsafe-inline': Preact sets styles through the DOM.
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", CDN],
        "connect-src": ["'self'", S3_US_EAST_1],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    # The playground's own policy does not grow with it.
    assert S3_US_EAST_1 not in api.get("/docs").headers["Content-Security-Policy"]


def test_the_s3_origin_is_that_of_the_part_urls_the_api_signs(
    functions_dir: Path, tokens: dict[str, str]
) -> None:
    api = Gateway(tokens)
    started = api.post(
        "/v1/uploads/s3/multipart",
        token="acme",
        json_body={"filename": "big.png", "type": "image/png", "metadata": {"size": "1000"}},
    )
    assert started.status == 201, started
    upload = started.json()
    signed = api.get(
        f"/v1/uploads/s3/multipart/{upload['uploadId']}/1?key={upload['key']}", token="acme"
    )
    assert signed.status == 200, signed
    url = signed.json()["url"]
    parts = urlsplit(url)
    policy = _policy(api.get("/docs/upload").headers["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'", f"{parts.scheme}://{parts.netloc}"]


@pytest.mark.parametrize(
    ("environment", "origin"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, f"https://{BUCKET}.s3.eu-west-1.amazonaws.com"),
        # The local stack: moto's endpoint, the bucket in the path.
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:40123"}, "http://127.0.0.1:40123"),
    ],
)
def test_the_s3_origin_follows_the_region_and_the_endpoint(
    api: Gateway, environment: dict[str, str], origin: str
) -> None:
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environment.items():
                patch.setenv(name, value)
            clients.reset()
            policy = _policy(api.get("/docs/upload").headers["Content-Security-Policy"])
    finally:
        clients.reset()
    assert policy["connect-src"] == ["'self'", origin]


def test_the_upload_page_needs_the_built_files(api: Gateway, functions_dir: Path) -> None:
    (functions_dir / "playground" / "static" / "uppy.min.js").unlink()
    assert api.get("/docs/upload").status == 503
    (functions_dir / "playground" / "static" / playground.BUILT).unlink()
    response = api.get("/docs/upload")
    assert response.status == 503
    assert response.json()["code"] == "playground_not_built"


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
        "Upload",
        "upload.html",
        "upload%2F",
        "uppy.min.js.map",
        "uppy.min.mjs",
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
    assert sorted(build.served()) == sorted(playground.ASSETS)
    assert len(set(build.served())) == len(build.served())
    assert build.STAMP == playground.BUILT
    # Every package the build copies from is pinned exactly.
    for package in build.FROM_PACKAGES:
        assert re.fullmatch(r"\d+\.\d+\.\d+", build.pinned_version(package)), package
    assert build.pinned_version("uppy").startswith("5."), "Uppy 6 lost aws-s3's endpoint"
    assert set(playground.LINKED) <= set(playground.ASSETS)
    assert set(playground.UPLOAD_LINKED) <= set(playground.ASSETS)


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
