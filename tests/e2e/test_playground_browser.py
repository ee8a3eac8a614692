"""The API playground in a real browser: Debian's headless Chromium, driven by Playwright
(no browser download: `executable_path`), against the local stack's GET /docs and its real
GET /openapi.json. A person's first visit, step by step: Authorize with a token, open
POST /v1/upload, attach an image, Execute, see 201, and the returned `src` shows in the
page. All along, nothing may leave for another origin and the page's
Content-Security-Policy may refuse nothing: the policy and the page must agree.

Chromium is a test dependency (`make test` installs it with apt-get when missing): without
it this test fails, it does not skip. Set IMGPRO_CHROMIUM to use another binary, and
IMGPRO_PLAYGROUND_SCREENSHOT to a path to keep a screenshot of the page with its result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
)

from tests.support.browser import REPORT_CSP_VIOLATIONS
from tests.support.images import png

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
IMAGE_SIZE = (120, 80)
FIELDS = {
    "description": "Uploaded from the playground",
    "tags": "playground,e2e",
    "ttl": "1d",
    "public": "0",
}
"""What the first test types into the upload form's every text field."""
SWAGGER_PLACEHOLDER = "string"
"""What Swagger UI pre-fills a form field with when its schema gives no `example`."""


class Visit:
    """A fresh browser profile on the playground, recording every request it makes and
    whatever its console and its CSP complain about."""

    def __init__(self, browser: Browser, base_url: str, screenshot: Path) -> None:
        self.base_url = base_url
        self.screenshot = screenshot
        self.requests: list[str] = []
        self.console: list[str] = []
        self.csp_violations: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.expose_function("__imgproCspViolation", self._csp_violation)
        self.context.add_init_script(REPORT_CSP_VIOLATIONS)
        self.context.on("request", self._request)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def open(self) -> Locator:
        """GET /docs; the POST /v1/upload operation once the document has loaded."""
        response = self.page.goto(f"{self.base_url}/docs")
        assert response is not None and response.status == 200
        upload = self.page.locator("#operations-Media-uploadMedia")
        upload.wait_for()
        return upload

    def assert_clean(self) -> None:
        """Nothing refused, logged as an error or a warning, or sent to another origin."""
        where = f"(screenshot: {self.screenshot})"
        assert self.csp_violations == [], f"the page's CSP refused {where}: {self.csp_violations}"
        assert self.console == [], f"console {where}: {self.console}"
        origin = _origin(self.base_url)
        foreign = [url for url in self.requests if _origin(url) not in (origin, None)]
        assert foreign == [], f"requests to other origins {where}: {foreign}"

    def close(self) -> None:
        # Where the test ended, passed or not: a failure message names the file.
        self.page.screenshot(path=self.screenshot)
        self.context.close()

    def _csp_violation(self, report: str) -> None:
        self.csp_violations.append(report)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")


@pytest.fixture
def visit(
    local_stack: LocalStackProcess, browser: Browser, built: None, tmp_path: Path
) -> Iterator[Visit]:
    opened = Visit(browser, local_stack.base_url, tmp_path / "page.png")
    yield opened
    opened.close()


def test_a_token_and_an_upload_from_the_playground(
    visit: Visit, local_stack: LocalStackProcess
) -> None:
    base = local_stack.base_url
    upload = visit.open()
    # The document is the stack's own, found relative to the page.
    assert f"{base}/openapi.json" in visit.requests

    _authorize(visit.page, local_stack.tokens["acme:*"])
    _open(upload)
    created = _upload(upload, png(IMAGE_SIZE), FIELDS)
    assert (created["width"], created["height"]) == IMAGE_SIZE
    assert created["description"] == FIELDS["description"]
    assert created["tags"] == ["playground", "e2e"]
    assert created["expires_at"]

    # The `src` the API returned (a signed /cdn/private/ URL: `public` was 0) loads as an
    # image in the page itself, under the page's own policy.
    natural = visit.page.evaluate(
        """async (src) => {
            const image = new Image();
            image.src = src;
            await image.decode();
            return [image.naturalWidth, image.naturalHeight];
        }""",
        created["src"],
    )
    assert tuple(natural) == IMAGE_SIZE
    fetched = requests.get(created["src"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"].startswith("image/")

    shot = os.environ.get("IMGPRO_PLAYGROUND_SCREENSHOT")
    if shot:  # the form as sent and the API's answer, in one screen
        visit.page.set_viewport_size({"width": 1280, "height": 1700})
        upload.evaluate("(element) => element.scrollIntoView()")
        visit.page.screenshot(path=shot)

    # persistAuthorization: the token survives a reload.
    visit.page.reload()
    visit.page.locator("#operations-Media-uploadMedia").wait_for()
    assert visit.page.locator("button.authorize.locked").count() == 1
    visit.assert_clean()


def test_an_upload_needs_only_a_file_and_the_token(
    visit: Visit, local_stack: LocalStackProcess
) -> None:
    """Swagger UI sends every field of the form, and fills each with its placeholder
    "string" unless the document gives the property an `example`, which the API would
    refuse (`ttl`, `public`): so the upload form must start with values that work."""
    upload = visit.open()
    _authorize(visit.page, local_stack.tokens["acme:*"])
    _open(upload)
    prefilled = {name: _field(upload, name).input_value() for name in FIELDS}
    assert SWAGGER_PLACEHOLDER not in prefilled.values(), (
        f"the upload form starts with {prefilled}: give UploadForm's optional properties"
        " an `example` in GET /openapi.json (imgpro.openapi)"
    )
    created = _upload(upload, png(IMAGE_SIZE), {})
    assert (created["width"], created["height"]) == IMAGE_SIZE
    visit.assert_clean()


def _authorize(page: Page, token: str) -> None:
    page.locator("button.authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.locator("#auth-bearer-value").fill(token)
    dialog.get_by_role("button", name="Apply credentials").click()
    # Authorized: the dialog now says so and offers Logout; closing it leaves the lock shut.
    dialog.locator("h6", has_text="Authorized").wait_for()
    dialog.get_by_role("button", name="Remove authorization").wait_for()
    dialog.locator("button.btn-done").click()
    page.locator("button.authorize.locked").wait_for()


def _upload(operation: Locator, image: bytes, fields: dict[str, str]) -> dict:
    """Type `fields` into the open operation's form, attach `image`, Execute: the 201 body."""
    for name, value in fields.items():
        field = _field(operation, name)
        field.fill(value)
        # Swagger UI takes a typed value after a pause or on blur: blur, or Execute could
        # send what the field held before.
        field.blur()
    operation.locator("input[type=file]").set_input_files(
        {"name": "playground.png", "mimeType": "image/png", "buffer": image}
    )
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    body = operation.locator(".live-responses-table tbody .response-col_description pre").first
    text = body.inner_text()
    assert status.inner_text().strip().startswith("201"), text
    return json.loads(text)


def _open(operation: Locator) -> None:
    """Expand an operation: ready to Execute at once (tryItOutEnabled), no Try it out."""
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.execute").wait_for()
    assert operation.locator("button.try-out__btn", has_text="Try it out").count() == 0


def _field(operation: Locator, name: str) -> Locator:
    return operation.locator(f'tr[data-property-name="{name}"] input[type=text]')


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return None  # data:, blob:, about:
    return f"{parts.scheme}://{parts.netloc}"
