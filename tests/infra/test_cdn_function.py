"""The CloudFront viewer-request function (infra/cdn_function.js), run by Node.

The file is loaded as CloudFront loads it: plain source with a top-level `handler(event)`,
in a context with no `require`, `module` or `process`, so it cannot lean on Node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from infra.cdn import VIEWER_FUNCTION_FILE

pytestmark = pytest.mark.infra

UID = "abc123def456"
WEBP_BROWSER = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
OLD_BROWSER = "image/png,image/*;q=0.8,*/*;q=0.5"
SIGNATURE = {
    "Expires": {"value": "1767225600"},
    "Signature": {"value": "abc~def_"},
    "Key-Pair-Id": {"value": "K2JCJMDEHXQW5F"},
}

_HARNESS = r"""
const fs = require('fs');
const vm = require('vm');
const sandbox = vm.createContext({});
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), sandbox, {filename: 'cdn_function.js'});
sandbox.input = fs.readFileSync(0, 'utf8');
process.stdout.write(vm.runInContext('JSON.stringify(handler(JSON.parse(input)))', sandbox));
"""


def run(event: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node is needed: CDK's jsii runs on it too"
    result = subprocess.run(
        [node, "-e", _HARNESS, str(VIEWER_FUNCTION_FILE)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(result.stdout)


def viewer_request(
    uri: str,
    querystring: dict[str, Any] | None = None,
    *,
    accept: str | None = None,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A viewer-request event as CloudFront builds it (lowercase header names)."""
    all_headers = {"host": {"value": "d111111abcdef8.cloudfront.net"}, **(headers or {})}
    if accept is not None:
        all_headers["accept"] = {"value": accept}
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": querystring or {},
            "headers": all_headers,
            "cookies": {},
        },
    }


def size(name: str) -> dict[str, Any]:
    return {"size": {"value": name}}


def test_public_original_maps_to_its_key() -> None:
    request = run(viewer_request(f"/{UID}.jpg", accept=WEBP_BROWSER))
    assert request["uri"] == f"/o/{UID}.jpg"
    assert request["querystring"] == {}


def test_public_variant_is_webp_for_a_browser_that_accepts_it() -> None:
    request = run(viewer_request(f"/{UID}.jpg", size("m"), accept=WEBP_BROWSER))
    assert request["uri"] == f"/v/{UID}/m.webp"
    assert request["querystring"] == {}


def test_public_variant_keeps_the_original_format_for_a_browser_without_webp() -> None:
    request = run(viewer_request(f"/{UID}.png", size("xl"), accept=OLD_BROWSER))
    assert request["uri"] == f"/v/{UID}/xl.png"


def test_variant_without_an_accept_header_keeps_the_original_format() -> None:
    assert run(viewer_request(f"/{UID}.gif", size("s")))["uri"] == f"/v/{UID}/s.gif"


def test_webp_refused_with_quality_zero_keeps_the_original_format() -> None:
    accept = "image/webp;q=0, image/*"
    assert run(viewer_request(f"/{UID}.jpg", size("l"), accept=accept))["uri"] == f"/v/{UID}/l.jpg"


def test_webp_is_matched_in_any_case_and_in_repeated_accept_headers() -> None:
    repeated = [{"value": "image/png"}, {"value": "Image/WebP"}]
    headers = {"accept": {"value": "image/png", "multiValue": repeated}}
    request = run(viewer_request(f"/{UID}.jpg", size("m"), headers=headers))
    assert request["uri"] == f"/v/{UID}/m.webp"


def test_webp_original_variant_is_webp_for_every_browser() -> None:
    assert run(viewer_request(f"/{UID}.webp", size("m"), accept=OLD_BROWSER))["uri"] == (
        f"/v/{UID}/m.webp"
    )


@pytest.mark.parametrize("name", ["s", "m", "l", "xl", "xxl"])
def test_every_size_name_is_a_variant(name: str) -> None:
    request = run(viewer_request(f"/{UID}.jpg", size(name), accept=WEBP_BROWSER))
    assert request["uri"] == f"/v/{UID}/{name}.webp"


def test_private_original_keeps_the_private_prefix_and_drops_the_signature() -> None:
    request = run(viewer_request(f"/private/{UID}.png", dict(SIGNATURE), accept=WEBP_BROWSER))
    assert request["uri"] == f"/private/o/{UID}.png"
    assert request["querystring"] == {}


def test_private_variant_keeps_the_private_prefix_and_drops_the_signature() -> None:
    query = {**size("m"), **SIGNATURE}
    request = run(viewer_request(f"/private/{UID}.jpg", query, accept=WEBP_BROWSER))
    assert request["uri"] == f"/private/v/{UID}/m.webp"
    assert request["querystring"] == {}


def test_private_variant_for_a_browser_without_webp() -> None:
    query = {**size("xxl"), **SIGNATURE}
    request = run(viewer_request(f"/private/{UID}.gif", query, accept=OLD_BROWSER))
    assert request["uri"] == f"/private/v/{UID}/xxl.gif"


