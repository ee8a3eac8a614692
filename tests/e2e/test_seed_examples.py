"""The seed's own examples (curl, Python, JavaScript) against the local stack, with only the
base URL and token changed, plus the behaviours a client sees over real HTTP."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from PIL import Image

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "photo.jpg"
    Image.new("RGB", (1920, 1080), (30, 90, 160)).save(path, "JPEG")
    return path


@pytest.fixture(scope="module")
def token(local_stack: LocalStackProcess) -> str:
    return local_stack.tokens["acme:*"]


def curl(*args: str, cwd: Path | None = None) -> tuple[int, dict | None]:
    """Run a curl command line; returns (status, parsed JSON body or None)."""
    assert shutil.which("curl"), "curl is needed to run the seed's curl examples"
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        timeout=60,
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), (json.loads(body) if body.strip() else None)


def _upload(base: str, token: str, photo: Path, **fields: str) -> dict:
    with photo.open("rb") as handle:
        response = requests.post(
            f"{base}/v1/upload",
            files={"file": handle},
            data=fields,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    assert response.status_code == 201, response.text
    return response.json()


def _list_all(base: str, token: str, **params: str) -> list[dict]:
    """The seed's Python pagination loop."""
    items, cursor = [], None
    while True:
        query = {"limit": 100, **params}
        if cursor:
            query["cursor"] = cursor
        data = requests.get(
            f"{base}/v1/media",
            params=query,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        items.extend(data["data"])
        if not data["has_more"]:
            return items
        cursor = data["next_cursor"]


# --- the curl examples -----------------------------------------------------------------------


def test_seed_curl_upload_example(local_stack, token, photo) -> None:
    status, body = curl(
        "-X",
        "POST",
        f"{local_stack.base_url}/v1/upload",
        "-H",
        f"Authorization: Bearer {token}",
        "-F",
        "file=@photo.jpg",
        "-F",
        "description=My awesome photo",
        "-F",
        "tags=vacation,beach,sunset",
        "-F",
        "ttl=7d",
        "-F",
        "public=1",
        cwd=photo.parent,
    )
    assert status == 201
    assert body["name"] == "photo.jpg"
    assert (body["width"], body["height"]) == (1920, 1080)
    assert body["tags"] == ["vacation", "beach", "sunset"]
    assert {"id", "url", "src", "filesize", "description", "expires_at"} <= set(body)


def test_seed_curl_list_examples(local_stack, token, photo) -> None:
    base, auth = local_stack.base_url, f"Authorization: Bearer {token}"
    tag = f"t{uuid.uuid4().hex[:8]}"
    first = _upload(base, token, photo, tags=f"vacation,{tag}")
    second = _upload(base, token, photo, tags=f"beach,{tag}")

    status, page = curl(f"{base}/v1/media?limit=20", "-H", auth)
    assert status == 200 and {"data", "has_more"} <= set(page)
    status, page = curl(f"{base}/v1/media?limit=20&cursor=1704067200_123", "-H", auth)
    assert status == 200 and page == {"data": [], "has_more": False}
    status, page = curl(f"{base}/v1/media?ids={first['id']},{second['id']},ghi789", "-H", auth)
    assert [m["id"] for m in page["data"]] == [first["id"], second["id"]]
    status, page = curl(f"{base}/v1/media?tags=vacation,beach&tag_mode=any", "-H", auth)
    assert {first["id"], second["id"]} <= {m["id"] for m in page["data"]}
    status, page = curl(f"{base}/v1/media?tags={tag},beach&tag_mode=all", "-H", auth)
    assert [m["id"] for m in page["data"]] == [second["id"]]


def test_seed_curl_get_update_and_delete_examples(local_stack, token, photo) -> None:
    base, auth = local_stack.base_url, f"Authorization: Bearer {token}"
    uid = _upload(base, token, photo)["id"]

    assert curl(f"{base}/v1/media/{uid}")[0] == 404  # private: public access sees nothing
    assert curl(f"{base}/v1/media/{uid}", "-H", auth)[0] == 200
    status, body = curl(
        "-X",
        "PATCH",
        f"{base}/v1/media/{uid}",
        "-H",
        auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"description": "Updated description", "tags": "updated,new-tags", "public": true}',
    )
    assert status == 200 and body["tags"] == ["updated", "new-tags"] and "url" in body
    status, body = curl(f"{base}/v1/media/{uid}")
    assert status == 200 and body["description"] == "Updated description"

    status, body = curl("-X", "DELETE", f"{base}/v1/media/{uid}", "-H", auth)
    assert (status, body) == (204, None)
    assert curl(f"{base}/v1/media/{uid}", "-H", auth)[0] == 404


