"""Debian's headless Chromium for the page tests, driven by Playwright through
`executable_path` (no browser download), and what every page test checks with it.

Chromium is a test dependency (`make test` installs it with apt-get when missing): without
it a page test fails, it does not skip. Set IMGPRO_CHROMIUM to use another binary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from imgpro import playground

CHROMIUM = os.environ.get("IMGPRO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install chromium` (make test does when it is missing)"

# The first script of every document, before the page's own: a refused load or style is
# reported even when the console says nothing (a binding outlives reloads).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__imgproCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "(inline)"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def built() -> None:
    """The playground's files, as `make web` builds them."""
    static = playground.static_dir()
    if not (static / playground.BUILT).is_file():
        pytest.fail(f"{static} is not built: {playground.BUILD_HINT}", pytrace=False)
