"""`imgpro media placeholders` on the local stack: media stored before placeholders get the
one ingest would have made, and a second run changes nothing."""

from __future__ import annotations

import boto3
import pytest
import requests

from tests.e2e.test_operator_cli import _imgpro
from tests.support import images

pytestmark = pytest.mark.e2e


def test_backfill_makes_the_placeholder_ingest_makes_and_is_idempotent(local_stack) -> None:
    headers = {"Authorization": f"Bearer {local_stack.tokens['acme:*']}"}
    photo = images.encode(images.noise((640, 480)), "JPEG", quality=90)
    uploaded = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers=headers,
        files={"file": ("old.jpg", photo)},
        timeout=30,
    ).json()
    made_at_ingest = uploaded["placeholder"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=local_stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    # As if it had been stored before placeholders existed.
    dynamodb.update_item(
        TableName="imgpro-local",
        Key={"pk": {"S": f"MEDIA#{uploaded['id']}"}, "sk": {"S": "META"}},
        UpdateExpression="REMOVE placeholder",
    )
    url = f"{local_stack.base_url}/v1/media/{uploaded['id']}"
    assert "placeholder" not in requests.get(url, headers=headers, timeout=30).json()

    out = _imgpro(local_stack, "media", "placeholders", "--team", "acme")
    assert out.startswith("placeholders made=1 ")
    assert requests.get(url, headers=headers, timeout=30).json()["placeholder"] == made_at_ingest
    again = _imgpro(local_stack, "media", "placeholders", "--team", "acme")
    assert again.startswith("placeholders made=0 ")
