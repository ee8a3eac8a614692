from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config, keypair
from imgpro.signing import fingerprint
from infra.options import OptionError
from infra.paths import PROJECT_ROOT
from infra.signing import (
    DEFAULT_KEY_PARAMETER,
    EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY,
    KEY_PARAMETER_CONTEXT_KEY,
    LEGACY_PUBLIC_KEY_CONTEXT_KEY,
    PUBLIC_KEY_FILE_CONTEXT_KEY,
    PUBLIC_KEY_PARAMETER,
    SigningKeyError,
)
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Synthesize = Callable[[dict[str, Any]], ImgProStack]


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_fresh_clone_synthesizes_with_cdk_json_alone() -> None:
    # No context but cdk.json's, and no bundling: what `cdk synth` in a new clone gets.
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(context={**context, "aws:cdk:bundling-stacks": []})
    template = Template.from_stack(ImgProStack(app, "ImgPro"))
    template.resource_count_is("Custom::ImgProSigningKeyPair", 1)


def test_the_stack_makes_its_own_key_pair(template: Template, stack: ImgProStack) -> None:
    template.has_resource_properties(
        "Custom::ImgProSigningKeyPair", {keypair.PARAMETER_PROPERTY: DEFAULT_KEY_PARAMETER}
    )
    pair = stack.get_logical_id(stack.signing.node.find_child("KeyPair").node.default_child)
    template.resource_count_is("AWS::CloudFront::PublicKey", 1)
    encoded = template.find_resources("AWS::CloudFront::PublicKey")
    (key,) = encoded.values()
    assert {"Fn::GetAtt": [pair, keypair.PUBLIC_KEY_ATTRIBUTE]} in key["Properties"][
        "PublicKeyConfig"
    ]["EncodedKey"]["Fn::If"]


def test_the_key_generator_may_touch_only_its_two_parameters(
    template: Template, stack: ImgProStack, without_tracing: Callable[[list], list]
) -> None:
    role = stack.get_logical_id(stack.signing.generator.role.node.default_child)
    # Besides writing its traces, as every function does.
    statements = without_tracing(
        [
            statement
            for policy in template.find_resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
    )
    (statement,) = statements
    assert statement["Action"] == ["ssm:GetParameter", "ssm:PutParameter"]
    text = json.dumps(statement["Resource"])
    assert f"parameter{DEFAULT_KEY_PARAMETER}" in text
    assert f"parameter{DEFAULT_KEY_PARAMETER}.pub" in text


def test_key_group_holds_the_key(template: Template, stack: ImgProStack) -> None:
    public_key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    template.resource_count_is("AWS::CloudFront::KeyGroup", 1)
    template.has_resource_properties(
        "AWS::CloudFront::KeyGroup",
        {"KeyGroupConfig": Match.object_like({"Items": [{"Ref": public_key}]})},
    )


def test_a_public_key_can_come_in_as_a_stack_parameter(template: Template) -> None:
    assert template.to_json()["Parameters"][PUBLIC_KEY_PARAMETER]["Default"] == ""


def test_stack_never_holds_a_private_key(template: Template) -> None:
    assert "PRIVATE KEY" not in str(template.to_json())
    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::SecretsManager::Secret", 0)


def test_the_old_multi_line_context_option_says_what_replaced_it(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError, match=PUBLIC_KEY_FILE_CONTEXT_KEY):
        synthesize({**cdk_json_context, LEGACY_PUBLIC_KEY_CONTEXT_KEY: _pem()})


def test_own_public_key_from_a_file_replaces_the_generated_one(
    synthesize: Synthesize, cdk_json_context: dict[str, Any], tmp_path: Path
) -> None:
    pem = _pem()
    (tmp_path / "public.pem").write_text(pem)
    stack = synthesize(
        {**cdk_json_context, PUBLIC_KEY_FILE_CONTEXT_KEY: str(tmp_path / "public.pem")}
    )
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::ImgProSigningKeyPair", 0)
    template.has_resource_properties(
        "AWS::CloudFront::PublicKey",
        {"PublicKeyConfig": Match.object_like({"EncodedKey": pem})},
    )
    key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    function = stack.get_logical_id(stack.functions["get_media"].node.default_child)
    variables = template.find_resources("AWS::Lambda::Function")[function]["Properties"][
        "Environment"
    ]["Variables"]
    assert variables[config.SIGNING_KEY_IDS] == {
        "Fn::Join": ["", [{"Ref": key}, f"={fingerprint(pem)}"]]
    }


def test_extra_keys_join_the_group_for_rotation(
    synthesize: Synthesize, cdk_json_context: dict[str, Any], tmp_path: Path
) -> None:
    paths = []
    for index in range(2):
        path = tmp_path / f"next{index}.pem"
        path.write_text(_pem())
        paths.append(str(path))
    stack = synthesize({**cdk_json_context, EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY: paths})
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudFront::PublicKey", 3)
    (group,) = template.find_resources("AWS::CloudFront::KeyGroup").values()
    assert len(group["Properties"]["KeyGroupConfig"]["Items"]) == 3


def test_a_key_group_holds_at_most_five_keys(
    synthesize: Synthesize, cdk_json_context: dict[str, Any], tmp_path: Path
) -> None:
    paths = []
    for index in range(5):
        path = tmp_path / f"k{index}.pem"
        path.write_text(_pem())
        paths.append(str(path))
    with pytest.raises(OptionError, match="at most 5 keys"):
        synthesize({**cdk_json_context, EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY: paths})


def test_synth_refuses_a_private_key_file(
    synthesize: Synthesize, cdk_json_context: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "private.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError, match="holds a PRIVATE key"):
        synthesize({**cdk_json_context, PUBLIC_KEY_FILE_CONTEXT_KEY: str(path)})


def test_synth_refuses_what_is_not_a_pem_public_key(
    synthesize: Synthesize, cdk_json_context: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "id_rsa.pub"
    path.write_text("ssh-rsa AAAA... me@host")
    with pytest.raises(SigningKeyError, match="is not a PEM public key"):
        synthesize({**cdk_json_context, PUBLIC_KEY_FILE_CONTEXT_KEY: str(path)})


def test_synth_refuses_a_malformed_parameter_name(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError, match="is not an SSM parameter name"):
        synthesize({**app_context, KEY_PARAMETER_CONTEXT_KEY: "/imgpro/key with spaces"})


def test_functions_are_told_the_key_ids_and_the_default_parameter(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    public_key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    variables = function_properties("get_media")["Environment"]["Variables"]
    assert variables[config.SIGNING_KEY_ID] == {"Ref": public_key}
    assert variables[config.SIGNING_KEY_PARAMETER] == DEFAULT_KEY_PARAMETER
    assert {"Ref": public_key} in json.loads(json.dumps(variables[config.SIGNING_KEY_IDS]))[
        "Fn::Join"
    ][1]


def test_parameter_name_comes_from_context(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    stack = synthesize({**app_context, KEY_PARAMETER_CONTEXT_KEY: "/team/cdn-key"})
    template = Template.from_stack(stack)
    function = stack.get_logical_id(stack.functions["get_media"].node.default_child)
    variables = template.find_resources("AWS::Lambda::Function")[function]["Properties"][
        "Environment"
    ]["Variables"]
    assert variables[config.SIGNING_KEY_PARAMETER] == "/team/cdn-key"
    assert ":parameter/team/cdn-key" in str(template.find_resources("AWS::IAM::Policy"))
    template.has_resource_properties(
        "Custom::ImgProSigningKeyPair", {keypair.PARAMETER_PROPERTY: "/team/cdn-key"}
    )
