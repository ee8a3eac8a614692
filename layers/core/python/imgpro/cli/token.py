"""`imgpro token issue`, `imgpro token list` and `imgpro token revoke`.

A token's secret is printed once, when issued, in the `ID|SECRET` form clients send;
the table keeps only its SHA-256, and neither is ever printed again.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from imgpro.cli import aws, flags


# Any: typeshed wants `parents` of the subparsers' own class (imgpro.cli.Parser), and
# `common` is a plain ArgumentParser.
def add_commands(
    commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    token = commands.add_parser("token", help="issue, list and revoke API tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")

    issue = actions.add_parser(
        "issue", parents=[common], help="issue a token; prints its ID|SECRET, once"
    )
    issue.add_argument("team", type=flags.team_id)
    issue.add_argument(
        "--abilities",
        type=flags.abilities,
        default=("*",),
        help="*, read, write or read,write (default: *)",
    )
    issue.add_argument("--name", default="", help="a note on what the token is for")
    issue.add_argument("--secret", help="use this secret (default: a random one)")
    issue.add_argument(
        "--create-team",
        action="store_true",
        help="create the team (free plan, private) if it does not exist; without it, "
        "issuing for an unknown team is refused",
    )
    issue.set_defaults(run=aws.runner(_issue, prog=issue.prog))

    listing = actions.add_parser(
        "list", parents=[common], help="a team's tokens: id, abilities, created, last used, name"
    )
    listing.add_argument("team", type=flags.team_id)
    listing.set_defaults(run=aws.runner(_list, prog=listing.prog))

    revoke = actions.add_parser(
        "revoke", parents=[common], help="delete a token: it stops working at once"
    )
    revoke.add_argument("team", type=flags.team_id)
    revoke.add_argument("id", type=flags.token_id, help="the token's id (`imgpro token list`)")
    revoke.set_defaults(run=aws.runner(_revoke, prog=revoke.prog))


def _issue(args: argparse.Namespace, target: aws.Target) -> None:
    from imgpro import teams

    if args.create_team:
        teams.ensure_team(args.team)
    elif teams.get_team(args.team) is None:
        raise aws.OperatorError(
            f"team {args.team!r} does not exist {target.where} in table {target.table}: "
            f"create it with `imgpro team put {args.team}`, or pass --create-team"
        )
    issued = teams.issue_token(
        args.team, abilities=args.abilities, secret=args.secret, name=args.name
    )
    print(f"token team={issued.team_id} abilities={','.join(issued.abilities)} : {issued.sanctum}")


def _list(args: argparse.Namespace, target: aws.Target) -> None:
    from imgpro import teams

    tokens = teams.list_tokens(args.team)
    if not tokens:
        if teams.get_team(args.team) is None:
            raise aws.OperatorError(
                f"team {args.team!r} does not exist {target.where} in table {target.table}"
            )
        print(f"team {args.team} has no tokens")
        return
    rows = [("ID", "ABILITIES", "CREATED", "LAST USED", "NAME")]
    rows += [
        (
            str(token.token_id),
            ",".join(token.abilities),
            _when(token.created_ms),
            _when(token.last_used_ms) if token.last_used_ms is not None else "never",
            token.name,
        )
        for token in tokens
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        # The name last and unpadded: it is free text, and may hold spaces.
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*padded, row[-1]]).rstrip())


def _revoke(args: argparse.Namespace, target: aws.Target) -> None:
    from imgpro import teams

    try:
        revoked = teams.revoke_token(args.team, args.id)
    except teams.UnknownToken as problem:
        raise aws.OperatorError(
            f"{problem} {target.where} in table {target.table}: "
            f"`imgpro token list {args.team}` shows its tokens"
        ) from None
    print(f"revoked token {revoked.token_id} of team {revoked.team_id}")


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
