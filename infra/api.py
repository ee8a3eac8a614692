"""The REST API: one Lambda function per route of `imgpro.routes.ROUTES`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from imgpro import config, ratelimit
from imgpro.routes import BINARY_MEDIA_TYPES, Route
from infra.functions import handler_function, pascal_case
from infra.paths import FUNCTIONS_DIR

STAGE_NAME = "prod"
RATE_LIMIT_CONTEXT_KEY = "imgpro:rateLimit"
"""Per-token limits, `PER_MIN/PER_HOUR` or `off` (default 100/1000): docs/rate-limits.md."""

# Decoding a 48 MP image takes far more memory than a DynamoDB round trip; Lambda gives CPU
# in proportion to memory, so image functions get both.
_IMAGE_MEMORY_MB = 1024
_DEFAULT_MEMORY_MB = 256
# API Gateway's integration timeout is 29 s. Every function times out before it, so the
# client gets the function's own outcome (its error path, or Lambda's timeout as a 502
# through the Default5xx response), never the gateway's 504 while the function runs on
# and perhaps commits an upload the client believes failed. Imports fetch for at most
# 20 s of the 28 (imgpro.config IMPORT_DEADLINE_SECONDS, docs/import.md).
IMAGE_TIMEOUT = cdk.Duration.seconds(28)
DEFAULT_TIMEOUT = cdk.Duration.seconds(10)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[Route],
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        imaging_layer: lambda_.ILayerVersion,
        functions_dir: Path = FUNCTIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=cdk.Stack.of(self).stack_name,
            description="imgpro image hosting API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Without these, API Gateway hands uploads to Lambda as mangled UTF-8 text.
            binary_media_types=list(BINARY_MEDIA_TYPES),
            deploy_options=apigateway.StageOptions(stage_name=STAGE_NAME),
            # The CloudWatch role is an account-wide singleton; owning it from this stack
            # would fight any other API in the account.
            cloud_watch_role=False,
        )
        # The stack outputs the URL once, under a stable name the operator CLI can read;
        # RestApi's own output would repeat it under a hashed one.
        self.rest_api.node.try_remove_child("Endpoint")
        _add_gateway_responses(self.rest_api)

        # Only routes authenticate tokens, so only they are rate limited.
        environment = {**environment, config.RATE_LIMIT: rate_limit(self)}
        self.functions: dict[str, lambda_.Function] = {}
        for route in routes:
            function = handler_function(
                self,
                pascal_case(route.function),
                folder=functions_dir / route.function,
                description=f"imgpro {route.method} {route.path}",
                memory_size=_IMAGE_MEMORY_MB if route.decodes_images else _DEFAULT_MEMORY_MB,
                timeout=IMAGE_TIMEOUT if route.decodes_images else DEFAULT_TIMEOUT,
                layers=[core_layer, imaging_layer] if route.decodes_images else [core_layer],
                environment=environment,
            )
            self.functions[route.function] = function
            self.resource_for(route.path).add_method(
                route.method,
                # No test-invoke permission: the console's test button is not worth a
                # second resource policy statement per method.
                apigateway.LambdaIntegration(function, allow_test_invoke=False),
            )

    def resource_for(self, path: str) -> apigateway.IResource:
        """The resource at `path`, created on first use and shared by all its methods."""
        resource = self.rest_api.root
        for part in path.strip("/").split("/"):
            if part:
                resource = resource.get_resource(part) or resource.add_resource(part)
        return resource


def rate_limit(scope: Construct) -> str:
    """The `imgpro:rateLimit` context value, checked at synth: a typo fails here, not in
    every function's first request."""
    raw = scope.node.try_get_context(RATE_LIMIT_CONTEXT_KEY)
    value = ratelimit.DEFAULT if raw is None else str(raw).strip()
    try:
        ratelimit.parse_limits(value)
    except ValueError as error:
        raise ValueError(f"CDK context {RATE_LIMIT_CONTEXT_KEY}: {error}") from None
    return value


def _error_template(message: str, code: str) -> dict[str, str]:
    return {"application/json": json.dumps({"error": message, "code": code})}


def _add_gateway_responses(rest_api: apigateway.RestApi) -> None:
    """Errors raised by API Gateway itself, before any function runs, in the API's shape."""
    json_content = {"Content-Type": "'application/json'"}
    # `$context.error.messageString` is already a quoted JSON string, so it is spliced in
    # as a value rather than through json.dumps.
    gateway_message = '{"error": $context.error.messageString, "code": "%s"}'
    rest_api.add_gateway_response(
        "Default4xx",
        type=apigateway.ResponseType.DEFAULT_4_XX,
        response_headers=json_content,
        templates={"application/json": gateway_message % "bad_request"},
    )
    rest_api.add_gateway_response(
        "Default5xx",
        type=apigateway.ResponseType.DEFAULT_5_XX,
        response_headers=json_content,
        templates={"application/json": gateway_message % "internal_error"},
    )
    # No REQUEST_TOO_LARGE response: AWS documents customizing the 413 REQUEST_TOO_LARGE
    # gateway response as unsupported, and API Gateway answers its own 413s whatever is
    # configured: `{"message": "Request Too Long"}` for an event over Lambda's 6 MB
    # payload limit, plain text for a body over its 10 MB limit (imgpro.routes, README).
    # Below those, the upload function's own JSON 413 names the direct upload.
    # A REST API answers an unknown path or method with this response (403 by default).
    rest_api.add_gateway_response(
        "NotFound",
        type=apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status_code="404",
        response_headers=json_content,
        templates=_error_template("Not found", "not_found"),
    )
    rest_api.add_gateway_response(
        "Throttled",
        type=apigateway.ResponseType.THROTTLED,
        status_code="429",
        response_headers=json_content,
        templates=_error_template("Too many requests, slow down and retry later", "rate_limited"),
    )
