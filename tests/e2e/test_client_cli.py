"""The `imgpro` client commands (upload, list, show, update, delete) against the local
stack, each run as a second process the way a person runs them: the API's URL and a
token in IMGPRO_API_URL and IMGPRO_TOKEN, resume state under a cache directory of the
test's own."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.support.images import encode, noise, png

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

TIMEOUT_S = 120
PART_ONE_SENT = "part 1 of 2 sent"


def _environment(stack: LocalStackProcess, cache: Path, token: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "IMGPRO_API_URL": stack.base_url,
        "XDG_CACHE_HOME": str(cache),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("IMGPRO_TOKEN", None)
    if token is not None:
        env["IMGPRO_TOKEN"] = token
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "imgpro.cli", *args]


def _run(
    stack: LocalStackProcess, cache: Path, *args: str, token: str | None = "acme:*"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        env=_environment(stack, cache, stack.tokens[token] if token else None),
        timeout=TIMEOUT_S,
    )


def _ok(stack: LocalStackProcess, cache: Path, *args: str) -> str:
    done = _run(stack, cache, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~16 MB PNG of noise (it does not compress): two parts, 8 MiB and ~7.5 MB."""
    path = tmp_path_factory.mktemp("client-images") / "noise.png"
    path.write_bytes(encode(noise((2300, 2300)), "PNG", compress_level=1))
    assert 8 * 1024 * 1024 + 5_000_000 < path.stat().st_size < 2 * 8 * 1024 * 1024
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _states(cache: Path) -> list[dict[str, Any]]:
    directory = cache / "imgpro" / "uploads"
    if not directory.exists():
        return []
    return [json.loads(path.read_text()) for path in directory.glob("*.json")]


def test_upload_list_show_update_delete(
    local_stack: LocalStackProcess, cache: Path, tmp_path: Path, big_png: Path
) -> None:
    tag = f"t{uuid.uuid4().hex[:10]}"
    small = tmp_path / "small.png"
    small.write_bytes(png((320, 200)))

    uploaded = _json_lines(
        _ok(
            local_stack,
            cache,
            "upload",
            str(small),
            str(big_png),
            "--tags",
            tag,
            "--description",
            "from the CLI",
            "--public",
            "--wait",
            "--json",
        )
    )
    assert [media["name"] for media in uploaded] == ["small.png", "noise.png"]
    small_media, big_media = uploaded
    assert (small_media["width"], small_media["height"]) == (320, 200)
    assert (big_media["width"], big_media["height"]) == (2300, 2300)
    assert all("status" not in media for media in uploaded)  # ready: --wait waited
    assert all(media["tags"] == [tag] and media["url"] for media in uploaded)
    assert big_media["filesize"] == big_png.stat().st_size
    assert _states(cache) == []

    listed = json.loads(_ok(local_stack, cache, "list", "--tags", tag, "--json"))
    assert [media["id"] for media in listed["data"]] == [big_media["id"], small_media["id"]]
    table = _ok(local_stack, cache, "list", "--tags", tag).splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "SIZE"]
    assert table[1].startswith(big_media["id"]) and "2300x2300" in table[1]
    assert table[1].endswith(big_media["url"])

    shown = _ok(local_stack, cache, "show", small_media["id"])
    assert "description: from the CLI" in shown and "visibility:  public" in shown

    updated = json.loads(
        _ok(
            local_stack,
            cache,
            "update",
            small_media["id"],
            "--tags",
            "extra",
            "--tag-mode",
            "add",
            "--description",
            "changed",
            "--private",
            "--json",
        )
    )
    assert updated["tags"] == [tag, "extra"] and updated["description"] == "changed"
    assert "url" not in updated  # private now
    assert "visibility:  private" in _ok(local_stack, cache, "show", small_media["id"])

    deleted = _ok(local_stack, cache, "delete", small_media["id"], big_media["id"])
    assert deleted.splitlines() == [f"deleted {small_media['id']}", f"deleted {big_media['id']}"]
    assert json.loads(_ok(local_stack, cache, "list", "--tags", tag, "--json"))["data"] == []
    gone = _run(local_stack, cache, "show", small_media["id"])
    assert gone.returncode == 1
    assert gone.stderr == (
        f"imgpro show: error: media {small_media['id']}: Media not found (404 not_found)\n"
    )


def test_an_interrupted_upload_resumes_with_only_the_missing_part(
    local_stack: LocalStackProcess, cache: Path, big_png: Path
) -> None:
    token = local_stack.tokens["acme:*"]
    # Paced, so the test sees part 1 arrive and interrupts while part 2 is on its way.
    first = subprocess.Popen(
        _command("upload", str(big_png), "--limit-rate", "4M"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(local_stack, cache, token),
    )
    assert first.stderr is not None
    said = []
    for line in first.stderr:
        said.append(line)
        if PART_ONE_SENT in line:
            first.send_signal(signal.SIGINT)  # Ctrl-C
            break
    out, rest = first.communicate(timeout=TIMEOUT_S)
    said.append(rest)
    assert first.returncode == 130, "".join(said)
    assert out == ""
    assert "noise.png: interrupted with 1 of 2 parts uploaded; run the same command again" in (
        "".join(said)
    )
    (state,) = _states(cache)
    auth = {"Authorization": f"Bearer {token}"}
    parts = requests.get(
        f"{local_stack.base_url}/v1/uploads/s3/multipart/{state['upload_id']}",
        params={"key": state["key"]},
        headers=auth,
        timeout=10,
    ).json()
    assert [part["PartNumber"] for part in parts] == [1]
    processing = requests.get(
        f"{local_stack.base_url}/v1/media/{state['media_id']}", headers=auth, timeout=10
    ).json()
    assert processing["status"] == "processing"

    mark = local_stack.output_mark()
    resumed = _run(local_stack, cache, "upload", str(big_png), "--wait", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 2 parts are uploaded, sending 1" in resumed.stderr
    assert "part 2 of 2 sent" in resumed.stderr and PART_ONE_SENT not in resumed.stderr
    # Only part 2's URL was asked for: part 1 was not sent again.
    signed = re.findall(
        rf"GET /v1/uploads/s3/multipart/{re.escape(state['upload_id'])}/(\d+) 200",
        local_stack.output_since(mark),
    )
    assert signed == ["2"]
    assert _states(cache) == []

    (media,) = _json_lines(resumed.stdout)
    assert media["id"] == state["media_id"]
    assert "status" not in media
    image = requests.get(media["src"], timeout=30)
    assert image.status_code == 200
    assert _sha256(image.content) == _sha256(big_png.read_bytes())  # PNG is stored as sent


def test_errors_are_one_line_with_the_apis_words(
    local_stack: LocalStackProcess, cache: Path, tmp_path: Path
) -> None:
    unauthorized = _run(local_stack, cache, "list", token=None)
    assert unauthorized.returncode == 1
    assert unauthorized.stderr == (
        "imgpro list: error: Invalid or missing authentication token (401 unauthorized); "
        "this needs a token: pass --token or set $IMGPRO_TOKEN\n"
    )

    readonly = tmp_path / "r.png"
    readonly.write_bytes(png())
    forbidden = _run(local_stack, cache, "upload", str(readonly), token="acme:read")
    assert forbidden.returncode == 1
    assert forbidden.stderr.startswith(f"imgpro upload: error: {readonly}: ")
    assert "(403 forbidden)" in forbidden.stderr

    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"hello, not an image")
    refused = _run(local_stack, cache, "upload", str(not_an_image))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"imgpro upload: error: {not_an_image}: Validation failed (400 validation_error): "
        "file: The file is not an image in a supported format\n"
    )
