"""Custom resource: the stack's CloudFront signing key pair (imgpro.keypair)."""

import boto3

from imgpro.keypair import respond


def handler(event, context):
    respond(event, context, boto3.client("ssm"))