@pytest.mark.parametrize("prefix", ["", "/private"])
def test_svg_with_a_size_serves_the_original(prefix: str) -> None:
    request = run(viewer_request(f"{prefix}/{UID}.svg", size("m"), accept=WEBP_BROWSER))
    assert request["uri"] == f"{prefix}/o/{UID}.svg"
    assert request["querystring"] == {}


@pytest.mark.parametrize("bad", ["huge", "", "M", "xs", "m "])
def test_unknown_size_is_a_400(bad: str) -> None:
    response = run(viewer_request(f"/{UID}.jpg", size(bad), accept=WEBP_BROWSER))
    assert response["statusCode"] == 400
    assert "uri" not in response
    assert response["headers"]["content-type"]["value"].startswith("text/plain")
    message = "size must be one of s, m, l, xl, xxl\n"
    assert response["body"] == {"encoding": "text", "data": message}


def test_unknown_size_on_svg_is_a_400_too() -> None:
    assert run(viewer_request(f"/{UID}.svg", size("huge")))["statusCode"] == 400


def test_repeated_size_is_a_400() -> None:
    query = {"size": {"value": "m", "multiValue": [{"value": "m"}, {"value": "l"}]}}
    assert run(viewer_request(f"/{UID}.jpg", query))["statusCode"] == 400


@pytest.mark.parametrize(
    "uri",
    [
        "/",
        f"/{UID}",
        f"/{UID}.jpeg",
        f"/{UID}.JPG",
        f"/{UID}.bmp",
        f"/{UID.upper()}.jpg",
        f"/{UID[:-1]}.jpg",
        f"/{UID}x.jpg",
        f"/o/{UID}.jpg",
        f"/v/{UID}/m.webp",
        f"/private/o/{UID}.jpg",
        f"/incoming/{UID}",
        f"/private/../incoming/{UID}.jpg",
        f"//{UID}.jpg",
        f"/%70rivate/{UID}.jpg",
        f"/{UID}.jpg/",
        f"/{UID}.jpg%00",
    ],
)
def test_anything_but_a_media_path_is_a_404(uri: str) -> None:
    response = run(viewer_request(uri, size("m"), accept=WEBP_BROWSER))
    assert response["statusCode"] == 404
    assert response["body"] == {"encoding": "text", "data": "Not found\n"}


def test_extra_query_parameters_are_dropped() -> None:
    query = {**size("m"), "v": {"value": "2"}, "utm_source": {"value": "mail"}}
    request = run(viewer_request(f"/{UID}.jpg", query, accept=WEBP_BROWSER))
    assert request["uri"] == f"/v/{UID}/m.webp"
    assert request["querystring"] == {}


def test_extra_query_parameters_on_an_original_are_dropped() -> None:
    request = run(viewer_request(f"/{UID}.jpg", {"Size": {"value": "m"}, "x": {"value": "1"}}))
    assert request["uri"] == f"/o/{UID}.jpg"
    assert request["querystring"] == {}


def test_headers_and_method_pass_through_untouched() -> None:
    event = viewer_request(f"/{UID}.jpg", size("m"), accept=WEBP_BROWSER)
    request = run(event)
    added = {"x-imgpro-viewer-url": {"value": f"/{UID}.jpg?size=m"}}
    assert request["headers"] == {**event["request"]["headers"], **added}
    assert request["method"] == "GET"


def test_function_fits_cloudfront_functions_size_limit() -> None:
    # CloudFront Functions rejects code over 10 KB.
    assert len(VIEWER_FUNCTION_FILE.read_bytes()) < 10 * 1024


# --- the viewer's URL, for the resize function's redirect -----------------------------


def test_the_viewer_url_goes_to_the_origin_in_a_header() -> None:
    query = {**size("xl"), **SIGNATURE, "v": {"value": "2"}}
    request = run(viewer_request(f"/private/{UID}.png", query, accept=OLD_BROWSER))
    assert request["headers"]["x-imgpro-viewer-url"] == {
        "value": f"/private/{UID}.png?size=xl&Expires=1767225600&Signature=abc~def_"
        "&Key-Pair-Id=K2JCJMDEHXQW5F&v=2"
    }


def test_a_viewer_url_header_from_the_viewer_is_replaced() -> None:
    forged = {"x-imgpro-viewer-url": {"value": "https://evil.example/"}}
    request = run(viewer_request(f"/{UID}.jpg", headers=forged))
    assert request["headers"]["x-imgpro-viewer-url"] == {"value": f"/{UID}.jpg"}


# --- custom policies must name exactly the requested item ---------------------------------


def _policy(resource: object) -> dict[str, Any]:
    import base64

    statement: dict[str, Any] = {"Condition": {"DateLessThan": {"AWS:EpochTime": 4102444800}}}
    if resource is not None:
        statement = {"Resource": resource, **statement}
    document = json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()
    encoded = base64.b64encode(document).decode().translate(str.maketrans("+=/", "-_~"))
    return {
        "Policy": {"value": encoded},
        "Signature": {"value": "abc~def_"},
        "Key-Pair-Id": {"value": "K2JCJMDEHXQW5F"},
    }


