from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config
from imgpro.routes import ROUTES
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

IMAGE_ROUTES = [route for route in ROUTES if route.decodes_images]
OTHER_ROUTES = [route for route in ROUTES if not route.decodes_images]
GATEWAY_RESPONSE = "AWS::ApiGateway::GatewayResponse"


def _names(routes: list) -> list[str]:
    return [route.function for route in routes]


def test_api_is_a_regional_rest_api(template: Template) -> None:
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )


def test_api_passes_uploads_to_lambda_as_binary(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"BinaryMediaTypes": ["multipart/form-data", "image/*", "application/octet-stream"]},
    )


def test_api_is_deployed_to_the_prod_stage(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "prod"})


def test_api_methods_match_the_route_table(api_methods: list[tuple[str, str, str]]) -> None:
    deployed = sorted((method, path) for method, path, _ in api_methods)
    assert deployed == sorted((route.method, route.path) for route in ROUTES)


def test_every_route_has_a_method_wired_to_its_own_function(
    api_methods: list[tuple[str, str, str]], function_id: Callable[[str], str]
) -> None:
    wired = {(method, path): function for method, path, function in api_methods}
    for route in ROUTES:
        assert wired[(route.method, route.path)] == function_id(route.function), route
    # One function per folder: routes naming the same folder share it (the playground).
    assert len(set(wired.values())) == len({route.function for route in ROUTES})


