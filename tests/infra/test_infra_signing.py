from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config
from infra.signing import (
    DEFAULT_KEY_PARAMETER,
    KEY_PARAMETER_CONTEXT_KEY,
    PUBLIC_KEY_CONTEXT_KEY,
    SigningKeyError,
)
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Synthesize = Callable[[dict[str, Any]], ImgProStack]


def test_public_key_is_the_one_passed_in_context(
    template: Template, signing_public_key: str
) -> None:
    template.resource_count_is("AWS::CloudFront::PublicKey", 1)
    template.has_resource_properties(
        "AWS::CloudFront::PublicKey",
        {"PublicKeyConfig": Match.object_like({"EncodedKey": signing_public_key})},
    )


def test_key_group_holds_exactly_that_key(template: Template, stack: ImgProStack) -> None:
    public_key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    template.resource_count_is("AWS::CloudFront::KeyGroup", 1)
    template.has_resource_properties(
        "AWS::CloudFront::KeyGroup",
        {"KeyGroupConfig": Match.object_like({"Items": [{"Ref": public_key}]})},
    )


def test_stack_never_holds_a_private_key(template: Template) -> None:
    assert "PRIVATE KEY" not in str(template.to_json())
    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::SecretsManager::Secret", 0)


def test_synth_without_the_public_key_says_how_to_make_one(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError) as raised:
        synthesize(cdk_json_context)
    message = str(raised.value)
    assert f"CDK context {PUBLIC_KEY_CONTEXT_KEY} is not set" in message
    assert "openssl genrsa -out private.pem 2048" in message
    assert "openssl rsa -pubout -in private.pem -out public.pem" in message
    assert (
        f"aws ssm put-parameter --name {DEFAULT_KEY_PARAMETER} --type SecureString"
        " --value file://private.pem" in message
    )
    assert f'-c {PUBLIC_KEY_CONTEXT_KEY}="$(cat public.pem)"' in message


def test_synth_with_a_blank_public_key_fails_the_same_way(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError, match="is not set"):
        synthesize({**cdk_json_context, PUBLIC_KEY_CONTEXT_KEY: "  \n"})


def test_missing_key_message_names_the_chosen_parameter(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    context = {**cdk_json_context, KEY_PARAMETER_CONTEXT_KEY: "/team/cdn-key"}
    with pytest.raises(SigningKeyError, match="put-parameter --name /team/cdn-key "):
        synthesize(context)


def test_synth_refuses_a_private_key_in_context(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    private_pem = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"
    with pytest.raises(SigningKeyError, match="holds a PRIVATE key"):
        synthesize({**cdk_json_context, PUBLIC_KEY_CONTEXT_KEY: private_pem})


def test_synth_refuses_what_is_not_a_pem_public_key(
    synthesize: Synthesize, cdk_json_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError, match="is not a PEM public key"):
        synthesize({**cdk_json_context, PUBLIC_KEY_CONTEXT_KEY: "ssh-rsa AAAA... me@host"})


def test_synth_refuses_a_malformed_parameter_name(
    synthesize: Synthesize, app_context: dict[str, Any]
) -> None:
    with pytest.raises(SigningKeyError, match="is not an SSM parameter name"):
        synthesize({**app_context, KEY_PARAMETER_CONTEXT_KEY: "/imgpro/key with spaces"})


def test_public_key_from_the_shell_without_its_final_newline_is_the_same_key(
    synthesize: Synthesize, app_context: dict[str, Any], stack: ImgProStack
) -> None:
    # "$(cat public.pem)" drops the final newline: that must not make a new key resource.
    trimmed = {**app_context, PUBLIC_KEY_CONTEXT_KEY: app_context[PUBLIC_KEY_CONTEXT_KEY].strip()}
    again = synthesize(trimmed)
    assert again.signing.public_key.node.id == stack.signing.public_key.node.id


def test_functions_are_told_the_key_id_and_the_default_parameter(
    stack: ImgProStack, function_properties: Callable[[str], dict[str, Any]]
) -> None:
    public_key = stack.get_logical_id(stack.signing.public_key.node.default_child)
    variables = function_properties("get_media")["Environment"]["Variables"]
    assert variables[config.SIGNING_KEY_ID] == {"Ref": public_key}
    assert variables[config.SIGNING_KEY_PARAMETER] == DEFAULT_KEY_PARAMETER


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
