"""`imgpro team put` and `imgpro team show`."""

from __future__ import annotations

import argparse
from typing import Any

from imgpro.cli import aws, flags
from imgpro.imaging.privacy import DEFAULT_STRIP, STRIP_POLICIES
from imgpro.teams import PLANS


# Any: typeshed wants `parents` of the subparsers' own class (imgpro.cli.Parser), and
# `common` is a plain ArgumentParser.
def add_commands(
    commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    team = commands.add_parser("team", help="create, change and show teams")
    actions = team.add_subparsers(dest="action", required=True, metavar="ACTION")

    put = actions.add_parser(
        "put",
        parents=[common],
        help="create a team, or change its plan, default, quota overrides and metadata privacy",
        description="Create the team, or set its plan, default visibility, quota overrides "
        "and metadata privacy. It sets exactly what it is given: an override left out is "
        "removed, an option left out is its default.",
    )
    put.add_argument("team", type=flags.team_id)
    put.add_argument("--plan", choices=PLANS, default="free", help="default: free")
    put.add_argument(
        "--public", action="store_true", help="new media of this team is public by default"
    )
    put.add_argument(
        "--max-images",
        type=flags.count,
        metavar="N",
        help="images a month this team may upload, instead of its plan's (default: the plan's)",
    )
    put.add_argument(
        "--max-storage",
        type=flags.byte_size,
        metavar="BYTES",
        help="bytes this team may store, instead of its plan's: 5000000000, 5GB or 4GiB "
        "(default: the plan's)",
    )
    put.add_argument(
        "--strip-metadata",
        choices=STRIP_POLICIES,
        default=DEFAULT_STRIP,
        help="what originals lose of their metadata: gps (location, from EXIF, XMP and text) "
        "or all (every EXIF, XMP, IPTC and comment block but orientation and the colour "
        f"profile); default: {DEFAULT_STRIP}",
    )
    put.set_defaults(run=aws.runner(_put, prog=put.prog))

    show = actions.add_parser(
        "show",
        parents=[common],
        help="a team's plan, default, and usage this month against its limits",
    )
    show.add_argument("team", type=flags.team_id)
    show.set_defaults(run=aws.runner(_show, prog=show.prog))


def _put(args: argparse.Namespace, target: aws.Target) -> None:
    from imgpro import quotas, teams

    team = teams.put_team(
        args.team,
        plan=args.plan,
        public_default=args.public,
        max_images_per_month=args.max_images,
        max_storage_bytes=args.max_storage,
        strip_metadata=args.strip_metadata,
    )
    limits = quotas.limits_for(
        team.plan,
        max_images_per_month=team.max_images_per_month,
        max_storage_bytes=team.max_storage_bytes,
    )
    print(
        f"team {team.team_id} plan={team.plan} default={_visibility(team.public_default)} "
        f"max_images={limits.images_per_month} max_storage={limits.storage_bytes} "
        f"strip_metadata={team.strip_metadata}"
    )


def _show(args: argparse.Namespace, target: aws.Target) -> None:
    from imgpro import quotas, teams

    team = teams.get_team(args.team)
    if team is None:
        raise aws.OperatorError(
            f"team {args.team!r} does not exist {target.where} in table {target.table}: "
            f"create it with `imgpro team put {args.team}`"
        )
    standing = quotas.standing(args.team, consistent=True)
    limits = standing.limits
    month = standing.month.replace("_", "-")
    overrides = [
        f"{name}={value}"
        for name, value in (
            ("max_images", team.max_images_per_month),
            ("max_storage", team.max_storage_bytes),
        )
        if value is not None
    ]
    rows = [
        ("team", team.team_id),
        ("plan", team.plan),
        ("default", _visibility(team.public_default)),
        (
            "images",
            f"{standing.images_this_month:,} of {limits.images_per_month:,} in {month} (UTC), "
            f"limit from {limits.images_source}",
        ),
        (
            "storage",
            f"{_bytes(standing.stored_bytes)} of {_bytes(limits.storage_bytes)}, "
            f"limit from {limits.storage_source}",
        ),
        ("overrides", " ".join(overrides) or "none"),
        ("metadata", _METADATA[team.strip_metadata]),
    ]
    width = max(len(name) for name, _ in rows) + 2
    print("\n".join(f"{name + ':':<{width}}{value}" for name, value in rows))


_METADATA = {
    "gps": "strip gps (location removed from EXIF, XMP and text)",
    "all": "strip all (only orientation and the colour profile kept)",
}


def _visibility(public_default: bool) -> str:
    return "public" if public_default else "private"


def _bytes(nbytes: int) -> str:
    from imgpro.quotas import format_bytes

    exact = f"{nbytes:,} bytes"
    return exact if nbytes < 1000 else f"{exact} ({format_bytes(nbytes)})"
