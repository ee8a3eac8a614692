"""The CloudFront key group that checks the signed URLs of private media.

By default the stack makes its own key pair on first deploy: a create-only custom resource
(imgpro.keypair, functions/signing_key) stores the private key in an SSM SecureString and
answers only the public key, which becomes the CloudFront public key. No template, no
CloudFormation response and no `-c` value ever holds the private key.

Bring your own key: store its private half in the SSM parameter yourself and pass the
public half as a file (`imgpro:signingPublicKeyFile`), or as the stack parameter
`SigningPublicKey` (`cdk deploy --parameters SigningPublicKey="$(cat public.pem)"`).
Rotation: `imgpro:extraSigningPublicKeyFiles` adds up to four more public keys to the key
group; signers use the id of whichever key's private half is in SSM (imgpro.signing).
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from imgpro import keypair
from imgpro.signing import fingerprint
from infra.functions import handler_function
from infra.options import OptionError, read_file, string_list, text
from infra.paths import FUNCTIONS_DIR

PUBLIC_KEY_FILE_CONTEXT_KEY = "imgpro:signingPublicKeyFile"
EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY = "imgpro:extraSigningPublicKeyFiles"
KEY_PARAMETER_CONTEXT_KEY = "imgpro:signingKeyParameter"
DEFAULT_KEY_PARAMETER = "/imgpro/cloudfront-signing-key"
PUBLIC_KEY_PARAMETER = "SigningPublicKey"
"""CloudFormation parameter: a public key (PEM) to use instead of the generated one."""
LEGACY_PUBLIC_KEY_CONTEXT_KEY = "imgpro:signingPublicKey"
MAX_KEYS = 5
"""CloudFront's limit of public keys in one key group."""
KEYGEN_FUNCTION = "signing_key"

_PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
_PEM_END = "-----END PUBLIC KEY-----"
# SSM's own rule: letters, digits, _ . - and /, fully qualified (leading /) when nested.
_PARAMETER_NAME = re.compile(r"(/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+")


class SigningKeyError(ValueError):
    """The signing key options are unusable; synth stops and says what to do."""


def key_parameter_name(scope: Construct) -> str:
    """Name of the SSM SecureString holding the private key (context, or the default)."""
    name = str(scope.node.try_get_context(KEY_PARAMETER_CONTEXT_KEY) or DEFAULT_KEY_PARAMETER)
    if not _PARAMETER_NAME.fullmatch(name):
        raise SigningKeyError(
            f"CDK context {KEY_PARAMETER_CONTEXT_KEY}={name!r} is not an SSM parameter name"
            f" (letters, digits, _ . - and /, with a leading / when it has several parts)"
        )
    return name


def check_public_key(pem: str, origin: str) -> str:
    """`pem` normalized, or a SigningKeyError saying why it is no public key."""
    pem = pem.replace("\r\n", "\n").strip()
    if "PRIVATE KEY" in pem:
        # Whatever this key becomes is written into the template, readable by anyone who
        # can read the stack.
        raise SigningKeyError(
            f"{origin} holds a PRIVATE key. Pass the public key (public.pem); the private"
            " key belongs in the SSM parameter only. Make a new pair if it was ever shared."
        )
    if not (pem.startswith(_PEM_BEGIN) and pem.endswith(_PEM_END)):
        raise SigningKeyError(
            f"{origin} is not a PEM public key (expected {_PEM_BEGIN} ... {_PEM_END}, as"
            " `openssl rsa -pubout` writes it)"
        )
    try:
        fingerprint(pem)
    except Exception:
        raise SigningKeyError(f"{origin} is not a readable RSA public key") from None
    return pem + "\n"


def public_key_files(scope: Construct) -> tuple[str | None, list[str]]:
    """The operator's own main public key (PEM) if any, and the extra ones, from files."""
    if scope.node.try_get_context(LEGACY_PUBLIC_KEY_CONTEXT_KEY):
        raise SigningKeyError(
            f"CDK context {LEGACY_PUBLIC_KEY_CONTEXT_KEY} is gone: the CDK CLI passes only"
            f" the first line of a multi-line -c value. The stack now makes its own key;"
            f" to bring yours, pass its file: -c {PUBLIC_KEY_FILE_CONTEXT_KEY}=public.pem"
        )
    main_path = text(scope, PUBLIC_KEY_FILE_CONTEXT_KEY)
    main = (
        check_public_key(read_file(PUBLIC_KEY_FILE_CONTEXT_KEY, main_path), main_path)
        if main_path
        else None
    )
    extras = [
        check_public_key(read_file(EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY, path), path)
        for path in string_list(scope, EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY)
    ]
    if 1 + len(extras) > MAX_KEYS:
        raise OptionError(
            f"CDK context {EXTRA_PUBLIC_KEY_FILES_CONTEXT_KEY}: a CloudFront key group holds"
            f" at most {MAX_KEYS} keys, so at most {MAX_KEYS - 1} extra ones"
        )
    return main, extras