def test_seed_curl_batch_examples(local_stack, token, photo) -> None:
    base, auth = local_stack.base_url, f"Authorization: Bearer {token}"
    ids = [_upload(base, token, photo, tags="old-tag,keep")["id"] for _ in range(3)]
    json_header = ("-H", "Content-Type: application/json")

    status, body = curl(
        "-X",
        "PATCH",
        f"{base}/v1/media?ids={','.join(ids)}",
        "-H",
        auth,
        *json_header,
        "-d",
        '{"description": "Batch updated", "tags": "batch,updated", "tag_mode": "replace"}',
    )
    assert status == 200 and body["updated"] == 3
    assert all(m["tags"] == ["batch", "updated"] for m in body["media"])
    status, body = curl(
        "-X",
        "PATCH",
        f"{base}/v1/media?ids={ids[0]},{ids[1]}",
        "-H",
        auth,
        *json_header,
        "-d",
        '{"tags": "new-tag,another-tag", "tag_mode": "add"}',
    )
    assert body["media"][0]["tags"] == ["batch", "updated", "new-tag", "another-tag"]
    status, body = curl(
        "-X",
        "PATCH",
        f"{base}/v1/media?ids={ids[0]},{ids[1]}",
        "-H",
        auth,
        *json_header,
        "-d",
        '{"tags": "old-tag,deprecated,batch", "tag_mode": "remove"}',
    )
    assert body["media"][0]["tags"] == ["updated", "new-tag", "another-tag"]

    status, body = curl("-X", "DELETE", f"{base}/v1/media?ids={ids[0]},{ids[1]},ghi789", "-H", auth)
    assert status == 200
    assert body == {
        "deleted": 2,
        "not_found": 1,
        "ids": {"deleted": [ids[0], ids[1]], "not_found": ["ghi789"]},
    }


# --- the Python and JavaScript examples -----------------------------------------------------


def test_seed_python_example_uploads_then_lists_everything(local_stack, token, photo) -> None:
    api_token, base = token, local_stack.base_url
    # --- the seed's Python example, base URL and token changed ---
    files = {"file": open(photo, "rb")}  # noqa: SIM115 - verbatim from the seed
    data = {"description": "My photo", "tags": "example,demo", "public": "1"}
    headers = {"Authorization": f"Bearer {api_token}"}
    response = requests.post(f"{base}/v1/upload", files=files, data=data, headers=headers)
    files["file"].close()
    media = response.json()
    assert media["src"].startswith(base)

    def list_all_media(api_token):
        cursor = None
        while True:
            params = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = requests.get(
                f"{base}/v1/media",
                params=params,
                headers={"Authorization": f"Bearer {api_token}"},
            )
            data = response.json()
            yield from data["data"]
            if not data["has_more"]:
                break
            cursor = data["next_cursor"]

    names = [(m["id"], m["name"]) for m in list_all_media(api_token)]
    # --- end of the seed's example ---
    ids = [uid for uid, _ in names]
    assert ids.count(media["id"]) == 1
    assert len(ids) == len(set(ids))


