"""The stack's signing key pair custom resource (imgpro.keypair), against moto's SSM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imgpro import keypair
from imgpro.signing import fingerprint

NAME = "/imgpro/cloudfront-signing-key"


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield boto3.client("ssm")


def _event(request: str, name: str = NAME, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceProperties": {keypair.PARAMETER_PROPERTY: name},
        **extra,
    }


def test_create_stores_the_private_key_and_answers_only_the_public_one(ssm: Any) -> None:
    physical_id, data = keypair.handle(_event("Create"), ssm)
    assert physical_id == NAME
    stored = ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert "PRIVATE KEY" in stored["Value"]
    assert "PRIVATE" not in str(data)
    assert data[keypair.PUBLIC_KEY_ATTRIBUTE] == keypair.public_pem_of(stored["Value"])
    assert data[keypair.FINGERPRINT_ATTRIBUTE] == fingerprint(data[keypair.PUBLIC_KEY_ATTRIBUTE])


def test_create_adopts_a_key_already_stored(ssm: Any) -> None:
    private_pem = keypair.generate_private_pem()
    ssm.put_parameter(Name=NAME, Type="SecureString", Value=private_pem)
    _, data = keypair.handle(_event("Create"), ssm)
    assert data[keypair.PUBLIC_KEY_ATTRIBUTE] == keypair.public_pem_of(private_pem)
    assert ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]["Value"] == private_pem


def test_update_never_makes_a_new_key(ssm: Any) -> None:
    _, created = keypair.handle(_event("Create"), ssm)
    # An operator rotates: the SecureString now holds another key.
    ssm.put_parameter(
        Name=NAME, Type="SecureString", Value=keypair.generate_private_pem(), Overwrite=True
    )
    physical_id, updated = keypair.handle(
        _event("Update", PhysicalResourceId=NAME, OldResourceProperties={"ParameterName": NAME}),
        ssm,
    )
    assert physical_id == NAME
    assert updated == created


def test_delete_leaves_the_key(ssm: Any) -> None:
    keypair.handle(_event("Create"), ssm)
    physical_id, data = keypair.handle(_event("Delete", PhysicalResourceId=NAME), ssm)
    assert (physical_id, data) == (NAME, {})
    assert ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]["Value"]