class SigningKeys(Construct):
    """The public keys and the key group that the `/private/*` behavior trusts."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_name: str,
        core_layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.parameter_name = parameter_name
        own, extras = public_key_files(self)
        # (public key, its fingerprint) for every key of the group; the first is the main.
        entries: list[tuple[cloudfront.PublicKey, str]] = []
        self.generator: lambda_.Function | None = None
        if own is not None:
            entries.append((self._public_key(own), fingerprint(own)))
        else:
            parameter = cdk.CfnParameter(
                cdk.Stack.of(self),
                PUBLIC_KEY_PARAMETER,
                type="String",
                default="",
                description=(
                    "Optional: a CloudFront public key (PEM) whose private key you stored in"
                    f" SSM {parameter_name}. Empty: the stack makes and keeps its own pair."
                ),
            )
            generated = self._generated_key(core_layer)
            use_own = cdk.CfnCondition(
                self,
                "UseOwnPublicKey",
                expression=cdk.Fn.condition_not(
                    cdk.Fn.condition_equals(parameter.value_as_string, "")
                ),
            )
            encoded = cdk.Fn.condition_if(
                use_own.logical_id,
                parameter.value_as_string,
                generated.get_att_string(keypair.PUBLIC_KEY_ATTRIBUTE),
            ).to_string()
            key = cloudfront.PublicKey(
                self,
                "PublicKey",
                encoded_key=encoded,
                comment="imgpro: checks signed URLs of private media",
            )
            # With a key from the parameter, signers match keys by id alone (no fingerprint
            # is known at synth): IMGPRO_SIGNING_KEY_ID names it.
            print_ = cdk.Fn.condition_if(
                use_own.logical_id, "", generated.get_att_string(keypair.FINGERPRINT_ATTRIBUTE)
            ).to_string()
            entries.append((key, print_))
        for pem in extras:
            entries.append((self._public_key(pem), fingerprint(pem)))
        self.public_key = entries[0][0]
        self.public_keys = [key for key, _ in entries]
        self.key_ids = ",".join(f"{key.public_key_id}={print_}" for key, print_ in entries)
        self.key_group = cloudfront.KeyGroup(
            self,
            "KeyGroup",
            items=self.public_keys,
            comment="imgpro: keys trusted for /private/* URLs",
        )

    def environment(self) -> dict[str, str]:
        """What signers need: the main key's id, and every key's id and fingerprint."""
        from imgpro import config

        env = {
            config.SIGNING_KEY_ID: self.public_key.public_key_id,
            config.SIGNING_KEY_PARAMETER: self.parameter_name,
        }
        env[config.SIGNING_KEY_IDS] = self.key_ids
        return env

    def _public_key(self, pem: str) -> cloudfront.PublicKey:
        # CloudFront cannot change a public key's encoded key in place. Naming the construct
        # after the key makes a new key a new resource.
        return cloudfront.PublicKey(
            self,
            f"PublicKey{fingerprint(pem)[:12]}",
            encoded_key=pem,
            comment="imgpro: checks signed URLs of private media",
        )

    def _generated_key(self, core_layer: lambda_.ILayerVersion) -> cdk.CustomResource:
        function = handler_function(
            self,
            "Generator",
            folder=FUNCTIONS_DIR / KEYGEN_FUNCTION,
            description="imgpro: makes the CloudFront signing key pair once",
            memory_size=256,
            timeout=cdk.Duration.seconds(30),
            layers=[core_layer],
            environment={},
        )
        self.generator = function
        stack = cdk.Stack.of(self)
        parameters = [
            stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))
            for name in (self.parameter_name, keypair.public_parameter(self.parameter_name))
        ]
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["ssm:GetParameter", "ssm:PutParameter"],
            resource_arns=parameters,
        )
        return cdk.CustomResource(
            self,
            "KeyPair",
            service_token=function.function_arn,
            resource_type="Custom::ImgProSigningKeyPair",
            # Delete is a no-op in the handler: the key stays in SSM (README, teardown).
            properties={keypair.PARAMETER_PROPERTY: self.parameter_name},
        )
