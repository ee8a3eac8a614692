"""Logs, metrics and traces of every function: the Powertools environment and X-Ray."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.observability import (
    LOG_LEVEL_CONTEXT_KEY,
    TRACING_CONTEXT_KEY,
    powertools_environment,
)
from infra.options import OptionError
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Synthesize = Callable[[dict[str, Any]], ImgProStack]
POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "imgpro",
    "POWERTOOLS_METRICS_NAMESPACE": "imgpro",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def _own_functions(template: Template) -> dict[str, dict[str, Any]]:
    """Every function of the stack's own, by logical ID: all but aws-cdk-lib's bucket
    notifications handler, which CDK writes and configures itself."""
    return {
        logical_id: function["Properties"]
        for logical_id, function in template.find_resources("AWS::Lambda::Function").items()
        if not logical_id.startswith("BucketNotificationsHandler")
    }


def _role_statements(template: Template, role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role["Fn::GetAtt"][0]} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_every_function_of_the_stack_is_counted(template: Template, stack: ImgProStack) -> None:
    # Routes, workers, resize, and the signing key's custom resource.
    assert len(_own_functions(template)) == len(stack.functions) + 1


def test_every_function_traces_actively(template: Template) -> None:
    for logical_id, function in _own_functions(template).items():
        assert function.get("TracingConfig") == {"Mode": "Active"}, logical_id


def _actions_on_any_resource(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        if statement["Resource"] == "*":
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


def test_every_function_role_may_write_traces(
    template: Template, tracing_actions: frozenset[str]
) -> None:
    for logical_id, function in _own_functions(template).items():
        statements = _role_statements(template, function["Role"])
        assert tracing_actions <= _actions_on_any_resource(statements), logical_id


def test_the_only_actions_on_any_resource_are_tracing_and_stream_listing(
    template: Template, tracing_actions: frozenset[str]
) -> None:
    # The IAM5 `Resource::*` acknowledgement on every function covers X-Ray only (and the
    # expiry worker's dynamodb:ListStreams): nothing else may slip in under it.
    for logical_id, function in _own_functions(template).items():
        actions = _actions_on_any_resource(_role_statements(template, function["Role"]))
        assert actions - tracing_actions <= {"dynamodb:ListStreams"}, logical_id


def test_the_api_stage_traces_requests(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})


def test_every_function_gets_the_powertools_service_namespace_and_log_level(
    template: Template,
) -> None:
    for logical_id, function in _own_functions(template).items():
        variables = function["Environment"]["Variables"]
        assert {key: variables.get(key) for key in POWERTOOLS} == POWERTOOLS, logical_id


def test_tracing_is_not_disabled_for_powertools_by_default(template: Template) -> None:
    for function in _own_functions(template).values():
        assert "POWERTOOLS_TRACE_DISABLED" not in function["Environment"]["Variables"]


def test_tracing_can_be_turned_off_for_functions_stage_and_powertools(
    synthesize: Synthesize, app_context: dict[str, Any], tracing_actions: frozenset[str]
) -> None:
    template = Template.from_stack(synthesize({**app_context, TRACING_CONTEXT_KEY: "false"}))
    template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": False})
    for logical_id, function in _own_functions(template).items():
        assert "TracingConfig" not in function, logical_id
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
        statements = _role_statements(template, function["Role"])
        assert not tracing_actions & _actions_on_any_resource(statements), logical_id


def test_log_level_comes_from_the_context(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    template = Template.from_stack(synthesize({**app_context, LOG_LEVEL_CONTEXT_KEY: "debug"}))
    for function in _own_functions(template).values():
        assert function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "DEBUG"


def test_a_log_level_logging_does_not_know_stops_synth(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    with pytest.raises(OptionError, match=LOG_LEVEL_CONTEXT_KEY):
        synthesize({**app_context, LOG_LEVEL_CONTEXT_KEY: "loud"})


def test_powertools_settings_are_named_in_one_place(stack: ImgProStack) -> None:
    assert powertools_environment(stack) == POWERTOOLS


def test_the_dashboard_reads_the_metric_names_the_code_emits() -> None:
    from imgpro import observability as code
    from infra import observability as stack_side

    for name in (
        "UPLOADS",
        "IMPORTS",
        "BYTES_STORED",
        "VARIANTS_MADE",
        "VARIANT_RENDER_TIME",
        "ERRORS",
        "RATE_LIMITED",
        "QUOTA_REFUSED",
        "INVALIDATIONS_RETRIED",
    ):
        assert getattr(stack_side, name) == getattr(code, name), name
    assert stack_side.SERVICE_NAME == stack_side.METRICS_NAMESPACE == code.SERVICE