def test_methods_use_lambda_proxy_integration(template: Template) -> None:
    methods = template.find_resources("AWS::ApiGateway::Method")
    proxied = template.find_resources(
        "AWS::ApiGateway::Method",
        {
            "Properties": {
                "Integration": Match.object_like(
                    {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST"}
                )
            }
        },
    )
    assert proxied.keys() == methods.keys()


def test_each_path_is_one_resource_shared_by_its_methods(resource_paths: dict[str, str]) -> None:
    # Every prefix of every route path, e.g. /v1, /v1/media, /v1/media/{uid}.
    expected: set[str] = set()
    for route in ROUTES:
        parts = [part for part in route.path.split("/") if part]
        expected.update("/" + "/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    assert sorted(resource_paths.values()) == sorted(expected)


def test_uid_is_a_path_parameter(api_methods: list[tuple[str, str, str]]) -> None:
    paths = {path for _, path, _ in api_methods}
    assert {"/{uid}", "/v1/media/{uid}"} <= paths


def test_api_gateway_may_invoke_each_function_only_from_its_method(
    template: Template, function_id: Callable[[str], str]
) -> None:
    for name in {route.function for route in ROUTES}:
        permissions = template.find_resources(
            "AWS::Lambda::Permission",
            {
                "Properties": Match.object_like(
                    {
                        "Action": "lambda:InvokeFunction",
                        "Principal": "apigateway.amazonaws.com",
                        "FunctionName": {"Fn::GetAtt": [function_id(name), "Arn"]},
                    }
                )
            },
        )
        source_arn_tails = sorted(
            permission["Properties"]["SourceArn"]["Fn::Join"][1][-1]
            for permission in permissions.values()
        )
        # One permission per method of the function; path parameters appear as
        # wildcards in execute-api ARNs.
        assert source_arn_tails == sorted(
            f"/{route.method}{re.sub(r'{[^}]*}', '*', route.path)}"
            for route in ROUTES
            if route.function == name
        ), name


@pytest.mark.parametrize("route", ROUTES, ids=_names(ROUTES))
def test_function_runs_python_313_on_arm64_with_handler_module(
    route, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(route.function)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler"


@pytest.mark.parametrize("route", IMAGE_ROUTES, ids=_names(IMAGE_ROUTES))
def test_image_functions_get_1024_mb_and_28_seconds(
    route, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(route.function)
    assert (properties["MemorySize"], properties["Timeout"]) == (1024, 28)


@pytest.mark.parametrize("route", ROUTES, ids=_names(ROUTES))
def test_every_route_function_times_out_before_the_gateway(
    route, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    # API Gateway gives an integration 29 s: a function that stops first answers with its
    # own outcome, not a gateway 504 while it runs on.
    assert function_properties(route.function)["Timeout"] < 29


def test_an_import_fetch_ends_well_before_its_function(
    function_properties: Callable[[str], dict[str, Any]],
) -> None:
    # 20 s of fetching leaves the pipeline and the writes (3-5 s for 48 MP) their time.
    deadline = config.Settings.from_mapping({config.TABLE_NAME: "t", config.BUCKET_NAME: "b"})
    assert function_properties("import_url")["Timeout"] - deadline.import_deadline_seconds >= 8


@pytest.mark.parametrize("route", OTHER_ROUTES, ids=_names(OTHER_ROUTES))
def test_other_functions_get_256_mb_and_10_seconds(
    route, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    properties = function_properties(route.function)
    assert (properties["MemorySize"], properties["Timeout"]) == (256, 10)


@pytest.mark.parametrize("route", ROUTES, ids=_names(ROUTES))
def test_function_environment_names_table_bucket_cdn_queue_and_signing_key(
    route, stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    table = stack.get_logical_id(stack.storage.table.node.default_child)
    bucket = stack.get_logical_id(stack.storage.bucket.node.default_child)
    distribution = stack.get_logical_id(stack.cdn.distribution.node.default_child)
    public_key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    queue = stack.get_logical_id(stack.invalidation.queue.node.default_child)
    pair = stack.get_logical_id(stack.signing.node.find_child("KeyPair").node.default_child)
    variables = dict(function_properties(route.function)["Environment"]["Variables"])
    # Every key of the group with its fingerprint (here one, made by the stack).
    key_ids = variables.pop(config.SIGNING_KEY_IDS)["Fn::Join"][1]
    assert key_ids[:2] == [{"Ref": public_key}, "="]
    assert key_ids[2]["Fn::If"][2] == {"Fn::GetAtt": [pair, "Fingerprint"]}
    assert variables == {
        config.TABLE_NAME: {"Ref": table},
        config.BUCKET_NAME: {"Ref": bucket},
        config.CDN_BASE_URL: {
            "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]
        },
        config.DISTRIBUTION_ID: {"Ref": distribution},
        config.INVALIDATION_QUEUE_URL: {"Ref": queue},
        config.SIGNING_KEY_ID: {"Ref": public_key},
        config.SIGNING_KEY_PARAMETER: "/imgpro/cloudfront-signing-key",
        config.RATE_LIMIT: "100/1000",
        "POWERTOOLS_SERVICE_NAME": "imgpro",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpro",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_core_layer_is_on_every_function(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    core = {"Ref": stack.get_logical_id(stack.layers.core.node.default_child)}
    for route in ROUTES:
        assert core in function_properties(route.function)["Layers"], route


def test_imaging_layer_only_on_functions_that_decode_images(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    imaging = {"Ref": stack.get_logical_id(stack.layers.imaging.node.default_child)}
    with_imaging = {
        route.function
        for route in ROUTES
        if imaging in function_properties(route.function)["Layers"]
    }
    assert with_imaging == set(_names(IMAGE_ROUTES))


def test_layers_target_python_313_on_arm64(template: Template) -> None:
    layers = template.find_resources("AWS::Lambda::LayerVersion")
    matching = template.find_resources(
        "AWS::Lambda::LayerVersion",
        {
            "Properties": Match.object_like(
                {"CompatibleRuntimes": ["python3.13"], "CompatibleArchitectures": ["arm64"]}
            )
        },
    )
    assert len(layers) == 2
    assert matching.keys() == layers.keys()


def test_api_url_is_a_stack_output(stack: ImgProStack, template: Template) -> None:
    rest_api = stack.get_logical_id(stack.api.rest_api.node.default_child)
    template.has_output(
        "ApiUrl",
        {"Value": {"Fn::Join": ["", Match.array_with(["https://", {"Ref": rest_api}])]}},
    )


def test_stack_outputs_each_url_once_under_a_stable_name(template: Template) -> None:
    assert set(template.find_outputs("*")) == {
        "ApiUrl",
        "CdnBaseUrl",
        "TableName",
        "DistributionId",
        "ExpiryDeadLetterQueueUrl",
        "InvalidationDeadLetterQueueUrl",
        "ProcessUploadDeadLetterQueueUrl",
    }


def _gateway_response(template: Template, response_type: str) -> dict[str, Any]:
    (response,) = template.find_resources(
        GATEWAY_RESPONSE, {"Properties": Match.object_like({"ResponseType": response_type})}
    ).values()
    properties = response["Properties"]
    assert properties["ResponseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/json'"
    }
    return properties


def _body(properties: dict[str, Any]) -> dict[str, str]:
    # Stand in for API Gateway's substitution: messageString is a quoted JSON string.
    template = properties["ResponseTemplates"]["application/json"]
    return json.loads(template.replace("$context.error.messageString", '"gateway message"'))


def test_unknown_path_gateway_response_is_json_404(template: Template) -> None:
    properties = _gateway_response(template, "MISSING_AUTHENTICATION_TOKEN")
    assert properties["StatusCode"] == "404"
    assert _body(properties) == {"error": "Not found", "code": "not_found"}


def test_default_4xx_gateway_response_is_json_bad_request(template: Template) -> None:
    properties = _gateway_response(template, "DEFAULT_4XX")
    # The status stays the one API Gateway chose (400, 403, 415...).
    assert "StatusCode" not in properties
    assert _body(properties) == {"error": "gateway message", "code": "bad_request"}


def test_default_5xx_gateway_response_is_json_internal_error(template: Template) -> None:
    properties = _gateway_response(template, "DEFAULT_5XX")
    assert "StatusCode" not in properties
    assert _body(properties) == {"error": "gateway message", "code": "internal_error"}


def test_no_gateway_response_pretends_to_shape_api_gateways_413(template: Template) -> None:
    # AWS documents customizing REQUEST_TOO_LARGE as unsupported: API Gateway answers its
    # own 413s in its own words (README), and a configured one would only mislead.
    assert (
        template.find_resources(
            GATEWAY_RESPONSE,
            {"Properties": Match.object_like({"ResponseType": "REQUEST_TOO_LARGE"})},
        )
        == {}
    )


def test_throttled_gateway_response_is_json_429(template: Template) -> None:
    properties = _gateway_response(template, "THROTTLED")
    assert properties["StatusCode"] == "429"
    assert _body(properties)["code"] == "rate_limited"
