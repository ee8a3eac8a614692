"""Build the API playground's static files: `functions/playground/static/`.

Copies exactly the files the page at GET /docs loads from `web/node_modules/swagger-ui-dist`
(installed by `npm ci` in `web/`, pinned by `web/package-lock.json`), with Swagger UI's
license files, and our own init script `web/playground.js`. The folder is generated and
git-ignored; it ships inside the playground function's Lambda asset, so the deployed
function serves the very same files as the local stack.

Standard library only: `python web/build.py` (the Makefile runs it). It refuses to build
from a swagger-ui-dist other than the one package.json pins, so a stale `node_modules`
cannot ship by accident.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
REPO = WEB.parent
DIST = WEB / "node_modules" / "swagger-ui-dist"
OUT = REPO / "functions" / "playground" / "static"
STAMP = ".built"
"""Written last: the Makefile's target, and proof that a build ran to the end."""

# name in static/ -> where it comes from. imgpro.playground.ASSETS must list the same names.
FROM_DIST = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "index.css",
    "favicon-32x32.png",
    # Apache-2.0: the license and notice go wherever the code goes.
    "LICENSE",
    "NOTICE",
    "swagger-ui-bundle.js.LICENSE.txt",
)
OWN = ("playground.js",)

# Source maps are not shipped: a comment pointing at one would make devtools ask for a
# file the function does not serve.
_SOURCE_MAP = re.compile(rb"\n?/[*/]# sourceMappingURL=[^\n]*\s*$")


def pinned_version() -> str:
    pins = json.loads((WEB / "package.json").read_text())["dependencies"]
    return str(pins["swagger-ui-dist"])


def installed_version() -> str | None:
    manifest = DIST / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text())["version"])


def build(out: Path = OUT) -> list[Path]:
    """Write every file into `out`, remove any other, and return the paths written."""
    wanted, installed = pinned_version(), installed_version()
    if installed is None:
        raise SystemExit(f"{DIST} is missing: run `npm ci` in {WEB}")
    if installed != wanted:
        raise SystemExit(
            f"swagger-ui-dist {installed} is installed but package.json pins {wanted}:"
            f" run `npm ci` in {WEB}"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP).unlink(missing_ok=True)
    sources = {name: DIST / name for name in FROM_DIST} | {name: WEB / name for name in OWN}
    written = []
    for name, source in sources.items():
        data = source.read_bytes()
        if name.endswith((".js", ".css")):
            data = _SOURCE_MAP.sub(b"\n", data)
        written.append(_write(out / name, data))
    for stale in out.iterdir():
        if stale.name not in sources and stale.name != STAMP:
            stale.unlink()
    _write(out / STAMP, f"swagger-ui-dist {installed}\n".encode())
    return written


def _write(path: Path, data: bytes) -> Path:
    # Whole files only, even for a stack serving from this folder while it is rebuilt.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def main() -> None:
    written = build()
    total = sum(path.stat().st_size for path in written)
    print(f"playground: {len(written)} files, {total:,} bytes in {OUT.relative_to(REPO)}/")


if __name__ == "__main__":
    sys.exit(main())
