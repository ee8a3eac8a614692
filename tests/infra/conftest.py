"""One offline synthesis of the stack per session, shared by every infra test."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lets `infra` and `imgpro` import whether or not the project is pip-installed.
for _path in (ROOT / "layers" / "core" / "python", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from infra.stack import DEV_CONTEXT_KEY, ImgProStack  # noqa: E402


def _synthesize(context: dict[str, Any]) -> ImgProStack:
    return ImgProStack(cdk.App(context=context), "ImgPro")


@pytest.fixture(scope="session")
def signing_public_key() -> str:
    """A fresh public key (PEM) as `openssl rsa -pubout` writes it; its private half is
    thrown away, as the stack never needs it."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags included), minus asset bundling: no pip in tests."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def app_context(cdk_json_context: dict[str, Any]) -> dict[str, Any]:
    """What `cdk synth` / `cdk deploy` with no option passes: cdk.json's context only (the
    stack makes its own signing key)."""
    return cdk_json_context


@pytest.fixture(scope="session")
def deploy_context(cdk_json_context: dict[str, Any]) -> dict[str, Any]:
    """What `cdk deploy` with no option passes: cdk.json's context, nothing else."""
    return cdk_json_context


@pytest.fixture(scope="session")
def synthesize() -> Callable[[dict[str, Any]], ImgProStack]:
    """Builds the stack from a context of the test's own (for context handling tests)."""
    return _synthesize


@pytest.fixture(scope="session")
def stack(app_context: dict[str, Any]) -> ImgProStack:
    return _synthesize(app_context)


@pytest.fixture(scope="session")
def template(stack: ImgProStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def dev_template(app_context: dict[str, Any]) -> Template:
    return Template.from_stack(_synthesize({**app_context, DEV_CONTEXT_KEY: "true"}))


@pytest.fixture(scope="session")
def function_id(stack: ImgProStack) -> Callable[[str], str]:
    """Logical ID of the function in folder `name` (a route's or a worker's), looked up
    rather than hard-coded."""

    def lookup(name: str) -> str:
        return stack.get_logical_id(stack.functions[name].node.default_child)

    return lookup


@pytest.fixture(scope="session")
def function_properties(template: Template, function_id: Callable[[str], str]):
    functions = template.find_resources("AWS::Lambda::Function")

    def lookup(name: str) -> dict[str, Any]:
        return functions[function_id(name)]["Properties"]

    return lookup


TRACING_ACTIONS = frozenset({"xray:PutTelemetryRecords", "xray:PutTraceSegments"})
"""What X-Ray active tracing adds to every function's role (CDK's Tracing.ACTIVE), on
Resource `*`; CDK may merge it with other actions on `*` into one statement."""


@pytest.fixture(scope="session")
def tracing_actions() -> frozenset[str]:
    return TRACING_ACTIONS


@pytest.fixture(scope="session")
def without_tracing() -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """A role's statements less X-Ray's actions, for tests that list a role's rights
    (test_infra_observability checks the X-Ray ones)."""

    def strip(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stripped = []
        for statement in statements:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if statement["Resource"] == "*":
                actions = [a for a in actions if a not in TRACING_ACTIONS]
            if actions:
                action = actions[0] if len(actions) == 1 else actions
                stripped.append({**statement, "Action": action})
        return stripped

    return strip


@pytest.fixture(scope="session")
def role_statements(stack: ImgProStack, template: Template) -> Callable[[str], list[dict]]:
    """Every IAM statement attached to the execution role of the function `name`."""

    def lookup(name: str) -> list[dict[str, Any]]:
        role = stack.get_logical_id(stack.functions[name].role.node.default_child)
        policies = template.find_resources("AWS::IAM::Policy")
        return [
            statement
            for policy in policies.values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    return lookup


@pytest.fixture(scope="session")
def resource_paths(template: Template) -> dict[str, str]:
    """Full path of every API Gateway resource, by logical ID; the root is ""."""
    resources = template.find_resources("AWS::ApiGateway::Resource")

    def path_of(logical_id: str) -> str:
        properties = resources[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""  # else: the root resource
        return f"{prefix}/{properties['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


@pytest.fixture(scope="session")
def api_methods(template: Template, resource_paths: dict[str, str]) -> list[tuple[str, str, str]]:
    """(HTTP method, resource path, logical ID of the integrated function) per API method."""

    def path_of(resource_id: dict[str, Any]) -> str:
        return resource_paths[resource_id["Ref"]] if "Ref" in resource_id else "/"

    def function_of(uri: dict[str, Any]) -> str:
        (arn,) = [part for part in uri["Fn::Join"][1] if "Fn::GetAtt" in part]
        return arn["Fn::GetAtt"][0]

    return [
        (
            properties["HttpMethod"],
            path_of(properties["ResourceId"]),
            function_of(properties["Integration"]["Uri"]),
        )
        for properties in (
            method["Properties"]
            for method in template.find_resources("AWS::ApiGateway::Method").values()
        )
    ]
