"""What S3 does around a write that moto does not: POST policies and object-created events.

In AWS, an object created under a worker's prefix (`imgpro.routes.WORKERS`) makes S3
invoke that worker asynchronously with an S3 event. moto records the object and
invokes nothing, so the local stack's moto wrapper (`imgpro.local.aws`) asks this
module, per request, whether it writes an object (`S3Notifications.inspect`), which
events the completed write makes (`S3Notifications.created`, called while moto is
locked, to see the stored object), and runs the workers on them in threads of its own
(`S3Notifications.dispatch`, called after moto is unlocked: the workers call moto).

moto also accepts any presigned POST, whatever its policy says. S3 refuses a form
whose policy has expired, whose fields break a condition or whose file is outside the
`content-length-range`; `inspect` answers those with S3's own error, before moto
(the checks themselves are in `imgpro.local.s3_post`).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from imgpro.local.s3_post import S3Error, check_policy, parse_form, read_body
from imgpro.routes import Worker

REGION = "us-east-1"
# Who S3 says owns the bucket and made the request: no handler reads them, and locally
# nobody signs for real.
OWNER_ID = "A3LOCALIMGPROOWNER"
PRINCIPAL_ID = "AWS:AIDALOCALIMGPRO"
# A handful of uploads at a time: each worker holds a whole decoded image in memory.
MAX_CONCURRENT_WORKERS = 4

# A PUT with one of these in its query string changes an existing object or writes part
# of an upload; only a plain PUT (presigned or not) creates an object.
_PUT_SUBRESOURCES = frozenset(
    {"acl", "legal-hold", "partnumber", "retention", "tagging", "uploadid", "torrent"}
)

logger = logging.getLogger("imgpro.local")

Invoke = Callable[[str, dict[str, Any]], Any]
WorkerEvent = tuple[Worker, dict[str, Any]]
"""A worker and the event to invoke it with."""


@dataclass(frozen=True)
class StoredObject:
    """What an event says about the object: read from moto once the write is done."""

    size: int
    etag: str
    """Without the quotes the ETag header has."""
    version_id: str | None = None
    """Only for a versioned bucket, as in S3's events."""


ObjectLookup = Callable[[str, str], "StoredObject | None"]


@dataclass(frozen=True)
class ObjectWrite:
    """A request that creates `bucket`/`key` if it succeeds."""

    bucket: str
    key: str
    event_name: str
    """`ObjectCreated:Put`, `:Post`, `:Copy` or `:CompleteMultipartUpload`."""
    source_ip: str


