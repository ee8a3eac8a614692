"""What the API tells the CDN: forget what the edge holds of a media item, every time.

CloudFront caches public images for a year (their URL never changes content), so
deleting public media, or moving media between the public and the private side, must
invalidate what the edge holds. CloudFront refuses an invalidation while too many are in
progress (15 wildcard paths, 3,000 exact ones, per distribution) and bills every path
past the month's first 1,000, so (docs/cdn.md, "Invalidations"):

- `edge_paths`: the exact paths of one item on the public side, the only side the edge
  keeps bytes of (`keys.cdn_paths`: 12 for JPEG, PNG and GIF, 7 for WebP, 2 for SVG);
- `invalidate`: one SQS message per API request, whatever the number of items (split
  only past `MAX_PATHS_PER_INVALIDATION`); it never raises, so the API answers from the
  database whatever the queue does, and says loudly when a message could not be queued;
- the `invalidate` worker (`imgpro.invalidation`) sends each message as one
  CreateInvalidation, and a refusal (`TooManyInvalidationsInProgress`, throttling) goes
  back to the queue, which offers it again `RETRY_AFTER_SECONDS` later, up to
  `MAX_RECEIVES` times, then to a dead-letter queue with an alarm.

The local stack caches nothing, so it has no queue and `invalidate` does nothing there.

Imported by the CDK app for the constants: nothing here imports boto3 at module level.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from imgpro import keys
from imgpro.config import settings

logger = logging.getLogger("imgpro")

INVALIDATION_WORKER = "invalidate"
"""The worker's folder under `functions/`, and its name in `ImgProStack.functions`."""
MAX_PATHS_PER_INVALIDATION = 3_000
"""CloudFront's limit on exact paths in progress at once per distribution: no message,
and so no invalidation, asks for more (100 media of 12 paths each take 1,200)."""
RETRY_AFTER_SECONDS = 300
"""The queue's visibility timeout: a refused invalidation is offered again this long
after its try. CloudFront completes an invalidation within minutes."""
MAX_RECEIVES = 10
"""Tries of one message before it goes to the dead-letter queue: 10 x 5 minutes is
most of an hour of CloudFront keeping invalidations in progress."""

RETRY_LATER = frozenset({"TooManyInvalidationsInProgress", "Throttling"})
"""CloudFront's refusals that mean "not now": the message is tried again later."""


class Cached(Protocol):
    """What the edge may hold answers for: a media item (a record, an expired image)."""

    @property
    def uid(self) -> str: ...

    @property
    def ext(self) -> str | None: ...


@dataclass(frozen=True)
class Message:
    """One invalidation: what the queue carries, as JSON."""

    reason: str
    media: tuple[str, ...]
    paths: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "media": self.media, "paths": self.paths})

    @classmethod
    def from_json(cls, body: str) -> Message:
        """Raises ValueError for a body that is not a message of ours."""
        data = json.loads(body)
        paths = data.get("paths") if isinstance(data, dict) else None
        if not isinstance(paths, list) or not paths or len(paths) > MAX_PATHS_PER_INVALIDATION:
            raise ValueError("an invalidation message names 1 to 3,000 paths")
        if not all(isinstance(path, str) and path.startswith("/") for path in paths):
            raise ValueError("invalidation paths start with /")
        media = data.get("media") or []
        return cls(reason=str(data.get("reason", "")), media=tuple(media), paths=tuple(paths))


def edge_paths(uid: str, ext: str | None) -> list[str]:
    """Every path the edge may hold an answer for one item under: its public side.

    Public objects are cached for a year; private ones carry `Cache-Control: private`,
    which the cache policy (minimum TTL 0) honours, so no edge ever stores their bytes.
    The public side is also where a 404 cached while the item was private would keep a
    newly public item hidden (origin 404s are cached for minutes: infra/cdn.py).
    """
    return keys.cdn_paths(uid, ext, private=False)


def invalidate(media: Iterable[Cached], *, reason: str) -> bool:
    """Queue the invalidation of what the edge holds of `media`: one message (one
    CreateInvalidation) for all of them, more only past 3,000 paths. Call it once per
    request, after the objects are gone from the side they leave, so that no edge fetches
    them again. Whether everything was queued (True with nothing to queue); never raises.
    """
    messages = _messages(media, reason=reason)
    queue_url = settings().invalidation_queue_url
    if not messages or queue_url is None:
        return True  # nothing to forget, or the local stack: nothing caches there
    queued = True
    for message in messages:
        try:
            _sqs().send_message(QueueUrl=queue_url, MessageBody=message.to_json())
        except Exception:
            queued = False
            # The change stands (the database is the truth); the edge keeps the old
            # answers until an operator runs this, or until they expire (docs/cdn.md).
            logger.exception(
                "CDN INVALIDATION NOT QUEUED (%s of %s): the edge may serve them until "
                "invalidated by hand: aws cloudfront create-invalidation --distribution-id "
                "%s --paths %s",
                message.reason,
                " ".join(message.media),
                settings().distribution_id or "<DistributionId>",
                " ".join(shlex.quote(path) for path in message.paths),
            )
    return queued


def _messages(media: Iterable[Cached], *, reason: str) -> list[Message]:
    """The messages for `media`: one, unless their paths pass CloudFront's limit; an
    item's paths are never split between two."""
    batches: list[tuple[list[str], list[str]]] = []
    seen: set[str] = set()
    for item in media:
        if item.uid in seen:
            continue
        seen.add(item.uid)
        paths = edge_paths(item.uid, item.ext)
        if not paths:
            continue
        if not batches or len(batches[-1][1]) + len(paths) > MAX_PATHS_PER_INVALIDATION:
            batches.append(([], []))
        batches[-1][0].append(item.uid)
        batches[-1][1].extend(paths)
    return [Message(reason, tuple(uids), tuple(paths)) for uids, paths in batches]


def caller_reference(message_id: str, paths: Sequence[str]) -> str:
    """The CallerReference of one message's invalidation: the same for every delivery
    of that message, so a redelivery after a success CloudFront did not get to tell us
    about is the same invalidation (not created or billed twice); different for two
    requests that happen to name the same paths."""
    digest = hashlib.sha256("\n".join([message_id, *paths]).encode()).hexdigest()
    return f"imgpro-{digest[:40]}"


def create_invalidation(paths: Sequence[str], *, reference: str) -> str:
    """One CreateInvalidation of `paths` on the configured distribution; its id."""
    distribution = settings().distribution_id
    if not distribution:
        from imgpro.config import DISTRIBUTION_ID, ConfigError

        raise ConfigError(f"environment variable {DISTRIBUTION_ID} is required")
    response = _cloudfront().create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": list(paths)},
            "CallerReference": reference,
        },
    )
    return str(response["Invalidation"]["Id"])


def error_code(error: BaseException) -> str:
    """A botocore ClientError's code ("" for anything else)."""
    response: Any = getattr(error, "response", None)
    return str(((response or {}).get("Error") or {}).get("Code", ""))


@lru_cache(maxsize=1)
def _cloudfront() -> Any:
    import boto3

    return boto3.client("cloudfront")


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")
