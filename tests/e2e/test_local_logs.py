"""What `imgpro local` prints while it serves: one readable line per request on stderr
(`GET /v1/media 200 12.3ms team=acme`), no JSON log lines or EMF from the handlers, and
never a token or a signed URL's query."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest
import requests

from tests.support import images

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

LINE = re.compile(r"^\S+ \S+ INFO (?P<line>[A-Z]+ \S+ \d{3} \d+\.\dms(?: team=\S+)?)$", re.M)


def _stderr_since(stack: LocalStackProcess, mark: tuple[int, int]) -> str:
    with stack.stderr_path.open("rb") as file:
        file.seek(mark[1])
        return file.read().decode(errors="replace")


def _lines_since(stack: LocalStackProcess, mark: tuple[int, int], count: int) -> list[str]:
    """The request lines logged since `mark`, once there are `count` of them: the server
    logs a request's line just after its response, which the client may read first."""
    deadline = time.monotonic() + 5
    while True:
        lines = [m["line"] for m in LINE.finditer(_stderr_since(stack, mark))]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_each_request_is_one_plain_line_with_its_team(local_stack: LocalStackProcess) -> None:
    token = local_stack.tokens["acme:*"]
    mark = local_stack.output_mark()
    listed = requests.get(
        local_stack.base_url + "/v1/media?limit=1&tags=secret-query",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert listed.status_code == 200
    assert requests.get(local_stack.base_url + "/", timeout=10).status_code == 200

    # Each handler thread logs just after its response, so the two lines may come in
    # either order: one line each, matched by content.
    lines = _lines_since(local_stack, mark, 2)
    assert len(lines) == 2
    assert [line for line in lines if re.fullmatch(r"GET /v1/media 200 \d+\.\dms team=acme", line)]
    assert [line for line in lines if re.fullmatch(r"GET / 200 \d+\.\dms", line)]  # no team
    printed = local_stack.output_since(mark)
    assert "secret-query" not in printed
    assert token not in printed and token.split("|", 1)[1] not in printed
    assert not [line for line in printed.splitlines() if line.lstrip().startswith("{")]


def test_a_signed_cdn_url_is_logged_without_its_query(local_stack: LocalStackProcess) -> None:
    token = local_stack.tokens["acme:*"]
    created = requests.post(
        local_stack.base_url + "/v1/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("photo.jpg", images.jpeg((64, 48)))},
        data={"public": "0"},
        timeout=30,
    )
    assert created.status_code == 201
    src = created.json()["src"]
    assert "Signature=" in src
    mark = local_stack.output_mark()

    assert requests.get(src, timeout=10).status_code == 200

    path = src.split("?", 1)[0].removeprefix(local_stack.base_url)
    # The upload's own line may land after the mark (it is written after its response).
    deadline = time.monotonic() + 5
    while not (found := [x for x in _lines_since(local_stack, mark, 1) if x.startswith("GET ")]):
        assert time.monotonic() < deadline, "no line for the GET"
        time.sleep(0.05)
    (line,) = found
    assert re.fullmatch(rf"GET {re.escape(path)} 200 \d+\.\dms", line)
    printed = local_stack.output_since(mark)
    for secret in ("Signature", "Policy", "Key-Pair-Id", src.split("?", 1)[1]):
        assert secret not in printed
