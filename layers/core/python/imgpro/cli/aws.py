"""Where the operator commands (`imgpro team ...`, `imgpro token ...`) read and write, and
what to say when that goes wrong.

- The table: `--table NAME`, or `--stack NAME` (the `TableName` output of that deployed
  CloudFormation stack), or `$IMGPRO_TABLE_NAME`.
- A loopback `--endpoint-url` (or `$AWS_ENDPOINT_URL`) is the local stack's moto: these
  clients get dummy credentials and the local stack's region, and nothing else needs any
  AWS configuration. The process environment is left as it is, for every other use.
- Anything else is AWS: boto3's usual chain for the credentials (environment, profile,
  SSO, role) and the region (`--region`, or the configured one, as the AWS CLI finds it).

Every mistake an operator can make here ends as one line on stderr and a non-zero exit
status, never a traceback: `OperatorError`s raised on purpose, and what boto3 and
DynamoDB raise, put into words by `explain`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from imgpro import config
from imgpro.cli import flags
from imgpro.local.stack import CREDENTIAL as LOCAL_CREDENTIAL
from imgpro.local.stack import REGION as LOCAL_REGION
from imgpro.local.stack import TABLE as LOCAL_TABLE

if TYPE_CHECKING:
    from boto3.session import Session

ENDPOINT_ENV = "AWS_ENDPOINT_URL"
TABLE_OUTPUT = "TableName"
"""The deployed stack's output naming its table (infra/stack.py)."""
DEFAULT_STACK = "ImgPro"
"""The stack `cdk deploy` makes (app.py)."""
_CONNECT_TIMEOUT_S = 3

NO_CREDENTIALS = (
    "no AWS credentials found: configure them (aws configure, aws sso login, AWS_PROFILE, "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or for the local stack pass "
    "--endpoint-url with the 'aws endpoint (moto)' that `imgpro local` prints"
)
NO_REGION = (
    "no AWS region: pass --region (the region the stack is deployed in), or set AWS_REGION "
    "or AWS_DEFAULT_REGION, or a region in your AWS profile"
)
_REFUSED_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
    }
)
_NOT_DYNAMODB_STATUSES = frozenset({301, 302, 307, 308, 404, 405})


class OperatorError(Exception):
    """A mistake, or an answer from AWS, in one line; `status` is the exit status."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """The table a command works on, and how it is reached."""

    table: str
    region: str
    endpoint_url: str | None = None
    local: bool = False
    """Reached at a loopback endpoint: the local stack's moto, with dummy credentials."""

    @property
    def where(self) -> str:
        return f"at {self.endpoint_url}" if self.endpoint_url else f"in {self.region}"


def common_flags() -> argparse.ArgumentParser:
    """The flags every operator command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    table = common.add_mutually_exclusive_group()
    table.add_argument(
        "--table",
        metavar="NAME",
        help=f"the stack's table (default: ${config.TABLE_NAME}); "
        f"the local stack's is {LOCAL_TABLE}",
    )
    table.add_argument(
        "--stack",
        metavar="NAME",
        help=f"read the table's name from this deployed CloudFormation stack's {TABLE_OUTPUT} "
        f"output ({DEFAULT_STACK}, unless deployed under another name)",
    )
    common.add_argument(
        "--endpoint-url",
        type=flags.endpoint_url,
        metavar="URL",
        help="AWS endpoint: the local stack's 'aws endpoint (moto)', for which no AWS "
        f"configuration is needed (default: ${ENDPOINT_ENV})",
    )
    common.add_argument(
        "--region",
        help="AWS region (default: the AWS configuration's; the local stack's "
        f"{LOCAL_REGION} for a loopback endpoint)",
    )
    return common


Action = Callable[[argparse.Namespace, Target], None]


def runner(action: Action, *, prog: str) -> Callable[[argparse.Namespace], int]:
    """`action` as a command: connected to its table first, every failure one line."""

    def run(args: argparse.Namespace) -> int:
        target: Target | None = None
        try:
            target = connect(args)
            action(args, target)
            return 0
        except OperatorError as problem:
            return _fail(prog, str(problem), problem.status)
        except ValueError as problem:  # the domain refusing a value: a usage error
            return _fail(prog, str(problem), 2)
        except KeyboardInterrupt:
            return _fail(prog, "interrupted", 130)
        except Exception as error:
            message = explain(error, target)
            if message is None:
                raise  # a bug, not a mistake: its traceback is wanted
            return _fail(prog, message, 1)

    return run


def _fail(prog: str, message: str, status: int) -> int:
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return status


def connect(args: argparse.Namespace) -> Target:
    """Bind the models to the table the flags name, with credentials for it alone."""
    from imgpro import models

    endpoint = args.endpoint_url or _endpoint_from_environment()
    table = args.table or os.environ.get(config.TABLE_NAME, "").strip()
    if not (args.stack or table):
        raise OperatorError(
            f"--table or --stack is required (or set ${config.TABLE_NAME})", status=2
        )
    local = endpoint is not None and is_loopback(endpoint)
    session, credentials = (
        _local_session(args, endpoint) if local and endpoint is not None else _aws_session(args)
    )
    region = session.region_name
    if args.stack:
        table = table_of_stack(session, args.stack, endpoint_url=endpoint)
    models.bind(table, region=region, host=endpoint, credentials=credentials)
    return Target(table=table, region=region, endpoint_url=endpoint, local=local)


def _endpoint_from_environment() -> str | None:
    value = os.environ.get(ENDPOINT_ENV, "").strip()
    if not value:
        return None
    try:
        return flags.endpoint_url(value)
    except argparse.ArgumentTypeError as problem:
        raise OperatorError(f"${ENDPOINT_ENV}: {problem}", status=2) from None


def is_loopback(endpoint: str) -> bool:
    """Does `endpoint` name this machine (`localhost`, 127.0.0.0/8, ::1)?"""
    host = (urlsplit(endpoint).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_session(
    args: argparse.Namespace, endpoint: str
) -> tuple[Session, tuple[str, str, None]]:
    """moto takes any credentials; its state is per region, and the local stack's is
    LOCAL_REGION: not the shell's AWS_REGION, which is for AWS."""
    import boto3

    check_listening(endpoint)
    credentials = (LOCAL_CREDENTIAL, LOCAL_CREDENTIAL, None)
    session = boto3.session.Session(
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
        region_name=args.region or LOCAL_REGION,
    )
    return session, credentials


