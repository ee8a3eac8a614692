"""The resumable upload demo (GET /docs/upload) in a real browser: Debian's headless
Chromium, driven by Playwright (no browser download: `executable_path`), against the local
stack, whose presigned part URLs point at its moto.

A 30 MB photo goes through Uppy's Dashboard in six 5 MiB parts, straight to S3. Two parts
arrive; the other four are held on the way, and the page is reloaded, as a person closing
the tab mid-upload would. Back on the page, the file and the upload are restored (Golden
Retriever), and the upload resumes: the page asks the API which parts S3 has, and sends
only the four others, one of which fails once and is sent again. The upload completes,
the page shows the ready media object and its image, and the stored bytes are the file's.
All along, the page's Content-Security-Policy refuses nothing, and nothing leaves for
another origin but the parts, for S3.

Chromium is a test dependency (`make test` installs it with apt-get when missing): without
it this test fails, it does not skip. Set IMGPRO_CHROMIUM to use another binary, and
IMGPRO_UPLOAD_SCREENSHOT to a path to keep a screenshot of the page with its result.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route

from tests.support import images
from tests.support.browser import REPORT_CSP_VIOLATIONS

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
READY_TIMEOUT_MS = 60_000
PART_SIZE = 5 * 1024 * 1024
"""What web/upload.js asks Uppy for: S3's smallest part."""
IMAGE_SIZE = (3200, 3125)
"""Random RGB pixels: about 30 MB as a PNG, which the pipeline stores as it is sent."""
ARRIVED_BEFORE_RELOAD = 2
FAILS_ONCE = 4
"""The part whose first PUT after the reload fails (a network error): Uppy sends it again."""
FIELDS = {"description": "A large photo, sent in parts", "tags": "resumable,e2e", "ttl": "1d"}


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid PNG of about 30 MB: noise does not compress (level 1: quick to write)."""
    path = tmp_path_factory.mktemp("photo") / "large-photo.png"
    path.write_bytes(images.encode(images.noise(IMAGE_SIZE), "PNG", compress_level=1))
    return path


class S3Parts:
    """Every part the page PUTs to S3 (moto), through a route that holds the parts past
    the first two until the page is reloaded, and fails one PUT once after it."""

    def __init__(self, aws_endpoint: str) -> None:
        self.origin = _origin(aws_endpoint)
        self.reloaded = False
        self.sent: dict[bool, list[int]] = {False: [], True: []}
        """Part numbers PUT before the reload (False) and after (True), failures too."""
        self.held: list[Route] = []
        self.failed: list[int] = []
        self._lock = threading.Lock()

    def matches(self, url: str) -> bool:
        return _origin(url) == self.origin

    def route(self, route: Route) -> None:
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        number = int(parse_qs(urlsplit(request.url).query)["partNumber"][0])
        with self._lock:
            self.sent[self.reloaded].append(number)
            if not self.reloaded and number > ARRIVED_BEFORE_RELOAD:
                # Never answered: the reload cancels it, as closing the tab would.
                self.held.append(route)
                return
            fail = self.reloaded and number == FAILS_ONCE and not self.failed
            if fail:
                self.failed.append(number)
        if fail:
            route.abort("failed")
        else:
            route.continue_()


class Visit:
    """A fresh browser profile on the upload page, recording every request it makes and
    whatever its console and its CSP complain about."""

    def __init__(self, browser: Browser, stack: LocalStackProcess, screenshot: Path) -> None:
        self.base_url = stack.base_url
        self.screenshot = screenshot
        self.requests: list[Request] = []
        self.console: list[str] = []
        self.csp_violations: list[str] = []
        self.parts = S3Parts(stack.aws_endpoint)
        self.context = browser.new_context(viewport={"width": 1200, "height": 1000})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.expose_function("__imgproCspViolation", self._csp_violation)
        self.context.add_init_script(REPORT_CSP_VIOLATIONS)
        self.context.on("request", self._request)
        self.context.route(self.parts.matches, self.parts.route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def open(self, path: str = "/docs/upload") -> Page:
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status == 200
        return self.page

    def api_calls(self, method: str, tail: str = "") -> list[Request]:
        """Requests to the upload routes, `tail` being the path after /s3/multipart."""
        prefix = f"{self.base_url}/v1/uploads/s3/multipart{tail}"
        return [
            request
            for request in self.requests
            if request.method == method and request.url.split("?")[0] == prefix
        ]

    def assert_clean(self) -> None:
        """Nothing refused, logged as an error or a warning (but the part failed on
        purpose), or sent to an origin other than the stack's and S3's."""
        where = f"(screenshot: {self.screenshot})"
        assert self.csp_violations == [], f"the page's CSP refused {where}: {self.csp_violations}"
        assert self.console == [], f"console {where}: {self.console}"
        allowed = (_origin(self.base_url), self.parts.origin, None)
        foreign = [r.url for r in self.requests if _origin(r.url) not in allowed]
        assert foreign == [], f"requests to other origins {where}: {foreign}"

    def close(self) -> None:
        # Where the test ended, passed or not: a failure message names the file.
        self.page.screenshot(path=self.screenshot, full_page=True)
        self.context.close()

    def _csp_violation(self, report: str) -> None:
        self.csp_violations.append(report)

    def _request(self, request: Request) -> None:
        self.requests.append(request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        # Chromium reports the PUT that the test fails on purpose.
        url = message.location.get("url", "")
        if "net::ERR_FAILED" in message.text and self.parts.matches(url):
            return
        self.console.append(f"{message.type}: {message.text} ({url})")


@pytest.fixture
def visit(
    local_stack: LocalStackProcess, browser: Browser, built: None, tmp_path: Path
) -> Iterator[Visit]:
    opened = Visit(browser, local_stack, tmp_path / "page.png")
    yield opened
    opened.close()


def test_a_large_photo_resumes_after_a_reload_and_arrives_whole(
    visit: Visit, local_stack: LocalStackProcess, photo: Path
) -> None:
    size = photo.stat().st_size
    parts = math.ceil(size / PART_SIZE)
    assert parts == 6, f"{size:,} bytes make {parts} parts of 5 MiB, not 6"
    token = local_stack.tokens["acme:*"]

    page = visit.open()
    page.fill("#token", token)
    for name, value in FIELDS.items():
        page.fill(f"#{name}", value)
    page.select_option("#public", "0")
    page.locator(".uppy-Dashboard-input").first.set_input_files(photo)
    page.locator(".uppy-StatusBar-actionBtn--upload").click()

    # Two parts in S3, the file kept in the browser (IndexedDB), the four others on the way.
    page.locator("#parts li[data-state=sent]").nth(ARRIVED_BEFORE_RELOAD - 1).wait_for()
    page.locator("body[data-kept=true]").wait_for()
    _wait_until(page, lambda: len(visit.parts.held) == parts - ARRIVED_BEFORE_RELOAD)
    [created] = visit.api_calls("POST")
    upload = created.response().json()  # type: ignore[union-attr]
    assert upload["media"]["status"] == "processing"
    in_s3 = _list_parts(local_stack, token, upload)
    assert [part["PartNumber"] for part in in_s3] == [1, 2]
    assert [part["Size"] for part in in_s3] == [PART_SIZE, PART_SIZE]
    assert sorted(visit.parts.sent[False]) == list(range(1, parts + 1))

    # Gone mid-upload, and back: the token, the file and the upload are still there.
    visit.parts.reloaded = True
    page.reload()
    page.locator("body[data-upload=restored]").wait_for()
    assert page.input_value("#token") == token
    page.locator(".uppy-StatusBar-actionBtn--upload").click()

    page.locator("body[data-upload=ready]").wait_for(timeout=READY_TIMEOUT_MS)
    # One upload, resumed: S3 was asked which parts it had, and only the others were sent
    # (the one that failed, twice).
    assert len(visit.api_calls("POST")) == 1
    assert len(visit.api_calls("GET", f"/{upload['uploadId']}")) == 1
    assert visit.parts.failed == [FAILS_ONCE]
    assert sorted(visit.parts.sent[True]) == sorted([*range(3, parts + 1), FAILS_ONCE])
    [completed] = visit.api_calls("POST", f"/{upload['uploadId']}/complete")
    sent_parts = json.loads(completed.post_data or "{}")["parts"]
    assert [part["PartNumber"] for part in sent_parts] == list(range(1, parts + 1))
    states = page.eval_on_selector_all(
        "#parts li", "(items) => items.map((item) => [item.dataset.part, item.dataset.state])"
    )
    assert states == [["1", "kept"], ["2", "kept"], *([str(n), "sent"] for n in range(3, 7))]

    media = json.loads(page.inner_text("#media-json"))
    assert media["id"] == upload["media"]["id"]
    assert (media["width"], media["height"]) == IMAGE_SIZE
    assert media["filesize"] == size
    assert media["description"] == FIELDS["description"]
    assert media["tags"] == ["resumable", "e2e"]
    assert media["expires_at"]
    assert "url" not in media  # private: no share link
    assert "status" not in media

    # The page shows the image, from its (signed) `src`, under its own policy ...
    shown = page.eval_on_selector(
        "#media-image",
        """async (image) => {
            await image.decode();
            return [image.naturalWidth, image.naturalHeight];
        }""",
    )
    assert tuple(shown) == IMAGE_SIZE
    # ... and the stored bytes are the file's.
    stored = requests.get(media["src"], timeout=30)
    assert stored.status_code == 200
    assert hashlib.sha256(stored.content).hexdigest() == _sha256(photo)

    shot = os.environ.get("IMGPRO_UPLOAD_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)
    visit.assert_clean()


def test_the_playground_links_to_the_upload_page(visit: Visit) -> None:
    page = visit.open("/docs")
    page.get_by_role("link", name="Resumable upload demo").click()
    page.locator(".uppy-Dashboard").wait_for()
    assert page.url == f"{visit.base_url}/docs/upload"
    page.get_by_role("link", name="API playground").click()
    page.locator("#operations-Media-uploadMedia").wait_for()
    assert page.url == f"{visit.base_url}/docs"
    visit.assert_clean()


def _list_parts(
    stack: LocalStackProcess, token: str, upload: dict[str, Any]
) -> list[dict[str, Any]]:
    response = requests.get(
        f"{stack.base_url}/v1/uploads/s3/multipart/{upload['uploadId']}",
        params={"key": upload["key"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    parts: list[dict[str, Any]] = response.json()
    return parts


def _wait_until(page: Page, condition: Any, timeout_ms: int = 10_000) -> None:
    """Let Playwright dispatch its events (route handlers) until `condition()` holds."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return None  # data:, blob:, about:
    return f"{parts.scheme}://{parts.netloc}"
