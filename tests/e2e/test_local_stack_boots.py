"""Smoke test of `imgpro local`: it answers like the deployed gateway and shares its AWS state."""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3
import pytest
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

OVER_GATEWAY_LIMIT = 10 * 1024 * 1024 + 1


def aws_client(service: str, stack: LocalStackProcess):  # type: ignore[no-untyped-def]
    # Explicit endpoint and credentials: this process must reach moto, never AWS.
    return boto3.client(
        service,
        endpoint_url=stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_root_answers_200(local_stack: LocalStackProcess) -> None:
    assert requests.get(local_stack.base_url + "/", timeout=10).status_code == 200


def test_unknown_path_is_the_gateways_json_404(local_stack: LocalStackProcess) -> None:
    response = requests.get(local_stack.base_url + "/v1/no/such/route", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found", "code": "not_found"}


def test_body_over_10_mib_is_api_gateways_own_413(local_stack: LocalStackProcess) -> None:
    response = requests.post(
        local_stack.base_url + "/v1/upload",
        data=b"\0" * OVER_GATEWAY_LIMIT,
        headers={
            "Content-Type": "application/octet-stream",
            "Authorization": f"Bearer {local_stack.tokens['acme:*']}",
        },
        timeout=30,
    )
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."


def test_chunked_body_without_length_is_a_json_411(local_stack: LocalStackProcess) -> None:
    response = requests.post(
        local_stack.base_url + "/v1/upload",
        data=iter([b"chunked ", b"body"]),
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert response.status_code == 411
    assert response.json()["code"] == "length_required"


def test_connection_is_kept_alive_between_requests(local_stack: LocalStackProcess) -> None:
    address = urlsplit(local_stack.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        statuses = []
        for path in ("/", "/v1/no/such/route", "/"):
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        assert statuses == [200, 404, 200]
    finally:
        connection.close()


def test_printed_token_authenticates(local_stack: LocalStackProcess) -> None:
    response = requests.get(
        local_stack.base_url + "/v1/media",
        headers={"Authorization": f"Bearer {local_stack.tokens['acme:read']}"},
        timeout=10,
    )
    assert response.status_code == 200


def test_second_process_sees_the_table(local_stack: LocalStackProcess) -> None:
    table = aws_client("dynamodb", local_stack).describe_table(TableName="imgpro-local")
    assert table["Table"]["TableStatus"] == "ACTIVE"


def test_second_process_sees_the_bucket(local_stack: LocalStackProcess) -> None:
    names = [b["Name"] for b in aws_client("s3", local_stack).list_buckets()["Buckets"]]
    assert "imgpro-local" in names