class S3Notifications:
    """Object-created events of one bucket, delivered to the workers whose prefix matches."""

    def __init__(
        self,
        *,
        bucket: str,
        workers: Sequence[Worker],
        invoke: Invoke,
        lookup: ObjectLookup,
        max_workers: int = MAX_CONCURRENT_WORKERS,
    ) -> None:
        """`invoke(function, event)` runs a worker's handler; `lookup(bucket, key)` reads
        the stored object's size and ETag."""
        self.bucket = bucket
        self.workers = tuple(workers)
        self._invoke = invoke
        self._lookup = lookup
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="imgpro-local-worker")
        self._sequencer = _Sequencer()

    def inspect(self, environ: dict[str, Any]) -> ObjectWrite | S3Error | None:
        """The object this request would create, the error S3 would answer instead, or
        None for a request that creates nothing. May replace `wsgi.input` (same bytes)."""
        method = environ.get("REQUEST_METHOD", "")
        bucket, key = _bucket_and_key(environ)
        if not bucket or method not in ("PUT", "POST"):
            return None
        query = {
            name.lower()
            for name, _ in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        }
        source_ip = str(environ.get("REMOTE_ADDR", "127.0.0.1"))
        if method == "PUT" and key and not query & _PUT_SUBRESOURCES:
            copied = "HTTP_X_AMZ_COPY_SOURCE" in environ
            event_name = "ObjectCreated:Copy" if copied else "ObjectCreated:Put"
            return ObjectWrite(bucket, key, event_name, source_ip)
        if method == "POST" and key and "uploadid" in query:
            return ObjectWrite(bucket, key, "ObjectCreated:CompleteMultipartUpload", source_ip)
        content_type = environ.get("CONTENT_TYPE", "")
        if method == "POST" and not key and content_type.startswith("multipart/form-data"):
            return _inspect_form(environ, bucket, content_type, source_ip)
        return None

    def created(
        self, write: ObjectWrite, *, status: int, response_headers: Mapping[str, str]
    ) -> list[WorkerEvent]:
        """The events a completed write makes, one per worker it triggers.

        Call it while moto is locked: it reads the object moto stored.
        """
        if not 200 <= status < 300 or write.bucket != self.bucket:
            return []
        workers = [w for w in self.workers if write.key.startswith(w.s3_prefix)]
        stored = self._lookup(write.bucket, write.key) if workers else None
        if stored is None:
            return []
        request_id = (
            response_headers.get("x-amz-request-id")
            or response_headers.get("x-amzn-requestid")
            or uuid.uuid4().hex[:16].upper()
        )
        record = partial(
            object_created_record,
            write,
            stored,
            request_id=request_id,
            sequencer=self._sequencer.next(),
        )
        return [
            (worker, {"Records": [record(configuration_id=f"imgpro-local-{worker.function}")]})
            for worker in workers
        ]

    def dispatch(self, events: Sequence[WorkerEvent]) -> None:
        """Queue each worker's handler, as Lambda queues an asynchronous invocation."""
        for worker, event in events:
            self._executor.submit(self._run, worker, event)

    def shutdown(self) -> None:
        """Let running workers finish; queued events are dropped, as the stack stops."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, worker: Worker, event: dict[str, Any]) -> None:
        try:
            self._invoke(worker.function, event)
        except Exception:
            # Lambda would retry an asynchronous event twice and then drop it. Locally a
            # worker that raises has a bug: it is logged with its traceback, not retried.
            record = event["Records"][0]
            logger.exception(
                "%s %s: worker %s failed; the event is dropped",
                record["eventName"],
                record["s3"]["object"]["key"],
                worker.function,
            )


def object_created_record(
    write: ObjectWrite,
    stored: StoredObject,
    *,
    configuration_id: str,
    request_id: str,
    sequencer: str,
    event_time: datetime | None = None,
) -> dict[str, Any]:
    """One record of an S3 event notification, shaped as S3 sends it (version 2.1)."""
    when = event_time or datetime.now(UTC)
    s3_object: dict[str, Any] = {
        # S3 URL-encodes the key, a space as `+`, and leaves `/` alone.
        "key": quote_plus(write.key, safe="/"),
        "size": stored.size,
        "eTag": stored.etag,
        "sequencer": sequencer,
    }
    if stored.version_id is not None:
        s3_object["versionId"] = stored.version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "eventName": write.event_name,
        "userIdentity": {"principalId": PRINCIPAL_ID},
        "requestParameters": {"sourceIPAddress": write.source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": write.bucket,
                "ownerIdentity": {"principalId": OWNER_ID},
                "arn": f"arn:aws:s3:::{write.bucket}",
            },
            "object": s3_object,
        },
    }


class _Sequencer:
    """S3's per-key ordering token: hex, growing with every event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def next(self) -> str:
        with self._lock:
            return f"{time.time_ns():016X}{next(self._counter) % 256:02X}"


def _bucket_and_key(environ: Mapping[str, Any]) -> tuple[str, str]:
    # Path-style only (`/<bucket>/<key>`): boto3 signs that way for an endpoint that is
    # an IP address, as the local stack's is. WSGI hands the decoded path over as
    # Latin-1 text; the key's real characters are its UTF-8 bytes.
    raw = str(environ.get("PATH_INFO", ""))
    try:
        path = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw
    bucket, _, key = path.removeprefix("/").partition("/")
    return bucket, key


# Browser-style form uploads (presigned POST)


def _inspect_form(
    environ: dict[str, Any], bucket: str, content_type: str, source_ip: str
) -> ObjectWrite | S3Error:
    body = read_body(environ)
    try:
        form = parse_form(body, content_type)
    except ValueError:
        return S3Error(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        )
    raw_key = form.fields.get("key")
    if raw_key is None:
        return S3Error(
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check "
            "the order of the fields.",
            (("ArgumentName", "key"), ("ArgumentValue", "")),
        )
    if form.file_size is None:
        return S3Error(
            400,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            (("ArgumentName", "file"), ("ArgumentValue", "0")),
        )
    if "policy" in form.fields:
        # Only the policy's rules are enforced. Its signature is not checked: moto
        # knows no secret key to check it against, and accepts any.
        refused = check_policy(form.fields["policy"], form, bucket)
        if refused is not None:
            return refused
    # As S3 (and moto) do: the browser's file name, without any folders, fills ${filename}.
    key = raw_key.replace("${filename}", os.path.basename(form.filename or ""))
    return ObjectWrite(bucket, key, "ObjectCreated:Post", source_ip)
