"""The CloudFront key group that checks the signed URLs of private media.

The operator makes the RSA key pair. The public half comes in as CDK context and becomes a
CloudFront public key; the private half lives only in an SSM SecureString, which the
functions that sign read at run time. The stack never creates that secret: anything in a
CloudFormation template is readable by whoever can read the stack.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

PUBLIC_KEY_CONTEXT_KEY = "imgpro:signingPublicKey"
KEY_PARAMETER_CONTEXT_KEY = "imgpro:signingKeyParameter"
DEFAULT_KEY_PARAMETER = "/imgpro/cloudfront-signing-key"

_PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
_PEM_END = "-----END PUBLIC KEY-----"
# SSM's own rule: letters, digits, _ . - and /, fully qualified (leading /) when nested.
_PARAMETER_NAME = re.compile(r"(/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+")


class SigningKeyError(ValueError):
    """The signing key context is missing or unusable; synth stops and says what to do."""


def key_parameter_name(scope: Construct) -> str:
    """Name of the SSM SecureString holding the private key (context, or the default)."""
    name = str(scope.node.try_get_context(KEY_PARAMETER_CONTEXT_KEY) or DEFAULT_KEY_PARAMETER)
    if not _PARAMETER_NAME.fullmatch(name):
        raise SigningKeyError(
            f"CDK context {KEY_PARAMETER_CONTEXT_KEY}={name!r} is not an SSM parameter name"
            f" (letters, digits, _ . - and /, with a leading / when it has several parts)"
        )
    return name


def public_key_pem(scope: Construct) -> str:
    """The operator's public key (PEM) from context; a clear error when it is missing."""
    parameter = key_parameter_name(scope)
    raw = scope.node.try_get_context(PUBLIC_KEY_CONTEXT_KEY)
    if not raw or not str(raw).strip():
        raise SigningKeyError(_missing_key_message(parameter))
    pem = str(raw).replace("\r\n", "\n").strip()
    if "PRIVATE KEY" in pem:
        # Whatever this key becomes is written into the template, readable by anyone who
        # can read the stack.
        raise SigningKeyError(
            f"CDK context {PUBLIC_KEY_CONTEXT_KEY} holds a PRIVATE key. Pass the public key"
            f" (public.pem); the private key belongs in the SSM parameter {parameter} only."
            " If it was ever saved in cdk.json or cdk.context.json, make a new pair.\n\n"
            + _how_to(parameter)
        )
    if not (pem.startswith(_PEM_BEGIN) and pem.endswith(_PEM_END)):
        raise SigningKeyError(
            f"CDK context {PUBLIC_KEY_CONTEXT_KEY} is not a PEM public key (expected"
            f" {_PEM_BEGIN} ... {_PEM_END}, as `openssl rsa -pubout` writes it).\n\n"
            + _how_to(parameter)
        )
    return pem + "\n"


def _missing_key_message(parameter: str) -> str:
    return (
        f"CDK context {PUBLIC_KEY_CONTEXT_KEY} is not set. Private media is served only"
        " through CloudFront signed URLs, so the stack needs the public half of your signing"
        " key pair (the private half stays in SSM and never enters the stack).\n\n"
        + _how_to(parameter)
    )


def _how_to(parameter: str) -> str:
    return (
        "Create a key pair, store the private key in SSM, then pass the public key:\n\n"
        "  openssl genrsa -out private.pem 2048\n"
        "  openssl rsa -pubout -in private.pem -out public.pem\n"
        f"  aws ssm put-parameter --name {parameter} --type SecureString"
        " --value file://private.pem\n"
        f'  cdk deploy -c {PUBLIC_KEY_CONTEXT_KEY}="$(cat public.pem)"\n\n'
        f"Pass the same -c on every synth, diff and deploy. Another parameter name:"
        f" -c {KEY_PARAMETER_CONTEXT_KEY}=/your/name (default {DEFAULT_KEY_PARAMETER})."
        " Delete private.pem once it is stored."
    )


class SigningKeys(Construct):
    """The public key and the key group that the `/private/*` behavior trusts."""

    def __init__(
        self, scope: Construct, construct_id: str, *, public_key_pem: str, parameter_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.parameter_name = parameter_name
        # CloudFront cannot change a public key's encoded key in place. Naming the construct
        # after the key makes a new key a new resource: CloudFormation creates it, moves the
        # key group over, then deletes the old one.
        fingerprint = hashlib.sha256(public_key_pem.encode()).hexdigest()[:12]
        self.public_key = cloudfront.PublicKey(
            self,
            f"PublicKey{fingerprint}",
            encoded_key=public_key_pem,
            comment="imgpro: checks signed URLs of private media",
        )
        self.key_group = cloudfront.KeyGroup(
            self,
            "KeyGroup",
            items=[self.public_key],
            comment="imgpro: keys trusted for /private/* URLs",
        )
