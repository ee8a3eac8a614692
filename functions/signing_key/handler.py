"""Custom resource: the stack's CloudFront signing key pair (imgpro.keypair)."""

from typing import Any

import boto3

from imgpro.keypair import respond
from imgpro.observability import worker_handler


def respond_to_cloudformation(event: dict[str, Any], context: Any) -> None:
    respond(event, context, boto3.client("ssm"))


handler = worker_handler("signing_key", respond_to_cloudformation)
