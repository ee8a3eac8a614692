"""Monthly quotas on the local stack: a team set to a tiny quota with `imgpro team put`
(against the stack's moto endpoint) is refused with 403 `quota_exceeded`, and its usage
does not move."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
import requests

from tests.e2e.test_operator_cli import _imgpro
from tests.support.images import png

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


def _token(stack: LocalStackProcess, team: str, *flags: str) -> str:
    out = _imgpro(stack, "team", "put", team, *flags)
    assert out.startswith(f"team {team} plan=free")
    return _imgpro(stack, "token", "issue", team).rsplit(" ", 1)[-1].strip()


def _upload(stack: LocalStackProcess, token: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("a.png", png())},
        timeout=30,
    )


def _usage(stack: LocalStackProcess, team: str) -> dict[str, int]:
    """The team item's counters, read from moto: `stored_bytes` and `images_<YYYY>_<MM>`."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = dynamodb.get_item(
        TableName="imgpro-local",
        Key={"pk": {"S": f"TEAM#{team}"}, "sk": {"S": "META"}},
        ConsistentRead=True,
    )["Item"]
    return {
        name: int(value["N"])
        for name, value in item.items()
        if name == "stored_bytes" or name.startswith("images_")
    }


def test_a_team_at_its_monthly_image_quota_gets_403_and_its_usage_stays(local_stack) -> None:
    token = _token(local_stack, "quota-images", "--max-images", "1")
    first = _upload(local_stack, token)
    assert first.status_code == 201, first.text
    usage = _usage(local_stack, "quota-images")
    assert usage.pop("stored_bytes") == first.json()["filesize"]
    assert list(usage.values()) == [1]

    refused = _upload(local_stack, token)
    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"
    assert "1 of the 1 images a month that an override allows" in refused.json()["error"]
    assert _usage(local_stack, "quota-images") == {
        **usage,
        "stored_bytes": first.json()["filesize"],
    }
    listed = requests.get(
        f"{local_stack.base_url}/v1/media",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["data"]
    assert [m["id"] for m in listed] == [first.json()["id"]]


def test_a_team_at_its_storage_quota_gets_403_and_its_usage_stays(local_stack) -> None:
    token = _token(local_stack, "quota-bytes", "--max-storage", "100B")
    refused = _upload(local_stack, token)
    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"
    assert refused.json()["error"].startswith(
        "Storage quota exceeded: this team stores 0 of the 100"
    )
    assert _usage(local_stack, "quota-bytes") == {}
