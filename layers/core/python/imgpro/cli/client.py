"""The client commands: `imgpro upload`, `list`, `show`, `update` and `delete`, over the
HTTP API (`--api-url` and `--token`, or $IMGPRO_API_URL and $IMGPRO_TOKEN).

Like the operator commands, every failure is one line on stderr, `<command>: error:
<what>`, with exit status 2 for a command line that cannot be right, 1 for what the API
answered (or did not), and 130 when interrupted. Results go to stdout: a table, or the
API's own JSON with `--json`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from imgpro.cli.api import API_URL_ENV, TOKEN_ENV, Api, ApiError, ClientError, from_environment

MEDIA_ID = re.compile(r"^[a-z0-9]{12}$")
BATCH_MAX = 100
"""Ids one batch request may name (DELETE and PATCH /v1/media?ids=)."""
_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")

Action = Callable[[argparse.Namespace, Api], int]


# Any: typeshed wants `parents` of the subparsers' own class (imgpro.cli.Parser).
def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    common = _common_flags()

    upload = commands.add_parser(
        "upload",
        parents=[common],
        help="upload image files (large ones resumably)",
        description="Upload one or more image files. Files up to 4 MiB go in one request; "
        "larger ones (up to 100 MiB) in 8 MiB parts straight to S3: if that is "
        "interrupted, the same command run again sends only the missing parts. Prints "
        "each file's media as it is done.",
    )
    upload.add_argument("files", nargs="+", metavar="FILE")
    _metadata_flags(upload)
    upload.add_argument("--ttl", type=_ttl, help="delete it after 5m, 2h, 7d, 2w or N seconds")
    upload.add_argument(
        "--wait",
        action="store_true",
        help="wait until each file is processed (large uploads are processed after they "
        "arrive) and fail if processing does",
    )
    upload.add_argument(
        "--wait-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long --wait waits for one file (default: 300)",
    )
    upload.add_argument(
        "--restart",
        action="store_true",
        help="abort an interrupted upload of the same file, and start it over",
    )
    upload.add_argument(
        "--limit-rate",
        type=_rate,
        metavar="BYTES",
        help="send at most this many bytes a second: 500K, 2M (1024-based, as curl)",
    )
    upload.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    _json_flag(upload, "one JSON media object a line, a line per file")
    upload.set_defaults(run=runner(_upload, prog=upload.prog))

    listing = commands.add_parser(
        "list",
        parents=[common],
        help="list media, newest first",
        description="List the team's media, newest first: a page at a time, or --all.",
    )
    listing.add_argument(
        "--limit", type=_limit, metavar="N", help="items per page, 1-100 (default: 50)"
    )
    listing.add_argument("--tags", type=_tags, help="only media with these tags: a,b,c")
    listing.add_argument(
        "--tag-mode",
        choices=("any", "all"),
        help="whether media needs any (default) or all of --tags",
    )
    listing.add_argument("--cursor", help="the page after the one that printed this cursor")
    listing.add_argument(
        "--all", action="store_true", help="every page, following the cursor to the end"
    )
    _json_flag(listing, "the page as the API answers it ({data, has_more, next_cursor})")
    listing.set_defaults(run=runner(_list, prog=listing.prog))

    show = commands.add_parser("show", parents=[common], help="one media, every field")
    show.add_argument("id", type=media_id, metavar="ID")
    _json_flag(show, "the media object")
    show.set_defaults(run=runner(_show, prog=show.prog))

    update = commands.add_parser(
        "update",
        parents=[common],
        help="change media's name, description, tags or visibility",
        description="Change one media, or several at once. Only what is given changes; an "
        "empty --description or --tags clears it.",
    )
    update.add_argument("ids", type=media_id, nargs="+", metavar="ID")
    update.add_argument("--name", type=_name, help="a new file name (no slashes)")
    _metadata_flags(update)
    update.add_argument(
        "--tag-mode",
        choices=("replace", "add", "remove"),
        help="how --tags applies (default: replace)",
    )
    _json_flag(update, "the API's answer")
    update.set_defaults(run=runner(_update, prog=update.prog))

    delete = commands.add_parser(
        "delete", parents=[common], help="delete media (one, or many at once)"
    )
    delete.add_argument("ids", type=media_id, nargs="+", metavar="ID")
    _json_flag(delete, "{deleted, not_found, ids: {deleted, not_found}}")
    delete.set_defaults(run=runner(_delete, prog=delete.prog))


def runner(action: Action, *, prog: str) -> Callable[[argparse.Namespace], int]:
    """`action` as a command: every failure one line, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        args.prog = prog
        try:
            api = from_environment(args.api_url, args.token)
            try:
                return action(args, api)
            finally:
                api.close()
        except ClientError as problem:
            return fail(prog, str(problem), problem.status)
        except KeyboardInterrupt:
            return fail(prog, "interrupted", 130)
        except BrokenPipeError:  # `imgpro list | head`: the reader has all it wanted
            # Python would complain again when it flushes stdout on the way out.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141

    return run


