"""The REST API: one Lambda function per route of `imgpro.routes.ROUTES`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from imgpro import config, ratelimit
from imgpro.routes import BINARY_MEDIA_TYPES, Route
from infra.functions import handler_function, log_removal_policy, log_retention, pascal_case
from infra.nag import acknowledge
from infra.observability import tracing_enabled
from infra.options import OptionError, integer, string_list, text
from infra.paths import FUNCTIONS_DIR

STAGE_NAME = "prod"
THROTTLE_RATE_CONTEXT_KEY = "imgpro:throttleRate"
THROTTLE_BURST_CONTEXT_KEY = "imgpro:throttleBurst"
DEFAULT_THROTTLE_RATE = 100
"""Requests per second for the whole stage: a backstop behind the per-token limits (which
only count requests with a valid token), far below the account's 10,000."""
DEFAULT_THROTTLE_BURST = 200
CORS_ORIGINS_CONTEXT_KEY = "imgpro:corsOrigins"
"""Origins browsers may call the API from (a list, or `*`); default none: no CORS."""
API_DOMAIN_CONTEXT_KEY = "imgpro:apiDomain"
API_CERTIFICATE_CONTEXT_KEY = "imgpro:apiCertificateArn"
API_LOGS_CONTEXT_KEY = "imgpro:apiLogs"
"""`off` (default), `access` (access logs) or `full` (access and execution logs): both need
the account-level API Gateway CloudWatch role, which is the operator's (README)."""
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "method": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.message",
    "errorType": "$context.error.responseType",
}
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
        cors_origins = string_list(scope, CORS_ORIGINS_CONTEXT_KEY)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=cdk.Stack.of(self).stack_name,
            description="imgpro image hosting API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Without these, API Gateway hands uploads to Lambda as mangled UTF-8 text.
            binary_media_types=list(BINARY_MEDIA_TYPES),
            deploy_options=self._stage_options(scope),
            # The CloudWatch role is an account-wide singleton; owning it from this stack
            # would fight any other API in the account.
            cloud_watch_role=False,
            default_cors_preflight_options=(
                apigateway.CorsOptions(
                    allow_origins=cors_origins,
                    allow_methods=apigateway.Cors.ALL_METHODS,
                    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                    max_age=cdk.Duration.hours(1),
                )
                if cors_origins
                else None
            ),
        )
        self._acknowledge_findings()
        self._custom_domain(scope)
        # The stack outputs the URL once, under a stable name the operator CLI can read;
        # RestApi's own output would repeat it under a hashed one.
        self.rest_api.node.try_remove_child("Endpoint")
        _add_gateway_responses(self.rest_api, cors_origins)

        # Only routes authenticate tokens, so only they are rate limited.
        environment = {**environment, config.RATE_LIMIT: rate_limit(self)}
        if cors_origins:
            environment[config.CORS_ORIGINS] = ",".join(cors_origins)
        self.functions: dict[str, lambda_.Function] = {}
        for route in routes:
            function = self.functions.get(route.function) or handler_function(
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

    def _stage_options(self, scope: Construct) -> apigateway.StageOptions:
        """Logs as `imgpro:apiLogs` says: off (default), `access`, or `full`.

        API Gateway writes to CloudWatch Logs, access logs included, only through the
        account's API Gateway CloudWatch role (AWS::ApiGateway::Account, one per account
        and region): the operator's, not this stack's. On an account without it a stage
        with logging fails to deploy, so logging is off until the operator says it is set.
        """
        mode = api_logs(scope)
        self.access_logs: logs.LogGroup | None = None
        logging: dict[str, Any] = {}
        if mode in ("access", "full"):
            self.access_logs = logs.LogGroup(
                self,
                "AccessLogs",
                retention=log_retention(scope),
                removal_policy=log_removal_policy(scope),
            )
            logging["access_log_destination"] = apigateway.LogGroupLogDestination(self.access_logs)
            # One JSON object per request. No header, query or body: tokens travel in
            # the Authorization header, signed URLs in queries.
            logging["access_log_format"] = apigateway.AccessLogFormat.custom(
                json.dumps(ACCESS_LOG_FIELDS)
            )
        if mode == "full":
            # Errors only, and never request or response bodies (data trace).
            logging["logging_level"] = apigateway.MethodLoggingLevel.ERROR
            logging["data_trace_enabled"] = False
            logging["metrics_enabled"] = True
        return apigateway.StageOptions(
            stage_name=STAGE_NAME,
            throttling_rate_limit=integer(
                scope, THROTTLE_RATE_CONTEXT_KEY, default=DEFAULT_THROTTLE_RATE, minimum=1
            ),
            throttling_burst_limit=integer(
                scope, THROTTLE_BURST_CONTEXT_KEY, default=DEFAULT_THROTTLE_BURST, minimum=1
            ),
            # X-Ray samples requests at the stage and passes the trace to the functions
            # (imgpro:tracing, infra.observability). Unlike logging it needs no account
            # setting: API Gateway makes its own service-linked role on first use.
            tracing_enabled=tracing_enabled(scope),
            **logging,
        )

    def _acknowledge_findings(self) -> None:
        mode = api_logs(self)
        if mode == "off":
            acknowledge(
                self.rest_api.deployment_stage,
                "APIG1",
                "Access logs are off by default: API Gateway writes them only through the"
                " account-level CloudWatch role, which the operator owns and a fresh account"
                " lacks (the deploy would fail). -c imgpro:apiLogs=access once it is set.",
            )
        if mode != "full":
            acknowledge(
                self.rest_api.deployment_stage,
                "APIG6",
                "Execution logs need the account-level API Gateway CloudWatch role, which"
                " the operator owns; -c imgpro:apiLogs=full turns them on once it is set."
                " Every function logs each request it handles meanwhile.",
            )
        acknowledge(
            self.rest_api,
            "APIG2",
            "Requests are validated by each function (Powertools, imgpro.validation), which"
            " answers in the img.pro error shape; a gateway validator would answer first,"
            " in another shape.",
        )
        for rule in ("APIG4", "COG4"):
            acknowledge(
                self.rest_api,
                rule,
                "img.pro-compatible bearer tokens are checked in code against the table"
                " (imgpro.auth), with per-token abilities and rate limits; some routes are"
                " public by design (GET /{uid}, public media, service info). No Cognito.",
            )
        acknowledge(
            self.rest_api.deployment_stage,
            "APIG3",
            "No WAF by default (a fixed monthly cost per web ACL): stage throttling and"
            " per-token rate limits bound the load; an operator can associate a web ACL.",
        )

    def _custom_domain(self, scope: Construct) -> None:
        """`imgpro:apiDomain` with `imgpro:apiCertificateArn` (an ACM certificate in the
        stack's region): the API also answers at https://<domain>/ (no stage in the path).
        The DNS record (a CNAME to the output ApiDomainTarget) is the operator's."""
        domain = text(scope, API_DOMAIN_CONTEXT_KEY)
        certificate_arn = text(scope, API_CERTIFICATE_CONTEXT_KEY)
        self.domain_name: apigateway.DomainName | None = None
        if not domain and not certificate_arn:
            return
        if not (domain and certificate_arn):
            raise OptionError(
                f"CDK context {API_DOMAIN_CONTEXT_KEY} and {API_CERTIFICATE_CONTEXT_KEY}"
                " go together"
            )
        self.domain_name = apigateway.DomainName(
            self,
            "Domain",
            domain_name=domain,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
        )
        self.domain_name.add_base_path_mapping(self.rest_api, stage=self.rest_api.deployment_stage)

    def resource_for(self, path: str) -> apigateway.IResource:
        """The resource at `path`, created on first use and shared by all its methods."""
        resource = self.rest_api.root
        for part in path.strip("/").split("/"):
            if part:
                resource = resource.get_resource(part) or resource.add_resource(part)
        return resource


def api_logs(scope: Construct) -> str:
    """The `imgpro:apiLogs` context value: off (default), access, or full."""
    raw = scope.node.try_get_context(API_LOGS_CONTEXT_KEY)
    value = "off" if raw is None else str(raw).strip().lower()
    value = {"false": "off", "": "off", "true": "access"}.get(value, value)
    if value not in ("off", "access", "full"):
        raise ValueError(
            f"CDK context {API_LOGS_CONTEXT_KEY}: expected off, access or full, got {raw!r}"
        )
    return value


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


def _gateway_cors(cors_origins: list[str]) -> dict[str, str]:
    """CORS headers of the gateway's own responses: static values only, so one origin (or
    `*`) is sent as is and several echo the request's Origin (these bodies are errors,
    never data, so any page may read them) with `Vary: Origin`."""
    if not cors_origins:
        return {}
    if "*" in cors_origins:
        return {"Access-Control-Allow-Origin": "'*'"}
    if len(cors_origins) == 1:
        return {"Access-Control-Allow-Origin": f"'{cors_origins[0]}'", "Vary": "'Origin'"}
    return {
        "Access-Control-Allow-Origin": "method.request.header.Origin",
        "Vary": "'Origin'",
    }


def _error_template(message: str, code: str) -> dict[str, str]:
    return {"application/json": json.dumps({"error": message, "code": code})}


def _add_gateway_responses(rest_api: apigateway.RestApi, cors_origins: list[str]) -> None:
    """Errors raised by API Gateway itself, before any function runs, in the API's shape,
    readable by the browsers CORS lets in (a throttled 429 included)."""
    json_content = {"Content-Type": "'application/json'", **_gateway_cors(cors_origins)}
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
