"""GET /docs and GET /docs/{asset}: the API playground, Swagger UI on GET /openapi.json,
and at GET /docs/upload a resumable upload demo, Uppy sending a file to S3 in parts
through the /v1/uploads routes (imgpro.endpoints.resumable).

Each page is a static shell; its scripts and styles are files the function ships in
`static/` next to its handler (built from `web/` by `web/build.py`), served from a fixed
list of names, so no path a client sends ever reaches the file system. Everything loads
from this API's own origin, and the page's Content-Security-Policy says so: no inline
script, no third-party host, images only from here and from the CDN that `src` URLs name.

The upload page also connects to S3, where the presigned part URLs point (`connect-src`).

Paths are relative, so the pages work under API Gateway's stage prefix and on a custom
domain alike: from `<base>/docs`, `docs/x.js` is `<base>/docs/x.js` and `openapi.json`
(web/playground.js) is `<base>/openapi.json`; from `<base>/docs/upload`, `x.js` is
`<base>/docs/x.js` and `../v1/uploads` (web/upload.js) is `<base>/v1/uploads`.
"""

from __future__ import annotations

import hashlib
import html
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import imgpro
from imgpro import config
from imgpro.errors import ApiError, NotFound
from imgpro.http import Request, Response

TASK_ROOT = "LAMBDA_TASK_ROOT"
"""Set by Lambda: the folder of the function's own code (handler.py, static/)."""
FUNCTIONS_DIR = "IMGPRO_FUNCTIONS_DIR"
"""Outside Lambda: the local stack's functions folder (imgpro.cli.local.FUNCTIONS_DIR_ENV);
unset, the `functions/` of the checkout this package lives in."""
STATIC = "static"
BUILT = ".built"
"""web/build.py writes it last: without it the folder is missing or half-built."""
BUILD_HINT = "run `make web` (npm ci in web/, then python web/build.py)"

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": _JS,
    "playground.js": _JS,
    "swagger-ui.css": _CSS,
    "index.css": _CSS,
    "favicon-32x32.png": "image/png",
    "LICENSE": _TEXT,
    "NOTICE": _TEXT,
    "swagger-ui-bundle.js.LICENSE.txt": _TEXT,
    "uppy.min.js": _JS,
    "uppy.min.css": _CSS,
    "uppy-LICENSE": _TEXT,
    "upload.js": _JS,
    "imgpro.css": _CSS,
}
"""Every file GET /docs/{asset} serves, with its Content-Type: the names web/build.py
writes. Any other name is a 404, whatever it contains (`..`, `/`, `%00`)."""

LINKED = (
    "favicon-32x32.png",
    "swagger-ui.css",
    "index.css",
    "imgpro.css",
    "swagger-ui-bundle.js",
    "playground.js",
)
"""The assets the playground links (the license files are served, not linked)."""

UPLOAD = "upload"
"""GET /docs/upload: the upload demo, a page rather than a file of `ASSETS`."""
UPLOAD_LINKED = (
    "favicon-32x32.png",
    "uppy.min.css",
    "imgpro.css",
    "uppy.min.js",
    "upload.js",
)
"""The assets the upload page links."""