def fail(prog: str, message: str, status: int) -> int:
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return status


# --- the commands -------------------------------------------------------------------------


def _upload(args: argparse.Namespace, api: Api) -> int:
    from imgpro.cli import output, progress
    from imgpro.cli.resume import StateStore, default_state_dir
    from imgpro.cli.upload import Interrupted, LocalFile, Options, Uploader

    files: list[LocalFile] = []
    problems: list[str] = []
    for path in args.files:
        try:
            files.append(LocalFile.inspect(path))
        except ClientError as unusable:
            problems.append(str(unusable))
    if problems:
        # All or nothing: a batch with a typo in it is not half uploaded.
        for problem in problems:
            fail(args.prog, problem, 2)
        return 2

    store = StateStore(default_state_dir())
    store.sweep()
    uploader = Uploader(
        api,
        Options(
            description=args.description,
            tags=args.tags,
            ttl=args.ttl,
            public=args.public,
            wait=args.wait,
            wait_timeout=args.wait_timeout,
            restart=args.restart,
        ),
        progress.reporter(bars=not args.no_progress),
        store,
        throttle=progress.Throttle(args.limit_rate),
    )
    failed = 0
    for file in files:
        try:
            media = uploader.upload(file)
        except Interrupted:
            raise
        except ClientError as problem:
            failed += 1
            fail(args.prog, str(problem), 1)
            continue
        print(output.to_json(media, compact=True) if args.json else output.line(media), flush=True)
    if failed and len(files) > 1:
        fail(args.prog, f"{failed} of {len(files)} files were not uploaded", 1)
    return 1 if failed else 0


def _list(args: argparse.Namespace, api: Api) -> int:
    from imgpro.cli import output

    query: dict[str, str | int | None] = {
        "limit": args.limit or (100 if args.all else None),
        "tags": args.tags,
        "tag_mode": args.tag_mode,
        "cursor": args.cursor,
    }
    page = _page(api.call("GET", "/v1/media", query=query))
    items: list[dict[str, Any]] = list(page["data"])
    while args.all and page.get("has_more") and page.get("next_cursor"):
        query["cursor"] = page["next_cursor"]
        page = _page(api.call("GET", "/v1/media", query=query))
        items += page["data"]
    if args.json:
        print(output.to_json({"data": items, "has_more": False} if args.all else page))
        return 0
    if items:
        print(output.table(items))
    else:
        print("no media" + (" with these tags" if args.tags else ""), file=sys.stderr)
    if not args.all and page.get("has_more") and page.get("next_cursor"):
        print(
            f"more: imgpro list --cursor {page['next_cursor']} (or --all)",
            file=sys.stderr,
        )
    return 0


def _show(args: argparse.Namespace, api: Api) -> int:
    from imgpro.cli import output

    media = _named(args.id, lambda: api.call("GET", _media_path(args.id)))
    print(output.to_json(media) if args.json else output.details(media))
    return 0


def _update(args: argparse.Namespace, api: Api) -> int:
    from imgpro.cli import output

    given = {
        "name": args.name,
        "description": args.description,
        "tags": args.tags,
        "tag_mode": args.tag_mode,
        "public": args.public,
    }
    changes = {field: value for field, value in given.items() if value is not None}
    if not changes.keys() - {"tag_mode"}:
        raise ClientError(
            "nothing to change: give --name, --description, --tags, --public or --private",
            status=2,
        )
    if args.tag_mode and args.tags is None:
        raise ClientError("--tag-mode applies to --tags: give them too", status=2)
    ids = list(dict.fromkeys(args.ids))
    if len(ids) == 1:
        media = _named(ids[0], lambda: api.call("PATCH", _media_path(ids[0]), body=changes))
        print(output.to_json(media) if args.json else output.details(media))
        return 0
    updated: list[dict[str, Any]] = []
    for batch in _batches(ids):
        answer = api.call("PATCH", "/v1/media", query={"ids": ",".join(batch)}, body=changes)
        updated += answer.get("media", []) if isinstance(answer, dict) else []
    if args.json:
        print(output.to_json({"updated": len(updated), "media": updated}))
    elif updated:
        print(output.table(updated))
    missing = [uid for uid in ids if uid not in {m.get("id") for m in updated}]
    for uid in missing:
        fail(args.prog, f"media {uid}: not found", 1)
    return 1 if missing else 0


