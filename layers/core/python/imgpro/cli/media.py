"""`imgpro media placeholders`: fill in the placeholder of media stored before ingest made
one (imgpro.placeholders), on a deployed stack's table and bucket or the local stack's."""

from __future__ import annotations

import argparse
import os
from typing import Any

from imgpro import config
from imgpro.cli import aws, flags


def add_commands(
    commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    media = commands.add_parser("media", help="operator work on stored media")
    actions = media.add_subparsers(dest="action", required=True, metavar="ACTION")
    fill = actions.add_parser(
        "placeholders",
        parents=[common],
        help="make the placeholder of media stored before placeholders existed",
        description="Reads each ready raster original and writes its placeholder "
        "(thumbhash, blurhash, color) on the media item. Media that has one is skipped, "
        "so running it again is harmless.",
    )
    fill.add_argument("--team", type=flags.team_id, help="only this team's media")
    fill.add_argument(
        "--bucket",
        metavar="NAME",
        help=f"the media bucket (default: ${config.BUCKET_NAME}; the local stack's for a "
        "loopback endpoint)",
    )
    fill.add_argument("--force", action="store_true", help="remake placeholders that exist")
    fill.set_defaults(run=aws.runner(_placeholders, prog=fill.prog))


def _placeholders(args: argparse.Namespace, target: aws.Target) -> None:
    import boto3

    from imgpro import placeholders
    from imgpro.local.stack import BUCKET as LOCAL_BUCKET

    bucket = args.bucket or os.environ.get(config.BUCKET_NAME, "").strip()
    if not bucket and target.local:
        bucket = LOCAL_BUCKET
    if not bucket:
        raise aws.OperatorError(f"--bucket is required (or set ${config.BUCKET_NAME})", status=2)
    # The local stack's moto takes any credentials; a deployed stack gets the caller's.
    key_id, secret = ("local", "local") if target.local else (None, None)
    s3 = boto3.client(
        "s3",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )

    def read(key: str) -> bytes | None:
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return body

    tally = placeholders.backfill(placeholders.media_items(args.team), read, force=args.force)
    print(f"placeholders made={tally.made} skipped={tally.skipped} failed={tally.failed}")
    if tally.failed:
        raise aws.OperatorError(f"{tally.failed} media could not be read or written")
