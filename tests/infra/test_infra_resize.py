from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from imgpro import config
from infra.resize import RESERVED_CONCURRENCY_CONTEXT_KEY, RESIZE_FUNCTION
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Properties = Callable[[str], dict[str, Any]]


def test_resize_runs_python_313_on_arm64_with_handler_module(
    function_properties: Properties,
) -> None:
    properties = function_properties(RESIZE_FUNCTION)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler"


def test_resize_gets_1536_mb_and_30_seconds(function_properties: Properties) -> None:
    properties = function_properties(RESIZE_FUNCTION)
    assert (properties["MemorySize"], properties["Timeout"]) == (1536, 30)


def test_resize_gets_the_core_and_imaging_layers(
    stack: ImgProStack, function_properties: Properties
) -> None:
    core = {"Ref": stack.get_logical_id(stack.layers.core.node.default_child)}
    imaging = {"Ref": stack.get_logical_id(stack.layers.imaging.node.default_child)}
    assert function_properties(RESIZE_FUNCTION)["Layers"] == [core, imaging]


def test_resize_environment_is_the_routes_environment_without_the_distribution(
    function_properties: Properties,
) -> None:
    # The distribution is created from the resize function's URL, so naming the
    # distribution in the function would be a dependency cycle CloudFormation refuses.
    # Rate limits are for routes: the resize function authenticates no token; and it
    # invalidates nothing.
    routes = dict(function_properties("get_media")["Environment"]["Variables"])
    del routes[config.CDN_BASE_URL], routes[config.DISTRIBUTION_ID], routes[config.RATE_LIMIT]
    del routes[config.INVALIDATION_QUEUE_URL]
    assert function_properties(RESIZE_FUNCTION)["Environment"]["Variables"] == routes


def test_resize_reserves_no_concurrency_by_default(function_properties: Properties) -> None:
    # Reserving takes from the account's unreserved pool: only an operator's choice.
    assert "ReservedConcurrentExecutions" not in function_properties(RESIZE_FUNCTION)


def test_resize_reserved_concurrency_comes_from_the_context(
    synthesize: Callable[[dict[str, Any]], ImgProStack], app_context: dict[str, Any]
) -> None:
    stack = synthesize({**app_context, RESERVED_CONCURRENCY_CONTEXT_KEY: "25"})
    resize = stack.get_logical_id(stack.resizer.function.node.default_child)
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    reserved = {
        logical_id: function["Properties"]["ReservedConcurrentExecutions"]
        for logical_id, function in functions.items()
        if "ReservedConcurrentExecutions" in function["Properties"]
    }
    assert reserved == {resize: 25}  # and no other function's


@pytest.mark.parametrize("value", ["0", "-3", "many", 1.5])
def test_a_malformed_reserved_concurrency_stops_synth(
    value: Any,
    synthesize: Callable[[dict[str, Any]], ImgProStack],
    app_context: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match=RESERVED_CONCURRENCY_CONTEXT_KEY):
        synthesize({**app_context, RESERVED_CONCURRENCY_CONTEXT_KEY: value})


def test_resize_function_url_requires_iam_signatures(
    template: Template, function_id: Callable[[str], str]
) -> None:
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "AWS_IAM",
            "TargetFunctionArn": {"Fn::GetAtt": [function_id(RESIZE_FUNCTION), "Arn"]},
        },
    )


def test_resize_has_no_other_trigger(template: Template, function_id: Callable[[str], str]) -> None:
    # Its only invokers are the two permissions of the distribution's origin access control,
    # which name the function through its URL (see test_infra_cdn).
    by_arn = template.find_resources(
        "AWS::Lambda::Permission",
        {"Properties": {"FunctionName": {"Fn::GetAtt": [function_id(RESIZE_FUNCTION), "Arn"]}}},
    )
    assert by_arn == {}
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    assert not any(
        m["Properties"]["FunctionName"] == {"Ref": function_id(RESIZE_FUNCTION)}
        for m in mappings.values()
    )