ITEM_RESOURCE = f"https://d111111abcdef8.cloudfront.net/private/{UID}.jpg*"


@pytest.mark.parametrize(
    ("query", "key_path"), [({}, f"/private/o/{UID}.jpg"), (size("m"), f"/private/v/{UID}/m.jpg")]
)
def test_a_policy_for_this_item_passes(query: dict[str, Any], key_path: str) -> None:
    request = run(viewer_request(f"/private/{UID}.jpg", {**query, **_policy(ITEM_RESOURCE)}))
    assert request["uri"] == key_path
    assert request["querystring"] == {}


@pytest.mark.parametrize(
    "resource",
    [
        f"https://d111111abcdef8.cloudfront.net/private/{UID[:-1]}x.jpg*",
        f"https://d111111abcdef8.cloudfront.net/private/{UID}.png*",
        f"https://d111111abcdef8.cloudfront.net/private/{UID}*",
        f"https://d111111abcdef8.cloudfront.net/private/{UID}.jpg?*",
        f"https://d111111abcdef8.cloudfront.net/private/{UID}.jpg",
        "https://d111111abcdef8.cloudfront.net/private/*",
        "https://d111111abcdef8.cloudfront.net/*",
        "*",
        None,
        42,
    ],
    ids=[
        "other-item",
        "other-extension",
        "prefix",
        "question-mark",
        "exact-url",
        "directory",
        "distribution",
        "everything",
        "absent",
        "not-a-string",
    ],
)
def test_a_policy_that_does_not_name_exactly_this_item_is_refused(resource: object) -> None:
    response = run(viewer_request(f"/private/{UID}.jpg", {**size("s"), **_policy(resource)}))
    assert response["statusCode"] == 403
    assert response["body"] == {"encoding": "text", "data": "Missing or invalid signature\n"}


@pytest.mark.parametrize("policy", ["", "not*base64", "eyJ", "bnVsbA__"])
def test_an_unreadable_policy_is_refused(policy: str) -> None:
    query = {**_policy(ITEM_RESOURCE), "Policy": {"value": policy}}
    assert run(viewer_request(f"/private/{UID}.jpg", query))["statusCode"] == 403


def test_a_repeated_policy_is_refused() -> None:
    good = _policy(ITEM_RESOURCE)["Policy"]
    query = {**_policy(ITEM_RESOURCE), "Policy": {**good, "multiValue": [good, good]}}
    assert run(viewer_request(f"/private/{UID}.jpg", query))["statusCode"] == 403


def test_a_canned_policy_needs_no_such_check() -> None:
    # Its resource is the exact URL, which CloudFront has compared already.
    request = run(viewer_request(f"/private/{UID}.jpg", {**size("s"), **SIGNATURE}))
    assert request["uri"] == f"/private/v/{UID}/s.jpg"


# --- viewer response: Vary: Accept on variants ---------------------------------------------


def viewer_response(request_uri: str, querystring: dict[str, Any], status: int = 200) -> dict:
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-response", "distributionId": "EDFDVBD6EXAMPLE"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {
            "method": "GET",
            "uri": request_uri,
            "querystring": querystring,
            "headers": {},
            "cookies": {},
        },
        "response": {
            "statusCode": status,
            "statusDescription": "OK",
            "headers": {"content-type": {"value": "image/webp"}},
            "cookies": {},
        },
    }


@pytest.mark.parametrize(
    ("uri", "query", "status"),
    [
        (f"/{UID}.jpg", size("m"), 200),
        (f"/private/{UID}.png", {**size("xl"), **SIGNATURE}, 200),
        (f"/{UID}.gif", size("s"), 304),
        (f"/{UID}.jpg", size("m"), 307),
        # The request as the viewer-request function rewrote it.
        (f"/v/{UID}/m.webp", {}, 200),
        (f"/private/v/{UID}/xxl.jpg", {}, 200),
    ],
)
def test_variants_vary_on_accept(uri: str, query: dict[str, Any], status: int) -> None:
    response = run(viewer_response(uri, query, status))
    assert response["headers"]["vary"] == {"value": "Accept"}
    assert response["headers"]["content-type"] == {"value": "image/webp"}
    assert response["statusCode"] == status


@pytest.mark.parametrize(
    ("uri", "query", "status"),
    [
        (f"/{UID}.jpg", {}, 200),
        (f"/private/{UID}.jpg", SIGNATURE, 200),
        (f"/{UID}.svg", size("m"), 200),
        (f"/o/{UID}.jpg", {}, 200),
        (f"/private/o/{UID}.svg", {}, 200),
        (f"/{UID}.jpg", size("m"), 404),
        (f"/v/{UID}/m.webp", {}, 500),
    ],
)
def test_originals_svg_and_errors_do_not_vary(uri: str, query: dict[str, Any], status: int) -> None:
    response = run(viewer_response(uri, query, status))
    assert "vary" not in response["headers"]
