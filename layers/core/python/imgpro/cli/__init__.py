"""The `imgpro` command.

- `imgpro local` (imgpro.cli.local) runs the whole API on this machine.
- `imgpro team put|show` and `imgpro token issue|list|revoke` (imgpro.cli.team,
  imgpro.cli.token), and `imgpro media placeholders` (imgpro.cli.media), work on a
  deployed stack's table with the caller's AWS credentials,
  or on the local stack's moto with none at all (imgpro.cli.aws says which, and how).
- `imgpro upload|list|show|update|delete` (imgpro.cli.client) are a client of the HTTP
  API itself, with `--api-url` and `--token`.

Every mistake is one line on stderr, `<command>: error: <what>`, and a non-zero exit
status: 2 for a command line that cannot be right (flag values are checked while
parsing, before anything starts), 1 for what AWS or the table answered.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from imgpro.cli import aws, client, local, media, team, token
from imgpro.cli.local import FUNCTIONS_DIR_ENV, default_functions_dir, stack_options

__all__ = [
    "FUNCTIONS_DIR_ENV",
    "build_parser",
    "default_functions_dir",
    "main",
    "stack_options",
]


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block above them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="imgpro", description="Self-hostable, img.pro-compatible image hosting API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local.add_command(commands)
    common = aws.common_flags()
    team.add_commands(commands, common)
    token.add_commands(commands, common)
    media.add_commands(commands, common)
    client.add_commands(commands)
    return parser