def _aws_session(args: argparse.Namespace) -> tuple[Session, tuple[str, str, str | None]]:
    """boto3's chain, resolved once: the region and credentials it finds, or why not.

    The region as the AWS CLI finds it: --region, $AWS_REGION (which boto3 alone ignores),
    $AWS_DEFAULT_REGION, the profile's."""
    import boto3

    region = args.region or os.environ.get("AWS_REGION", "").strip() or None
    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise OperatorError(NO_REGION)
    found = session.get_credentials()
    if found is None:
        raise OperatorError(NO_CREDENTIALS)
    frozen = found.get_frozen_credentials()
    if not (frozen.access_key and frozen.secret_key):
        raise OperatorError(NO_CREDENTIALS)
    return session, (frozen.access_key, frozen.secret_key, frozen.token)


def check_listening(endpoint: str) -> None:
    """Fail at once, and plainly, when nothing listens at the endpoint: botocore would
    retry a refused connection for seconds before saying so in its own words."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        raise OperatorError(
            f"nothing answers at {endpoint} ({error.strerror or error}): is the local stack "
            "running? `imgpro local` (make serve) prints its 'aws endpoint (moto)'"
        ) from None


def table_of_stack(session: Session, stack: str, *, endpoint_url: str | None = None) -> str:
    """The table named by the stack's `TableName` output (cloudformation:DescribeStacks)."""
    from botocore.exceptions import ClientError

    client = session.client("cloudformation", endpoint_url=endpoint_url)
    try:
        described = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        code, message = _code(error), _message(error)
        if code == "ValidationError" and "does not exist" in message:
            where = f"at {endpoint_url}" if endpoint_url else f"in {session.region_name}"
            raise OperatorError(
                f"no CloudFormation stack named {stack!r} {where}: check --stack and --region "
                f"(`cdk deploy` names it {DEFAULT_STACK})"
            ) from None
        raise
    outputs = {
        output["OutputKey"]: output.get("OutputValue")
        for found in described
        for output in found.get("Outputs", [])
    }
    table = outputs.get(TABLE_OUTPUT)
    if not table:
        raise OperatorError(
            f"stack {stack!r} has no {TABLE_OUTPUT} output: is it an imgpro stack, "
            "and done deploying?"
        )
    return table


def explain(error: BaseException, target: Target | None) -> str | None:
    """One line saying what went wrong, for what boto3, botocore and PynamoDB raise; None
    for anything else (a bug)."""
    from botocore import exceptions as boto
    from pynamodb.exceptions import PynamoDBException

    while isinstance(error, PynamoDBException) and error.cause is not None:
        error = error.cause  # PynamoDB wraps botocore's error
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        return NO_CREDENTIALS if isinstance(error, boto.NoCredentialsError) else str(error)
    if isinstance(error, boto.NoRegionError):
        return NO_REGION
    if isinstance(error, boto.ProfileNotFound):
        return f"{error}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(
        error,
        boto.EndpointConnectionError
        | boto.ConnectionClosedError
        | boto.ConnectTimeoutError
        | boto.ReadTimeoutError,
    ):
        if target is not None and target.local:
            return f"lost the local stack at {target.endpoint_url}: {error}; is it still running?"
        return f"cannot reach AWS: {error}"
    if isinstance(error, boto.ClientError):
        return _client_error(error, target)
    if isinstance(error, boto.BotoCoreError):
        return str(error)
    return None


def _client_error(error: Any, target: Target | None) -> str:
    code, message = _code(error), _message(error)
    # PynamoDB's errors keep only the "Error" part of the response; botocore names an
    # error that has no code of its own by its HTTP status.
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is None and code.isdigit():
        status = int(code)
    if code == "ResourceNotFoundException" and target is not None:
        hint = (
            f"the local stack's table is {LOCAL_TABLE}"
            if target.local
            else "check --table and --region, or pass --stack to read it from the stack"
        )
        return f"table {target.table!r} not found {target.where}: {hint}"
    if code in ("AccessDeniedException", "AccessDenied"):
        return f"AWS denied access: {message}"
    if code in _REFUSED_CREDENTIALS:
        return f"AWS refused the credentials ({code}): {message}; renew them or check the profile"
    if target is not None and target.local and status in _NOT_DYNAMODB_STATUSES:
        return (
            f"{target.endpoint_url} did not answer as DynamoDB does (HTTP {status}): pass "
            "the 'aws endpoint (moto)' that `imgpro local` prints, not the API's URL"
        )
    return f"AWS answered {code or status}: {message or 'no message'}"


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
