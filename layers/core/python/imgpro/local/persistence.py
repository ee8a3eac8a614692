"""`imgpro local --data-dir DIR`: the local stack's state, kept on disk between runs.

moto holds S3 and DynamoDB in memory. With a data directory (`imgpro.local.data_dir`), the
stack copies that state to the folder while it runs (within `SAVE_INTERVAL_SECONDS` of a
change moto received) and once more as it stops, and loads it back into moto at the next
start, through the same S3 and DynamoDB APIs the handlers use. So teams, tokens, media
records, rate-limit and quota counters, every object (originals, variants, uploads waiting
for their worker) and the local clock's offset survive a restart.

Crash-tolerant: state.json, written last and all at once, names only blobs already on
disk, and blobs it no longer names are deleted only after it. A stack killed outright
(SIGKILL, power cut) comes back as of its last save. Not kept: multipart uploads in
progress (their parts live in moto only, and S3's API reads no part back), and moto's
own bookkeeping (the table and bucket are made again by `imgpro.provision`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from imgpro import clock
from imgpro.local.data_dir import FORMAT, STATE_FILE, DataDir, write_atomically

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

SAVE_INTERVAL_SECONDS = 2.0
_BATCH_WRITE = 25  # DynamoDB's limit per BatchWriteItem, kept though moto has none
# The object headers S3 stores and returns, as GetObject and PutObject both spell them.
_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding")
# DynamoDB operations that change nothing: every other one counts as a change.
_DYNAMODB_READS = frozenset(
    {
        "BatchGetItem",
        "DescribeContinuousBackups",
        "DescribeEndpoints",
        "DescribeLimits",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListTables",
        "ListTagsOfResource",
        "Query",
        "Scan",
        "TransactGetItems",
    }
)

logger = logging.getLogger("imgpro.local")


def changes_state(environ: Mapping[str, Any]) -> bool:
    """Whether a request moto answered may have changed S3 or DynamoDB (WSGI environ).

    DynamoDB takes every operation as a POST and names it in X-Amz-Target; S3 changes
    only on PUT, POST and DELETE. A refused write counts too: cheaper than looking.
    """
    method = str(environ.get("REQUEST_METHOD", "GET"))
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target.startswith("DynamoDB_"):
        return target.partition(".")[2] not in _DYNAMODB_READS
    return True


@dataclass(frozen=True)
class Restored:
    """What a start loaded from the data directory."""

    items: int = 0
    objects: int = 0
    clock_offset: float | None = None
    """The offset the clock was put back to; None when not moved (none saved, or
    IMGPRO_CLOCK_OFFSET_SECONDS set, which wins)."""


class Persistence:
    """Copies the table and the bucket between moto and a `DataDir`.

    `note_request` (moto's request hook) counts changes; a thread saves within
    `interval` seconds of one (`start`, `stop`), and `save` saves at once.
    """

    def __init__(
        self,
        data_dir: DataDir,
        *,
        table: str,
        bucket: str,
        dynamodb: DynamoDBClient,
        s3: S3Client,
        aws_port: Callable[[], int],
        interval: float = SAVE_INTERVAL_SECONDS,
    ) -> None:
        self.data_dir = data_dir
        self.table = table
        self.bucket = bucket
        self.interval = interval
        self._dynamodb = dynamodb
        self._s3 = s3
        self._aws_port = aws_port
        self._changes = 0
        self._saved_changes = 0
        self._saved_offset = clock.offset()
        self._objects: dict[str, dict[str, Any]] = {}
        """The objects as last saved or restored, by key: what the next save may skip."""
        self._lock = threading.Lock()
        """One save at a time."""
        self._counting = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # Changes

    def note_request(self, environ: Mapping[str, Any]) -> None:
        """moto answered a request: count it if it may have changed something."""
        if changes_state(environ):
            # A lock of its own: a request must never wait for a save under way.
            with self._counting:
                self._changes += 1

    @property
    def dirty(self) -> bool:
        return self._changes != self._saved_changes or clock.offset() != self._saved_offset

    # Loading

    def restore(self, *, keep_clock: bool = False) -> Restored:
        """Load the saved state into moto's (new, empty) table and bucket. Objects under
        a worker's prefix make moto's notifications run the worker, as an upload whose
        processing the last stop cut short is processed again. `keep_clock`: leave the
        clock's offset as it is (set by IMGPRO_CLOCK_OFFSET_SECONDS)."""
        state = self.data_dir.saved
        if state is None:
            return Restored()
        offset: float | None = None
        saved_offset = state.get("clock_offset_seconds")
        if not keep_clock and isinstance(saved_offset, int | float) and saved_offset:
            clock.set_offset(float(saved_offset))
            offset = float(saved_offset)
        items = [_item_from_json(item) for item in state.get("items", [])]
        self._put_items(items)
        objects: dict[str, dict[str, Any]] = dict(state.get("objects", {}))
        restored = 0
        for key, entry in objects.items():
            if self._put_object(key, entry):
                restored += 1
        # The restored objects have new dates (and single-part ETags): read them back, so
        # the next save does not copy every one of them again.
        listed = {obj["Key"]: obj for obj in self._listing()}
        self._objects = {
            key: {**entry, **_identity(listed[key])}
            for key, entry in objects.items()
            if key in listed
        }
        self._saved_changes = self._changes
        self._saved_offset = clock.offset()
        return Restored(items=len(items), objects=restored, clock_offset=offset)

    def _put_items(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            requests: list[Any] = [
                {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]
            ]
            while requests:
                answer = self._dynamodb.batch_write_item(RequestItems={self.table: requests})
                requests = list(answer.get("UnprocessedItems", {}).get(self.table, []))

    def _put_object(self, key: str, entry: Mapping[str, Any]) -> bool:
        blob = self.data_dir.blobs / str(entry.get("blob", ""))
        try:
            body = blob.read_bytes()
        except OSError:
            logger.warning("data dir: the bytes of %s are missing (%s); skipped", key, blob)
            return False
        extra: dict[str, Any] = {name: entry[name] for name in _HEADERS if entry.get(name)}
        if entry.get("Metadata"):
            extra["Metadata"] = dict(entry["Metadata"])
        if entry.get("Tags"):
            extra["Tagging"] = urlencode(entry["Tags"])
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        return True

    # Saving

    def save(self, *, force: bool = False) -> bool:
        """Copy moto's state to the folder now; False if nothing changed since the last
        save (unless `force`)."""
        with self._lock:
            if not (force or self.dirty or self.data_dir.saved is None):
                return False
            changes, offset = self._changes, clock.offset()
            # Items first: an upload under way then shows as an object without its
            # record (harmless) rather than a record without its bytes.
            items = [_item_to_json(item) for item in self._scan()]
            objects = self._copy_objects()
            state = {
                "format": FORMAT,
                "saved_at": int(time.time()),
                "aws_port": self._aws_port(),
                "clock_offset_seconds": offset,
                "table": self.table,
                "bucket": self.bucket,
                "items": items,
                "objects": objects,
            }
            write_atomically(
                self.data_dir.path / STATE_FILE,
                json.dumps(state, separators=(",", ":")).encode(),
                private=True,
            )
            self.data_dir.saved = state
            self._objects = objects
            self._saved_changes, self._saved_offset = changes, offset
            self._collect_garbage()
            return True

    def _scan(self) -> Iterator[dict[str, Any]]:
        pages = self._dynamodb.get_paginator("scan").paginate(
            TableName=self.table, ConsistentRead=True
        )
        for page in pages:
            yield from page.get("Items", [])

    def _listing(self) -> Iterator[Mapping[str, Any]]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        for page in pages:
            yield from page.get("Contents", [])

    def _copy_objects(self) -> dict[str, dict[str, Any]]:
        """Every object's entry; the bytes of new or changed ones copied to blobs."""
        objects: dict[str, dict[str, Any]] = {}
        for listed in self._listing():
            key = listed["Key"]
            known = self._objects.get(key)
            if known is not None and all(known.get(n) == v for n, v in _identity(listed).items()):
                objects[key] = known
                continue
            entry = self._copy_object(key)
            if entry is not None:  # None: deleted since the listing
                objects[key] = entry
        return objects

    def _copy_object(self, key: str) -> dict[str, Any] | None:
        try:
            got = self._s3.get_object(Bucket=self.bucket, Key=key)
            body = got["Body"].read()
            tags = self._s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        except self._s3.exceptions.NoSuchKey:
            return None
        digest = hashlib.sha256(body).hexdigest()
        blob = self.data_dir.blobs / digest
        if not blob.exists():
            write_atomically(blob, body, private=True)
        entry: dict[str, Any] = {
            "blob": digest,
            "ETag": got["ETag"],
            "LastModified": got["LastModified"].isoformat(),
            "Size": len(body),
        }
        got_any: Mapping[str, Any] = got
        entry.update({name: got_any[name] for name in _HEADERS if got_any.get(name)})
        if got.get("Metadata"):
            entry["Metadata"] = dict(got["Metadata"])
        if tags:
            entry["Tags"] = {tag["Key"]: tag["Value"] for tag in tags}
        return entry

    def _collect_garbage(self) -> None:
        """Delete blobs no saved object names, and temporary files a crash left."""
        wanted = {str(entry.get("blob")) for entry in self._objects.values()}
        for path in self.data_dir.blobs.iterdir():
            if path.name not in wanted:
                with contextlib.suppress(OSError):
                    path.unlink()

    # The saving thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="imgpro-local-save", daemon=True)
        self._thread.start()

    def save_soon(self) -> None:
        """Have the thread save now rather than at the end of its interval: as the stack
        stops, the last `save` then has only the changes made since to copy."""
        self._wake.set()

    def stop(self, *, timeout: float) -> None:
        """Stop saving in the background (a save under way is waited for, up to `timeout`)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.save()
            except Exception:
                if not self._stopping.is_set():
                    logger.exception(
                        "saving the local stack's state to %s failed", self.data_dir.path
                    )


def _identity(listed: Mapping[str, Any]) -> dict[str, Any]:
    """What tells a listed object changed: a new write changes its date, if not its ETag."""
    return {
        "ETag": listed["ETag"],
        "LastModified": listed["LastModified"].isoformat(),
        "Size": listed["Size"],
    }


# DynamoDB JSON with binary values (bytes from boto3) as base64 text, and back.


def _item_to_json(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value_to_json(value) for name, value in item.items()}


def _value_to_json(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(part).decode("ascii") for part in inner]}
    if kind == "M":
        return {"M": _item_to_json(inner)}
    if kind == "L":
        return {"L": [_value_to_json(part) for part in inner]}
    return {kind: inner}


def _item_from_json(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value_from_json(value) for name, value in item.items()}


def _value_from_json(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(part) for part in inner]}
    if kind == "M":
        return {"M": _item_from_json(inner)}
    if kind == "L":
        return {"L": [_value_from_json(part) for part in inner]}
    return {kind: inner}
