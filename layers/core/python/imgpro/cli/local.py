"""`imgpro local`: the whole API on this machine, with moto for S3 and DynamoDB."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import imgpro
from imgpro.cli import flags
from imgpro.local.data_dir import LOCAL_STATE_DIR, TOKEN_FILE, DataDirError
from imgpro.local.stack import DEFAULT_RATE_LIMIT, LocalStack, SeedError, StackOptions
from imgpro.teams import PLANS

if TYPE_CHECKING:
    from imgpro.cli import Parser

FUNCTIONS_DIR_ENV = "IMGPRO_FUNCTIONS_DIR"


def add_command(commands: argparse._SubParsersAction[Parser]) -> None:
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
        "--port", type=flags.port_number, default=8787, help="port to listen on (0: any free port)"
    )
    local.add_argument(
        "--public-host",
        type=flags.public_host,
        help="host name clients use, in every URL the API returns (default: --host)",
    )
    local.add_argument(
        "--aws-port",
        type=flags.port_number,
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
        type=flags.team_spec,
        default=[],
        metavar="TEAM:PLAN[:public]",
        help=f"create or update a team; PLAN is one of {', '.join(PLANS)} (repeatable)",
    )
    local.add_argument(
        "--token",
        dest="tokens",
        action="append",
        type=flags.token_spec,
        default=[],
        metavar="TEAM:ABILITIES:SECRET",
        help="issue a token; ABILITIES is *, read, write or read,write (repeatable; "
        "default: one full-access token for team 'local' with a random secret)",
    )
    local.add_argument(
        "--rate-limit",
        type=flags.rate_limit,
        default=DEFAULT_RATE_LIMIT,
        metavar="PER_MIN/PER_HOUR|off",
        help=f"per-token request limits (default: {DEFAULT_RATE_LIMIT})",
    )
    local.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep teams, tokens, media and their files in DIR between runs (made if "
        "missing; delete it to start afresh). Default: in memory, gone when stopped",
    )
    local.add_argument(
        "--allow-import-from",
        dest="import_cidrs",
        action="append",
        type=flags.network,
        default=[],
        metavar="CIDR",
        help="let URL imports reach this address range, on any port (repeatable)",
    )
    local.set_defaults(run=lambda args: _run(args, error=local.error))


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
        data_dir=args.data_dir.resolve() if args.data_dir else None,
        token_file=default_token_file(),
    )


def default_token_file() -> Path:
    """Where the generated token is remembered without --data-dir: `.imgpro-local/token`
    in the folder the stack starts in (the repository, for `make serve`)."""
    return Path.cwd() / LOCAL_STATE_DIR / TOKEN_FILE


def _run(args: argparse.Namespace, *, error: Callable[[str], NoReturn]) -> int:
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
    except (OSError, DataDirError) as problem:
        print(f"imgpro local: cannot start: {problem}", file=sys.stderr, flush=True)
        return 1
    try:
        _announce(stack)
        while not stopping.wait(0.5):
            pass
        print("imgpro local: stopping", flush=True)
    finally:
        stack.stop()
    print("imgpro local: stopped", flush=True)
    _exit_now()


def _announce(stack: LocalStack) -> None:
    # One fact per line, in a fixed form: scripts and the e2e fixture parse these.
    options = stack.options
    lines = [
        f"imgpro local stack: {stack.base_url}",
        f"aws endpoint (moto): {stack.aws_endpoint}",
        f"functions: {options.functions_dir}",
    ]
    if options.data_dir is None:
        lines.append("state: in memory, gone when stopped (--data-dir DIR keeps it)")
    else:
        restored = stack.restored
        lines.append(
            f"state: {options.data_dir} (kept between runs; "
            f"loaded {restored.items} table items and {restored.objects} objects)"
        )
    lines += [
        f"token team={token.team_id} abilities={','.join(token.abilities)} : {token.sanctum}"
        for token in stack.tokens
    ]
    if stack.token_file is not None:
        lines.append(f"token saved in: {stack.token_file} (delete it for a new token)")
    lines.append("stop: Ctrl-C")
    print("\n".join(lines), flush=True)


def _stop_on_signals() -> threading.Event:
    """SIGINT and SIGTERM set the event (the stack stops, saving its state); a second
    one ends the process at once, unsaved since the last save."""
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            os.write(2, b"imgpro local: stopped at once, on a second signal\n")
            os._exit(128 + signum)
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return stopping


def _exit_now() -> NoReturn:
    """End the process at once, its output flushed. Nothing is left that Python's own exit
    would do, except wait: for a thread the stop cut short (an upload's worker, a render),
    daemon or not, since Python's exit joins a thread pool's threads whatever their flag;
    and for the teardown of every module moto and botocore loaded (half a second)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _log_to_stderr() -> None:
    # Only the local stack's own logger: configuring the root logger would also turn
    # on botocore's and the handlers' chatter.
    logger = logging.getLogger("imgpro.local")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
