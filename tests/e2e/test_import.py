"""Import from URL over the local stack, from a real origin on loopback.

The session's stack runs with `--allow-import-from 127.0.0.1/32` (and a 3 s fetch deadline,
so a slow origin does not hold the suite for the production 20 s); the short-lived-URL
stack runs without it and is as strict as production.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest
import requests

from tests.support import origin

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def remote():
    with origin.serving() as server:
        yield server


def _import(stack: LocalStackProcess, body: dict, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/v1/import",
        headers={"Authorization": f"Bearer {stack.tokens['acme:*']}", **headers},
        json=body,
        timeout=60,
    )


def test_the_seeds_curl_example_imports_the_image(local_stack, remote) -> None:
    """The seed's curl command, with the base URL, token and image URL changed."""
    body = (
        f'{{"url": "{remote.base_url}/photo.jpg", "description": "Imported image", '
        '"tags": "imported,example", "public": true}'
    )
    done = subprocess.run(
        [
            "curl", "-sS", "-X", "POST", f"{local_stack.base_url}/v1/import",
            "-H", f"Authorization: Bearer {local_stack.tokens['acme:*']}",
            "-H", "Content-Type: application/json",
            "-d", body,
            "-w", "\n%{http_code}",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text, status = done.stdout.rsplit("\n", 1)
    assert status == "201", text
    media = requests.get(
        f"{local_stack.base_url}/v1/media/{json.loads(text)['id']}",
        headers={"Authorization": f"Bearer {local_stack.tokens['acme:*']}"},
        timeout=10,
    ).json()
    assert media["description"] == "Imported image" and media["width"] == 600
    assert requests.get(media["src"], timeout=10).content == origin.PHOTO


@pytest.mark.parametrize(("path", "status"), [("/missing", "404"), ("/broken", "500")])
def test_an_upstream_error_is_a_502(local_stack, remote, path, status) -> None:
    response = _import(local_stack, {"url": f"{remote.base_url}{path}"})
    assert response.status_code == 502
    assert response.json()["code"] == "import_failed" and status in response.json()["error"]


def test_a_redirect_chain_is_followed(local_stack, remote) -> None:
    response = _import(local_stack, {"url": f"{remote.base_url}/hop/4"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "photo.jpg"


def test_a_slow_upstream_is_a_504_at_the_deadline(local_stack, remote) -> None:
    response = _import(local_stack, {"url": f"{remote.base_url}/slow"})
    assert response.status_code == 504
    assert response.json()["code"] == "fetch_timeout"


@pytest.mark.parametrize("path", ["/endless", "/huge"])
def test_a_body_past_100_mb_is_refused_on_url(local_stack, remote, path) -> None:
    response = _import(local_stack, {"url": f"{remote.base_url}{path}"})
    assert response.status_code == 400
    assert "100 MB" in response.json()["errors"]["url"][0]


def test_an_idempotent_import_replays_the_first_answer(local_stack, remote) -> None:
    body = {"url": f"{remote.base_url}/pic.png"}
    first = _import(local_stack, body, **{"Idempotency-Key": "e2e-import-1"})
    second = _import(local_stack, body, **{"Idempotency-Key": "e2e-import-1"})
    assert first.status_code == second.status_code == 201
    assert first.content == second.content


def test_without_allow_import_from_the_stack_refuses_loopback(short_lived_urls_stack) -> None:
    with origin.serving() as server:
        response = _import(short_lived_urls_stack, {"url": f"{server.base_url}/photo.jpg"})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["url"]
        assert server.requests == []
