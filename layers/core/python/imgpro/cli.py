"""The `imgpro` command. `imgpro local` runs the whole API on this machine.

Flag values are checked while parsing, so a bad one exits with status 2 and an
argparse message before anything starts.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypeVar

import imgpro
from imgpro import config
from imgpro.local.stack import (
    DEFAULT_RATE_LIMIT,
    LocalStack,
    SeedError,
    StackOptions,
    TeamSpec,
    TokenSpec,
)
from imgpro.teams import PLANS, validate_abilities, validate_team_id

FUNCTIONS_DIR_ENV = "IMGPRO_FUNCTIONS_DIR"
_RATE_LIMIT = re.compile(r"^(\d+)/(\d+)$")
_In = TypeVar("_In")
_Out = TypeVar("_Out")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgpro", description="Self-hostable, img.pro-compatible image hosting API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local = commands.add_parser(
        "local",
        help="run the API on this machine, with moto for S3 and DynamoDB",
        description=(
            "Run every endpoint's handler behind a local HTTP server that behaves like "
            "API Gateway, with S3 and DynamoDB emulated by moto. No AWS account needed."
        ),
    )
    local.add_argument("--host", default="127.0.0.1", help="address to listen on")
    local.add_argument(
        "--port", type=port_number, default=8787, help="port to listen on (0: any free port)"
    )
    local.add_argument(
        "--public-host",
        type=public_host,
        help="host name clients use, in every URL the API returns (default: --host)",
    )
    local.add_argument(
        "--aws-port",
        type=port_number,
        default=0,
        help="port of the moto server on 127.0.0.1 (0: any free port)",
    )
    local.add_argument(
        "--functions-dir",
        type=Path,
        help=f"folder of the function handlers (default: ${FUNCTIONS_DIR_ENV} or the repo's)",
    )
    local.add_argument(
        "--team",
        dest="teams",
        action="append",
        type=team_spec,
        default=[],
        metavar="TEAM:PLAN[:public]",
        help=f"create or update a team; PLAN is one of {', '.join(PLANS)} (repeatable)",
    )
    local.add_argument(
        "--token",
        dest="tokens",
        action="append",
        type=token_spec,
        default=[],
        metavar="TEAM:ABILITIES:SECRET",
        help="issue a token; ABILITIES is *, read, write or read,write (repeatable; "
        "default: one full-access token for team 'local' with a random secret)",
    )
    local.add_argument(
        "--rate-limit",
        type=rate_limit,
        default=DEFAULT_RATE_LIMIT,
        metavar="PER_MIN/PER_HOUR|off",
        help=f"per-token request limits (default: {DEFAULT_RATE_LIMIT})",
    )
    local.add_argument(
        "--allow-import-from",
        dest="import_cidrs",
        action="append",
        type=network,
        default=[],
        metavar="CIDR",
        help="let URL imports reach this address range, on any port (repeatable)",
    )
    local.set_defaults(run=lambda args: _run_local(args, error=local.error))
    _add_operator_commands(commands)
    return parser


def _add_operator_commands(commands: argparse._SubParsersAction) -> None:
    """`imgpro team put` and `imgpro token issue`: write teams and tokens straight into
    the table, with the caller's AWS credentials (a deployed stack) or against the
    local stack's moto endpoint (`--endpoint-url`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--table",
        default=os.environ.get(config.TABLE_NAME),
        help=f"the stack's table name (default: ${config.TABLE_NAME})",
    )
    common.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="AWS endpoint, e.g. the local stack's moto endpoint (default: $AWS_ENDPOINT_URL)",
    )
    team = commands.add_parser("team", help="create or update teams")
    team_put = team.add_subparsers(dest="action", required=True).add_parser(
        "put", parents=[common], help="create a team, or change its plan and default"
    )
    team_put.add_argument("team", type=lambda v: _check(validate_team_id, v))
    team_put.add_argument("--plan", choices=PLANS, default="free")
    team_put.add_argument(
        "--public", action="store_true", help="new media of this team is public by default"
    )
    team_put.add_argument(
        "--max-images",
        type=count,
        metavar="N",
        help="images a month this team may upload, instead of its plan's (default: the plan's)",
    )
    team_put.add_argument(
        "--max-storage",
        type=byte_size,
        metavar="BYTES",
        help="bytes this team may store, instead of its plan's: 5000000000, 5GB or 4GiB "
        "(default: the plan's)",
    )
    team_put.set_defaults(run=lambda args: _run_operator(args, error=team_put.error))

    token = commands.add_parser("token", help="issue API tokens")
    token_issue = token.add_subparsers(dest="action", required=True).add_parser(
        "issue", parents=[common], help="issue a token; prints its ID|SECRET once"
    )
    token_issue.add_argument("team", type=lambda v: _check(validate_team_id, v))
    token_issue.add_argument(
        "--abilities",
        type=lambda v: _check(validate_abilities, v.split(",")),
        default=("*",),
        help="*, read, write or read,write (default: *)",
    )
    token_issue.add_argument("--secret", help="use this secret (default: a random one)")
    token_issue.add_argument("--name", default="", help="a note on what the token is for")
    token_issue.set_defaults(run=lambda args: _run_operator(args, error=token_issue.error))


