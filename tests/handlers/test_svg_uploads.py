"""Every hostile SVG of the corpus through POST /v1/upload: refused, or stored inert."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import BUCKET
from tests.support.images import stored_key
from tests.support.svg_payloads import PAYLOADS, assert_inert


@pytest.mark.parametrize(("name", "payload"), PAYLOADS, ids=[name for name, _ in PAYLOADS])
def test_a_hostile_svg_is_refused_or_stored_inert(api, name, payload) -> None:
    response = api.upload("acme", payload, filename="logo.svg")
    if response.status == 400:
        assert list(response.json()["errors"]) == ["file"]
        return
    assert response.status == 201, response
    body = response.json()
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=stored_key(body))
    assert stored["ContentType"] == "image/svg+xml"
    assert_inert(stored["Body"].read())


def test_an_svg_keeps_its_drawing_and_reports_its_size(api) -> None:
    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generator: Adobe Illustrator 27.0 -->\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 60">'
        b'<style>.st0{fill:#f00}</style><rect class="st0" width="120" height="60"/></svg>'
    )
    body = api.upload("acme", svg, filename="logo.svg").json()
    assert (body["width"], body["height"], body["name"]) == (120, 60, "logo.svg")
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=stored_key(body))
    data = stored["Body"].read()
    assert b"<rect" in data and b".st0" in data and body["filesize"] == len(data)
