"""The stack's own CloudFront signing key pair: a create-only CloudFormation custom resource.

On Create it makes an RSA-2048 key (or adopts the one already stored: a stack deployed
again after `cdk destroy`, or one that used to take an operator-made key), stores the
private key in the SSM SecureString `<parameter>` and the public key in the String
`<parameter>.pub`, and answers only the public key and its fingerprint: the private key
never enters a template, an event, a response or a log. Update answers the stored public
key again, and Delete does nothing: the parameters stay (README, teardown), so nothing
that CloudFormation does ever makes or loses a key by itself.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from imgpro.signing import fingerprint

PARAMETER_PROPERTY = "ParameterName"
PUBLIC_KEY_ATTRIBUTE = "PublicKeyPem"
FINGERPRINT_ATTRIBUTE = "Fingerprint"
PUBLIC_SUFFIX = ".pub"


def public_parameter(name: str) -> str:
    return name + PUBLIC_SUFFIX


def generate_private_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem_of(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def ensure_key_pair(ssm: Any, name: str) -> str:
    """The public PEM of the pair stored under `name`, making and storing one if none is."""
    try:
        private_pem = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        private_pem = generate_private_pem()
        try:
            # Overwrite=False: two creates racing never replace each other's key.
            ssm.put_parameter(
                Name=name,
                Type="SecureString",
                Value=private_pem,
                Description="imgpro: private key of CloudFront signed URLs (made by the stack)",
                Overwrite=False,
            )
        except ssm.exceptions.ParameterAlreadyExists:
            private_pem = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    public_pem = public_pem_of(private_pem)
    ssm.put_parameter(
        Name=public_parameter(name),
        Type="String",
        Value=public_pem,
        Description="imgpro: public key of the stack's CloudFront key group",
        Overwrite=True,
    )
    return public_pem


def stored_public_key(ssm: Any, name: str) -> str:
    """The public key stored at Create: what the key group was given, whatever the
    SecureString holds now (an operator may have rotated it)."""
    return str(ssm.get_parameter(Name=public_parameter(name))["Parameter"]["Value"])


def handle(event: Mapping[str, Any], ssm: Any) -> tuple[str, dict[str, str]]:
    """(physical resource id, attributes) for a CloudFormation custom resource event."""
    name = str(event["ResourceProperties"][PARAMETER_PROPERTY])
    request = event["RequestType"]
    if request == "Delete":
        return str(event["PhysicalResourceId"]), {}
    previous = event.get("OldResourceProperties", {}).get(PARAMETER_PROPERTY, name)
    if request == "Create" or str(previous) != name:
        # Another parameter name is another key, made or adopted as on Create; its new
        # physical id makes CloudFormation delete the old resource (which keeps its key).
        public_pem = ensure_key_pair(ssm, name)
    else:
        try:
            public_pem = stored_public_key(ssm, name)
        except ssm.exceptions.ParameterNotFound:
            public_pem = ensure_key_pair(ssm, name)
    return name, {PUBLIC_KEY_ATTRIBUTE: public_pem, FINGERPRINT_ATTRIBUTE: fingerprint(public_pem)}


def respond(event: Mapping[str, Any], context: Any, ssm: Any) -> None:
    """Run `handle` and send CloudFormation its answer (the custom resource protocol)."""
    body: dict[str, Any] = {
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    try:
        physical_id, data = handle(event, ssm)
        body.update(Status="SUCCESS", PhysicalResourceId=physical_id, Data=data)
    except Exception as error:
        # The error's type only: a message could quote a parameter value.
        body.update(
            Status="FAILED",
            PhysicalResourceId=event.get("PhysicalResourceId") or context.log_stream_name,
            Reason=f"{type(error).__name__}; see {context.log_stream_name}",
        )
        print(f"signing key {event['RequestType']} failed: {type(error).__name__}")
    payload = json.dumps(body).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
