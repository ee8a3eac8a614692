"""infra/cdn_function.js agrees with imgpro.keys, which it mirrors but cannot import.

The function runs in CloudFront, the Python in the resize function and the local stack's
CDN: if they disagreed, a URL would map to one key in AWS and another locally. So the
JS constants are compared with the module's, and every rewrite the function can make
(each extension, size, side and Accept) with `keys.cdn_key_path`.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from imgpro import keys
from infra.cdn import VIEWER_FUNCTION_FILE
from tests.infra.test_cdn_function import UID, viewer_request

pytestmark = pytest.mark.infra

# Loads the function as CloudFront does (no Node APIs in its context), then answers its
# top-level constants and the result of `handler` for each event, in one Node process.
_HARNESS = r"""
const fs = require('fs');
const vm = require('vm');
const sandbox = vm.createContext({});
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), sandbox, {filename: 'cdn_function.js'});
sandbox.events = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(vm.runInContext(`JSON.stringify({
    MEDIA_PATH: MEDIA_PATH.source,
    SIZES: SIZES,
    PRIVATE: PRIVATE,
    ORIGINALS: ORIGINALS,
    VARIANTS: VARIANTS,
    VIEWER_URL_HEADER: VIEWER_URL_HEADER,
    results: events.map(handler),
})`, sandbox));
"""


def run_all(events: list[dict[str, Any]]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node is needed: CDK's jsii runs on it too"
    result = subprocess.run(
        [node, "-e", _HARNESS, str(VIEWER_FUNCTION_FILE)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def function() -> dict[str, Any]:
    return run_all([])


def test_prefixes_are_the_modules(function: dict[str, Any]) -> None:
    assert (function["PRIVATE"], function["ORIGINALS"], function["VARIANTS"]) == (
        keys.PRIVATE,
        keys.ORIGINALS,
        keys.VARIANTS,
    )


def test_the_viewer_url_header_is_the_one_the_resize_function_reads(
    function: dict[str, Any],
) -> None:
    assert function["VIEWER_URL_HEADER"] == keys.VIEWER_URL_HEADER


def test_sizes_are_the_modules_in_the_same_order(function: dict[str, Any]) -> None:
    assert tuple(function["SIZES"]) == keys.SIZES


def test_media_path_is_the_modules_viewer_path(function: dict[str, Any]) -> None:
    """The same pattern, written as JS writes it: no group names, `/` escaped, anchored
    (JS `exec` searches, Python `fullmatch` anchors)."""
    unnamed = re.sub(r"\?P<\w+>", "", keys.VIEWER_PATH.pattern)
    assert function["MEDIA_PATH"] == "^" + unnamed.replace("/", r"\/") + "$"


def test_every_rewrite_is_the_modules_cdn_key_path() -> None:
    cases = list(
        itertools.product(keys.EXTENSIONS, (False, True), (None, *keys.SIZES), (False, True))
    )
    events = [
        viewer_request(
            keys.viewer_path(UID, ext, private=private),
            {"size": {"value": size}} if size else {},
            accept="image/webp,image/*" if webp else "image/png,image/*",
        )
        for ext, private, size, webp in cases
    ]
    results = run_all(events)["results"]
    for (ext, private, size, webp), request in zip(cases, results, strict=True):
        expected = keys.cdn_key_path(
            uid=UID, ext=ext, private=private, size=size, accepts_webp=webp
        )
        assert request.get("uri") == expected, (ext, private, size, webp)


def test_the_function_serves_exactly_the_paths_the_module_parses() -> None:
    paths = [
        f"/{UID}.jpg",
        f"/private/{UID}.svg",
        f"/{UID}.jpeg",
        f"/{UID}.JPG",
        f"/{UID.upper()}.png",
        f"/{UID[:-1]}.gif",
        f"/o/{UID}.jpg",
        f"/v/{UID}/m.webp",
        f"/incoming/{UID}",
        f"/private/../{UID}.jpg",
        f"/{UID}.jpg/",
        f"/{UID}.jpg\n",
    ]
    answers = run_all([viewer_request(path) for path in paths])["results"]
    served = {path: "uri" in answer for path, answer in zip(paths, answers, strict=True)}
    assert served == {path: bool(keys.VIEWER_PATH.fullmatch(path)) for path in paths}


def test_an_unknown_size_is_refused_with_the_same_words_as_the_local_cdn() -> None:
    from imgpro import delivery

    (answer,) = run_all([viewer_request(f"/{UID}.jpg", {"size": {"value": "huge"}})])["results"]
    local = delivery.deliver(f"/{UID}.jpg", {"size": "huge"}, {})
    assert (answer["statusCode"], answer["body"]["data"].encode()) == (local.status, local.body)


def test_a_repeated_size_is_refused_with_the_same_words_as_the_local_cdn() -> None:
    from imgpro import delivery
    from imgpro.local.gateway import CdnQuery

    repeated = {"size": {"value": "m", "multiValue": [{"value": "m"}, {"value": "l"}]}}
    (answer,) = run_all([viewer_request(f"/{UID}.jpg", repeated)])["results"]
    local = delivery.deliver(
        f"/{UID}.jpg", CdnQuery([("size", "m"), ("size", "l")], raw="size=m&size=l"), {}
    )
    assert (answer["statusCode"], answer["body"]["data"].encode()) == (local.status, local.body)
