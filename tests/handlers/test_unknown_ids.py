"""Unknown ids stay cheap: the resize function (CloudFront's fallback origin, 1.5 GB) answers
an id the table does not have, or media it must not serve, from the one item read, without
an S3 request or Pillow. Every AWS call it makes is counted."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.support import images
from tests.support.gateway import FakeContext, handler_module

UNKNOWN = "zz9zz9zz9zz9"


@pytest.fixture
def aws_calls(aws: None, monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """Every AWS operation made through botocore from now on, by (service, operation)."""
    import botocore.client

    calls: Counter[tuple[str, str]] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        calls[(self.meta.service_model.service_name, operation_name)] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


def origin(path: str) -> dict[str, Any]:
    """What the resize function answers CloudFront for `path` (a key path)."""
    event = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": "GET", "path": path}},
        "isBase64Encoded": False,
    }
    return handler_module("resize").handler(event, FakeContext())


def s3_calls(calls: Counter[tuple[str, str]]) -> int:
    return sum(n for (service, _), n in calls.items() if service == "s3")


@pytest.mark.parametrize(
    "path",
    [
        f"/o/{UNKNOWN}.jpg",
        f"/v/{UNKNOWN}/m.webp",
        f"/private/o/{UNKNOWN}.png",
        f"/private/v/{UNKNOWN}/xxl.gif",
    ],
)
def test_an_unknown_id_is_one_item_read_and_no_s3_request(
    path: str, aws_calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgpro import delivery

    monkeypatch.setattr(delivery, "_make_variant", _never)  # no decode, no Pillow
    assert origin(path)["statusCode"] == 404
    assert aws_calls == Counter({("dynamodb", "GetItem"): 1})


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("an image was about to be decoded")


def test_a_deleted_id_is_answered_from_the_item_read_alone(api, aws_calls) -> None:
    gone = api.upload("acme", public="1").json()["id"]
    api.delete(f"/v1/media/{gone}", token="acme")
    aws_calls.clear()
    for path in (f"/o/{gone}.jpg", f"/v/{gone}/s.webp"):
        assert origin(path)["statusCode"] == 404
    assert s3_calls(aws_calls) == 0
    assert aws_calls == Counter({("dynamodb", "GetItem"): 2})


def test_media_the_url_must_not_serve_costs_no_s3_request(api, aws_calls) -> None:
    public = api.upload("acme", public="1").json()["id"]
    secret = api.upload("acme", public="0").json()["id"]
    aws_calls.clear()
    for path in (
        f"/private/o/{public}.jpg",  # the other side
        f"/v/{secret}/m.webp",
        f"/o/{public}.png",  # another extension
        f"/v/{public}/m.gif",  # a format variants of a JPEG are never made in
    ):
        assert origin(path)["statusCode"] == 404, path
    assert s3_calls(aws_calls) == 0


def test_a_path_that_is_no_key_costs_nothing(aws_calls) -> None:
    for path in ("/", "/o/short.jpg", f"/v/{UNKNOWN}/huge.webp", f"/x/{UNKNOWN}.jpg"):
        assert origin(path)["statusCode"] == 404
    assert aws_calls == Counter()


def test_a_known_variant_reads_its_original_once(api, aws_calls) -> None:
    # The counter sees S3 when there is something to read.
    data = images.encode(images.noise((800, 600)), "JPEG")
    uid = api.upload("acme", data, public="1").json()["id"]
    aws_calls.clear()
    assert origin(f"/v/{uid}/s.webp")["statusCode"] == 200
    assert aws_calls[("s3", "GetObject")] == 1
    assert aws_calls[("s3", "PutObject")] == 1