JS_EXAMPLE = r"""
const [base, apiToken, photoPath] = process.argv.slice(1);
const fs = require('fs');
const fileInput = { files: [new Blob([fs.readFileSync(photoPath)], { type: 'image/jpeg' })] };

(async () => {
  // Upload image (the seed's example, base URL changed)
  const formData = new FormData();
  formData.append('file', fileInput.files[0], 'photo.jpg');
  formData.append('description', 'My photo');
  formData.append('tags', 'example,demo');
  formData.append('public', '1');
  const response = await fetch(`${base}/v1/upload`, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${apiToken}` },
    body: formData
  });
  const media = await response.json();

  // List media with cursor pagination
  async function* listAllMedia(apiToken) {
    let cursor = null;
    while (true) {
      const url = cursor
        ? `${base}/v1/media?limit=100&cursor=${cursor}`
        : `${base}/v1/media?limit=100`;
      const response = await fetch(url, { headers: { 'Authorization': `Bearer ${apiToken}` } });
      const data = await response.json();
      yield* data.data;
      if (!data.has_more) break;
      cursor = data.next_cursor;
    }
  }
  const ids = [];
  for await (const item of listAllMedia(apiToken)) ids.push(item.id);
  console.log(JSON.stringify({ status: response.status, media, ids }));
})();
"""


def test_seed_javascript_example_uploads_then_lists_everything(local_stack, token, photo) -> None:
    node = shutil.which("node")
    assert node, "Node.js runs the seed's JavaScript example (it is needed for CDK anyway)"
    out = subprocess.run(
        [node, "-e", JS_EXAMPLE, local_stack.base_url, token, str(photo)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    result = json.loads(out)
    assert result["status"] == 201
    assert result["media"]["name"] == "photo.jpg"
    assert result["ids"].count(result["media"]["id"]) == 1


# --- concurrency, URLs, idempotency over HTTP ------------------------------------------------


def test_twenty_concurrent_uploads_are_all_listed_exactly_once(local_stack, token, photo) -> None:
    base, tag = local_stack.base_url, f"c{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=20) as pool:
        created = list(pool.map(lambda _: _upload(base, token, photo, tags=tag), range(20)))
    ids = [m["id"] for m in created]
    assert len(set(ids)) == 20
    everything = [m["id"] for m in _list_all(base, token)]
    assert all(everything.count(uid) == 1 for uid in ids)
    assert len(everything) == len(set(everything))
    assert sorted(m["id"] for m in _list_all(base, token, tags=tag)) == sorted(ids)


def test_cursor_walk_is_stable_while_others_upload(local_stack, token, photo) -> None:
    base, tag = local_stack.base_url, f"s{uuid.uuid4().hex[:8]}"
    before = [_upload(base, token, photo, tags=tag)["id"] for _ in range(12)][::-1]
    stop = threading.Event()

    def keep_uploading() -> None:
        while not stop.is_set():
            _upload(base, token, photo, tags=tag)

    writer = threading.Thread(target=keep_uploading)
    writer.start()
    try:
        seen, cursor = [], None
        while True:
            params = {"limit": 3, "tags": tag, **({"cursor": cursor} if cursor else {})}
            page = requests.get(
                f"{base}/v1/media",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
            seen += [m["id"] for m in page["data"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen))
    assert seen == before  # pages reflect the list as of the first request, no gaps


def test_every_url_in_a_response_is_fetchable(local_stack, token, photo) -> None:
    media = _upload(local_stack.base_url, token, photo, public="1")
    image = requests.get(media["src"], timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.content == photo.read_bytes()
    assert Image.open(io.BytesIO(image.content)).size == (1920, 1080)
    shared = requests.get(media["url"], timeout=10)
    assert shared.status_code == 200 and shared.content == image.content


def test_a_deleted_image_stops_being_served_at_once(local_stack, token, photo) -> None:
    media = _upload(local_stack.base_url, token, photo, public="1")
    requests.delete(
        f"{local_stack.base_url}/v1/media/{media['id']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert requests.get(media["src"], timeout=10).status_code == 404


def test_idempotent_retry_over_http_returns_the_first_media(local_stack, token, photo) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    headers = {"Authorization": f"Bearer {token}", **key}
    first, again = (
        requests.post(
            f"{local_stack.base_url}/v1/upload",
            headers=headers,
            files={"file": ("photo.jpg", photo.read_bytes())},
            timeout=30,
        )
        for _ in range(2)
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


def test_read_token_cannot_upload_over_http(local_stack, photo) -> None:
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {local_stack.tokens['acme:read']}"},
        files={"file": ("photo.jpg", photo.read_bytes())},
        timeout=30,
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "This token lacks the 'write' ability",
        "code": "forbidden",
    }