PAGE_CACHE = "no-cache"
"""The page is small and its policy follows the settings: always revalidated."""
ASSET_CACHE = "public, max-age=300"
"""An asset asked for by its bare name: the name is not versioned, so not for long."""
VERSIONED_ASSET_CACHE = "public, max-age=31536000, immutable"
"""An asset asked for as the page links it, `?v=<hash of its bytes>`: that URL always
means these bytes, so it may be kept for good."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class PlaygroundNotBuilt(ApiError):
    """The function was deployed (or the local stack started) without its static files."""

    status = 503
    code = "playground_not_built"
    message = f"The API playground's files are not built: {BUILD_HINT}, then redeploy"


def playground(request: Request) -> Response:
    asset = request.path_params.get("asset")
    if asset is None:
        return page()
    if asset == UPLOAD:
        return upload_page()
    return asset_response(asset, version=request.query.get("v"))


def page() -> Response:
    """GET /docs: the playground, linking its assets as `docs/<name>`."""
    static = _built_static_dir()
    body = PAGE.format(**{_slot(name): _versioned(static, name, "docs/") for name in LINKED})
    return _page_response(body, content_security_policy())


def upload_page() -> Response:
    """GET /docs/upload: the upload demo, linking its assets as `<name>` (it is in docs/)."""
    static = _built_static_dir()
    body = UPLOAD_PAGE.format(
        **{_slot(name): _versioned(static, name, "") for name in UPLOAD_LINKED}
    )
    return _page_response(body, upload_content_security_policy())


def _page_response(body: str, policy: str) -> Response:
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": PAGE_CACHE,
        "Content-Security-Policy": policy,
        **SECURITY_HEADERS,
    }
    return TextResponse(status=200, body=body, headers=headers)


def asset_response(name: str, *, version: str | None = None) -> Response:
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound("No such file in the API playground")
    data, digest = _read(_built_static_dir(), name)
    headers = {
        "Content-Type": content_type,
        "Cache-Control": VERSIONED_ASSET_CACHE if version == digest else ASSET_CACHE,
        **SECURITY_HEADERS,
    }
    if content_type.startswith("image/"):
        # Binary: base64 in the proxy response (a `BINARY_MEDIA_TYPES` type, image/*).
        return Response(status=200, body=data, headers=headers)
    return TextResponse(status=200, body=data.decode("utf-8"), headers=headers)


def content_security_policy() -> str:
    """Only this origin, plus the CDN's for images (an `src` shown or opened in the page)
    and for fetches (the share link's 302 to an image, followed by Try it out).

    Swagger UI needs no inline script, no eval and no inline `<style>`: React sets its
    style attributes through the DOM, which `style-src` does not govern. `data:` images
    are the icons inlined in swagger-ui.css; `blob:` the image responses it displays."""
    cdn = _origin(config.settings().cdn_base_url)
    extra = f" {cdn}" if cdn else ""
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "font-src": "'self'",
        "img-src": f"'self' data: blob:{extra}",
        "connect-src": f"'self'{extra}",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    return _joined(directives)


def upload_content_security_policy() -> str:
    """The upload page's: this origin, the CDN's for the uploaded image it shows, and S3's
    for the parts, which the browser PUTs to presigned URLs (`part_upload_origin`).

    Uppy needs no inline script, no eval and no inline `<style>` either: Preact sets its
    style attributes through the DOM (CSSOM), which `style-src` does not govern. `data:`
    images are the icons inlined in uppy.min.css; `blob:` the Dashboard's thumbnails."""
    cdn = _origin(config.settings().cdn_base_url)
    extra = f" {cdn}" if cdn else ""
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": f"'self' data: blob:{extra}",
        "connect-src": f"'self' {part_upload_origin()}",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    return _joined(directives)


def part_upload_origin() -> str:
    """Where the browser sends the parts of a resumable upload: the origin of the URLs
    `imgpro.resumable.sign_part` presigns, asked of the same S3 client, since the
    addressing style, the region's host name (us-east-1 has none in it) and an emulator's
    endpoint (the local stack's moto) all decide it. Presigning is local: no request."""
    from imgpro.clients import s3
    from imgpro.keys import incoming_key

    url = s3().generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": config.settings().bucket_name,
            "Key": incoming_key("origin"),
            "UploadId": "origin",
            "PartNumber": 1,
        },
        ExpiresIn=60,
    )
    origin = _origin(url)
    if origin is None:  # pragma: no cover - boto3 always presigns an absolute URL
        raise RuntimeError(f"S3 presigned a URL without an origin: {url}")
    return origin


def _joined(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def static_dir() -> Path:
    """The playground function's `static/`: next to handler.py in Lambda, and in the
    functions folder the local stack (or a test) runs the handlers from otherwise."""
    task_root = os.environ.get(TASK_ROOT, "").strip()
    if task_root:
        return Path(task_root) / STATIC
    functions = os.environ.get(FUNCTIONS_DIR, "").strip()
    if functions:
        return Path(functions) / "playground" / STATIC
    return Path(imgpro.__file__).resolve().parents[4] / "functions" / "playground" / STATIC


@dataclass(frozen=True)
class TextResponse(Response):
    """A response whose body is text (`str`), sent as it is: not JSON-encoded, and not
    base64, which API Gateway would hand a browser asking for a script or a stylesheet
    (`Accept: */*`, no binary media type) undecoded."""

    def to_proxy(self) -> dict[str, Any]:
        if not isinstance(self.body, str):
            return super().to_proxy()
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "isBase64Encoded": False,
        }


