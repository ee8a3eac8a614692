"""Build the static files of the pages under GET /docs: `functions/playground/static/`.

Copies exactly the files the pages load from the npm packages in `web/node_modules`
(installed by `npm ci` in `web/`, pinned by `web/package-lock.json`), with their license
files, and our own scripts and stylesheet (`OWN`). Two pages use them:

- GET /docs, the API playground: swagger-ui-dist and `playground.js`;
- GET /docs/upload, the resumable upload demo: Uppy's prebuilt bundle (the `uppy`
  package's `dist/`, which needs no bundler) and `upload.js`.

The folder is generated and git-ignored; it ships inside the playground function's Lambda
asset, so the deployed function serves the very same files as the local stack.

Standard library only: `python web/build.py` (the Makefile runs it). It refuses to build
from a package other than the one package.json pins, so a stale `node_modules` cannot
ship by accident.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
REPO = WEB.parent
NODE_MODULES = WEB / "node_modules"
OUT = REPO / "functions" / "playground" / "static"
STAMP = ".built"
"""Written last: the Makefile's target, and proof that a build ran to the end."""

# package -> {name in static/: path inside the package}. imgpro.playground.ASSETS must
# list the same names (tests/handlers/test_playground.py checks).
FROM_PACKAGES: dict[str, dict[str, str]] = {
    "swagger-ui-dist": {
        "swagger-ui-bundle.js": "swagger-ui-bundle.js",
        "swagger-ui.css": "swagger-ui.css",
        "index.css": "index.css",
        "favicon-32x32.png": "favicon-32x32.png",
        # Apache-2.0: the license and notice go wherever the code goes.
        "LICENSE": "LICENSE",
        "NOTICE": "NOTICE",
        "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
    },
    # Uppy 5, not 6: 6's @uppy/aws-s3 lost the `endpoint` and `headers` options that
    # point it at our own /v1/uploads routes with a Bearer token. The bundle carries the
    # notices of what it bundles in its closing comment.
    "uppy": {
        "uppy.min.js": "dist/uppy.min.js",
        "uppy.min.css": "dist/uppy.min.css",
        "uppy-LICENSE": "LICENSE",
    },
}
OWN = ("playground.js", "upload.js", "imgpro.css")


def served() -> tuple[str, ...]:
    """Every name the build writes into static/ (but the stamp)."""
    return (*(name for files in FROM_PACKAGES.values() for name in files), *OWN)


# Source maps are not shipped: a comment pointing at one would make devtools ask for a
# file the function does not serve (uppy.min.css even inlines its map, 20 KB of base64).
_SOURCE_MAP = re.compile(rb"\n?/[*/]# sourceMappingURL=[^\n]*\s*$")


def pinned_version(package: str) -> str:
    pins = json.loads((WEB / "package.json").read_text())["dependencies"]
    return str(pins[package])


def installed_version(package: str) -> str | None:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text())["version"])


def build(out: Path = OUT) -> list[Path]:
    """Write every file into `out`, remove any other, and return the paths written."""
    versions = {}
    for package in FROM_PACKAGES:
        wanted, installed = pinned_version(package), installed_version(package)
        if installed is None:
            raise SystemExit(f"{NODE_MODULES / package} is missing: run `npm ci` in {WEB}")
        if installed != wanted:
            raise SystemExit(
                f"{package} {installed} is installed but package.json pins {wanted}:"
                f" run `npm ci` in {WEB}"
            )
        versions[package] = installed
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP).unlink(missing_ok=True)
    sources = {
        name: NODE_MODULES / package / path
        for package, files in FROM_PACKAGES.items()
        for name, path in files.items()
    } | {name: WEB / name for name in OWN}
    written = []
    for name, source in sources.items():
        data = source.read_bytes()
        if name.endswith((".js", ".css")):
            data = _SOURCE_MAP.sub(b"\n", data)
        written.append(_write(out / name, data))
    for stale in out.iterdir():
        if stale.name not in sources and stale.name != STAMP:
            stale.unlink()
    stamp = "".join(f"{package} {version}\n" for package, version in versions.items())
    _write(out / STAMP, stamp.encode())
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
