"""The API functions get their per-token limits from the `imgpro:rateLimit` context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from imgpro import config
from imgpro.routes import ROUTES
from infra.api import RATE_LIMIT_CONTEXT_KEY

pytestmark = pytest.mark.infra


def _rate_limits(stack) -> dict[str, str]:
    """IMGPRO_RATE_LIMIT of every API function, by folder name."""
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    limits = {}
    for name, function in stack.api.functions.items():
        properties = functions[stack.get_logical_id(function.node.default_child)]["Properties"]
        limits[name] = properties["Environment"]["Variables"][config.RATE_LIMIT]
    return limits


def test_every_api_function_gets_100_a_minute_and_1000_an_hour_by_default(
    function_properties: Callable[[str], dict[str, Any]],
) -> None:
    for route in ROUTES:
        variables = function_properties(route.function)["Environment"]["Variables"]
        assert variables[config.RATE_LIMIT] == "100/1000", route


@pytest.mark.parametrize("value", ["5/50", "off"])
def test_the_context_value_reaches_every_api_function(
    synthesize, app_context: dict[str, Any], value: str
) -> None:
    stack = synthesize({**app_context, RATE_LIMIT_CONTEXT_KEY: value})
    limits = _rate_limits(stack)
    assert set(limits) == {route.function for route in ROUTES}
    assert set(limits.values()) == {value}


def test_a_malformed_rate_limit_stops_synth_naming_the_context_key(
    synthesize, app_context: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=RATE_LIMIT_CONTEXT_KEY):
        synthesize({**app_context, RATE_LIMIT_CONTEXT_KEY: "100 per minute"})