def _built_static_dir() -> Path:
    static = static_dir()
    if not (static / BUILT).is_file():
        raise PlaygroundNotBuilt()
    return static


def _versioned(static: Path, name: str, prefix: str) -> str:
    """A page's link to an asset: relative (`prefix` leads from the page to docs/), with
    its content hash as `?v=`."""
    return html.escape(f"{prefix}{name}?v={_read(static, name)[1]}")


def _read(static: Path, name: str) -> tuple[bytes, str]:
    path = static / name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise PlaygroundNotBuilt() from None
    return _read_file(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2 * len(ASSETS))
def _read_file(path: str, mtime_ns: int, size: int) -> tuple[bytes, str]:
    """Bytes and short content hash of a file, kept while it stays the same file (a
    warm container reads each once; a local rebuild is picked up)."""
    data = Path(path).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _slot(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgpro API playground</title>
<link rel="icon" type="image/png" href="{favicon_32x32_png}">
<link rel="stylesheet" href="{swagger_ui_css}">
<link rel="stylesheet" href="{index_css}">
<link rel="stylesheet" href="{imgpro_css}">
</head>
<body>
<nav class="imgpro-nav"><a href="docs/upload">Resumable upload demo</a></nav>
<noscript>The API playground needs JavaScript. The API itself is described by
<a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="{swagger_ui_bundle_js}"></script>
<script src="{playground_js}"></script>
</body>
</html>
"""
"""One placeholder per name of `LINKED`, each non-alphanumeric character as `_`."""

UPLOAD_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgpro: resumable upload</title>
<link rel="icon" type="image/png" href="{favicon_32x32_png}">
<link rel="stylesheet" href="{uppy_min_css}">
<link rel="stylesheet" href="{imgpro_css}">
</head>
<body class="imgpro-upload">
<header>
<h1>Resumable upload</h1>
<p>A large photo goes straight to S3 in 5 MiB parts through
<code>/v1/uploads</code>: pause it, lose the connection or reload the page, and it
resumes with the parts S3 does not have yet. Every endpoint is in the
<a href="../docs">API playground</a>.</p>
</header>
<main>
<noscript><p>This page needs JavaScript.</p></noscript>
<section>
<label for="token">API token</label>
<div class="token-row">
<input id="token" type="password" autocomplete="off" spellcheck="false"
 placeholder="id|secret, with the write ability">
<button id="forget-token" type="button">Forget</button>
</div>
<p class="hint">Kept in this browser (localStorage), and sent only to this API.</p>
</section>
<fieldset>
<legend>Media</legend>
<div><label for="description">Description</label>
<input id="description" type="text" autocomplete="off"></div>
<div><label for="tags">Tags</label>
<input id="tags" type="text" autocomplete="off" placeholder="comma,separated"></div>
<div><label for="ttl">Expires after</label>
<input id="ttl" type="text" autocomplete="off" placeholder="e.g. 1h or 7d"></div>
<div><label for="public">Visibility</label>
<select id="public">
<option value="">the team's default</option>
<option value="1">public</option>
<option value="0">private</option>
</select></div>
</fieldset>
<div id="dashboard"></div>
<section>
<ol id="parts"></ol>
<ul id="notes"></ul>
</section>
<section id="result" hidden>
<h2>Media object</h2>
<p id="media-status"></p>
<pre id="media-json"></pre>
<img id="media-image" alt="" hidden>
<a id="media-link" target="_blank" rel="noopener" hidden>Open the image</a>
</section>
</main>
<script src="{uppy_min_js}"></script>
<script src="{upload_js}"></script>
</body>
</html>
"""
"""One placeholder per name of `UPLOAD_LINKED`, as in `PAGE`."""