def _run_operator(args: argparse.Namespace, *, error: Callable[[str], NoReturn]) -> int:
    from imgpro import models, quotas, teams

    if not args.table:
        error(f"--table is required (or set ${config.TABLE_NAME})")
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    models.bind(args.table)
    try:
        if args.command == "team":
            team = teams.put_team(
                args.team,
                plan=args.plan,
                public_default=args.public,
                max_images_per_month=args.max_images,
                max_storage_bytes=args.max_storage,
            )
            visibility = "public" if team.public_default else "private"
            limits = quotas.limits_for(
                team.plan,
                max_images_per_month=team.max_images_per_month,
                max_storage_bytes=team.max_storage_bytes,
            )
            print(
                f"team {team.team_id} plan={team.plan} default={visibility} "
                f"max_images={limits.images_per_month} max_storage={limits.storage_bytes}"
            )
        else:
            teams.ensure_team(args.team)
            issued = teams.issue_token(
                args.team, abilities=args.abilities, secret=args.secret, name=args.name
            )
            print(
                f"token team={issued.team_id} abilities={','.join(issued.abilities)} : "
                f"{issued.sanctum}"
            )
    except ValueError as problem:
        error(str(problem))
    return 0


# Flag value types: each returns the parsed value or raises ArgumentTypeError,
# which argparse reports with the flag's name and exits with status 2.


def port_number(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)


def count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (0 or more)")
    return int(value)


def byte_size(value: str) -> int:
    from imgpro.quotas import parse_bytes

    return _check(parse_bytes, value)


def public_host(value: str) -> str:
    if not value or any(c in value for c in "/ \t@?#"):
        raise argparse.ArgumentTypeError(
            f"{value!r} must be a bare host name or address, like example.test or 192.0.2.7"
        )
    return value


def team_spec(value: str) -> TeamSpec:
    parts = value.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "public"):
        raise argparse.ArgumentTypeError(f"{value!r} must be TEAM:PLAN or TEAM:PLAN:public")
    team_id, plan = parts[0], parts[1]
    _check(validate_team_id, team_id)
    if plan not in PLANS:
        raise argparse.ArgumentTypeError(f"plan {plan!r} must be one of {', '.join(PLANS)}")
    return TeamSpec(team_id=team_id, plan=plan, public_default=len(parts) == 3)


def token_spec(value: str) -> TokenSpec:
    # The secret is last and may itself contain ':'.
    parts = value.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"{value!r} must be TEAM:ABILITIES:SECRET")
    team_id, abilities, secret = parts
    _check(validate_team_id, team_id)
    granted = _check(validate_abilities, abilities.split(","))
    return TokenSpec(team_id=team_id, abilities=granted, secret=secret)


def rate_limit(value: str) -> str:
    match = _RATE_LIMIT.match(value)
    if value != "off" and not (match and all(int(n) > 0 for n in match.groups())):
        raise argparse.ArgumentTypeError(
            f"{value!r} must be PER_MIN/PER_HOUR with two positive integers, or 'off'"
        )
    return value


def network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IP address or CIDR range") from None


def default_functions_dir(env: Mapping[str, str]) -> Path:
    """$IMGPRO_FUNCTIONS_DIR, else `functions/` of the checkout the package lives in
    (`<repo>/layers/core/python/imgpro/__init__.py` → `<repo>/functions`)."""
    configured = env.get(FUNCTIONS_DIR_ENV, "").strip()
    if configured:
        return Path(configured)
    return Path(imgpro.__file__).resolve().parents[4] / "functions"


def stack_options(args: argparse.Namespace, *, env: Mapping[str, str]) -> StackOptions:
    """The stack's options from parsed flags; ValueError for flags that clash."""
    functions_dir = args.functions_dir or default_functions_dir(env)
    if not functions_dir.is_dir():
        raise ValueError(f"functions directory {str(functions_dir)!r} does not exist")
    secrets = [token.secret for token in args.tokens]
    if len(set(secrets)) != len(secrets):
        raise ValueError("each --token needs a secret of its own")
    return StackOptions(
        functions_dir=functions_dir.resolve(),
        host=args.host,
        port=args.port,
        aws_port=args.aws_port,
        public_host=args.public_host,
        teams=tuple(args.teams),
        tokens=tuple(args.tokens),
        rate_limit=args.rate_limit,
        import_cidrs=tuple(args.import_cidrs),
    )


def _check(validate: Callable[[_In], _Out], value: _In) -> _Out:
    try:
        return validate(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _run_local(args: argparse.Namespace, *, error: Callable[[str], NoReturn]) -> int:
    try:
        options = stack_options(args, env=os.environ)
    except ValueError as problem:
        error(str(problem))
    _log_to_stderr()
    # Installed before starting, so Ctrl-C during start-up stops cleanly too.
    stopping = _stop_on_signals()
    stack = LocalStack(options)
    try:
        stack.start()
    except SeedError as problem:
        error(str(problem))
    except OSError as problem:
        print(f"imgpro local: cannot start: {problem}", file=sys.stderr, flush=True)
        return 1
    try:
        _announce(stack)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    print("imgpro local: stopped", flush=True)
    return 0


def _announce(stack: LocalStack) -> None:
    # One fact per line, in a fixed form: scripts and the e2e fixture parse these.
    lines = [
        f"imgpro local stack: {stack.base_url}",
        f"aws endpoint (moto): {stack.aws_endpoint}",
        f"functions: {stack.options.functions_dir}",
    ]
    lines += [
        f"token team={token.team_id} abilities={','.join(token.abilities)} : {token.sanctum}"
        for token in stack.tokens
    ]
    print("\n".join(lines), flush=True)


def _stop_on_signals() -> threading.Event:
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return stopping


def _log_to_stderr() -> None:
    # Only the local stack's own logger: configuring the root logger would also turn
    # on botocore's and the handlers' chatter.
    logger = logging.getLogger("imgpro.local")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


if __name__ == "__main__":
    sys.exit(main())