def _delete(args: argparse.Namespace, api: Api) -> int:
    from imgpro.cli import output

    ids = list(dict.fromkeys(args.ids))
    deleted: list[str] = []
    not_found: list[str] = []
    if len(ids) == 1:
        try:
            api.call("DELETE", _media_path(ids[0]))
            deleted.append(ids[0])
        except ApiError as problem:
            if problem.http_status != 404:
                raise
            not_found.append(ids[0])
    else:
        for batch in _batches(ids):
            answer = api.call("DELETE", "/v1/media", query={"ids": ",".join(batch)})
            found = answer.get("ids", {}) if isinstance(answer, dict) else {}
            deleted += [str(uid) for uid in found.get("deleted", [])]
            not_found += [str(uid) for uid in found.get("not_found", [])]
    if args.json:
        print(
            output.to_json(
                {
                    "deleted": len(deleted),
                    "not_found": len(not_found),
                    "ids": {"deleted": deleted, "not_found": not_found},
                }
            )
        )
    else:
        for uid in deleted:
            print(f"deleted {uid}")
    for uid in not_found:
        fail(args.prog, f"media {uid}: not found", 1)
    return 1 if not_found else 0


# --- helpers ------------------------------------------------------------------------------


def _named(uid: str, request: Callable[[], Any]) -> dict[str, Any]:
    """The media `request` answers, its errors naming it."""
    try:
        answer = request()
    except ApiError as problem:
        raise ClientError(f"media {uid}: {problem}") from None
    if not isinstance(answer, dict):
        raise ClientError(f"media {uid}: the API answered no media object: {answer!r}")
    return answer


def _page(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ClientError(f"the API answered no page of media: {answer!r:.200}")
    return answer


def _media_path(uid: str) -> str:
    return f"/v1/media/{quote(uid, safe='')}"


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[start : start + BATCH_MAX] for start in range(0, len(ids), BATCH_MAX)]


# --- flags --------------------------------------------------------------------------------


def _common_flags() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url",
        metavar="URL",
        help=f"the API's base URL (default: ${API_URL_ENV}): the local stack's, or a "
        "deployed stack's ApiUrl",
    )
    common.add_argument(
        "--token",
        metavar="ID|SECRET",
        help=f"the API token (default: ${TOKEN_ENV}, which keeps it out of the process list)",
    )
    return common


def _metadata_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description", type=_description, help="a description")
    parser.add_argument("--tags", type=_tags, help="comma-separated tags: a,b,c (at most 10)")
    visibility = parser.add_mutually_exclusive_group()
    visibility.add_argument(
        "--public", dest="public", action="store_const", const=True, help="public media"
    )
    visibility.add_argument(
        "--private",
        dest="public",
        action="store_const",
        const=False,
        help="private media (default: the team's setting)",
    )
    parser.set_defaults(public=None)


def _json_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print JSON: {what}")


def media_id(value: str) -> str:
    if not MEDIA_ID.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a media id: 12 lowercase letters and digits, as `imgpro list` "
            "shows them"
        )
    return value


def _checked(validate: Callable[[str], object], value: str) -> str:
    """`value` as given, once the API's own validation takes it."""
    from imgpro.cli.flags import check

    check(validate, value)
    return value


def _ttl(value: str) -> str:
    from imgpro.validation import parse_ttl

    return _checked(parse_ttl, value)


def _tags(value: str) -> str:
    from imgpro.validation import parse_tags

    return _checked(parse_tags, value)


def _description(value: str) -> str:
    from imgpro.validation import parse_description

    return _checked(parse_description, value)


def _name(value: str) -> str:
    from imgpro.validation import parse_name

    return _checked(parse_name, value)


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not a page size from 1 to 100")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return seconds


def _rate(value: str) -> float:
    """Bytes a second: `800`, `500K`, `2M`, `1.5M` (K, M, G as 1024, 1024², 1024³)."""
    match = _RATE.match(value.strip())
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a rate: bytes a second, like 800, 500K or 2M"
        )
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match[2].lower()]
    return float(match[1]) * scale
