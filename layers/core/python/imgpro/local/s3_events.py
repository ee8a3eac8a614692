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
`content-length-range`; `inspect` answers those with S3's own error, before moto.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from io import BytesIO
from typing import Any
from urllib.parse import parse_qsl, quote_plus
from xml.sax.saxutils import escape

from python_multipart.multipart import MultipartParser, parse_options_header

from imgpro.routes import Worker

REGION = "us-east-1"
# Who S3 says owns the bucket and made the request: no handler reads them, and locally
# nobody signs for real.
OWNER_ID = "A3LOCALIMGPROOWNER"
PRINCIPAL_ID = "AWS:AIDALOCALIMGPRO"
# A handful of uploads at a time: each worker holds a whole decoded image in memory.
MAX_CONCURRENT_WORKERS = 4
# Form fields a POST policy need not mention (S3's documented exceptions).
_EXEMPT_FIELDS = frozenset({"policy", "file", "x-amz-signature", "awsaccesskeyid", "signature"})
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


@dataclass(frozen=True)
class S3Error:
    """An S3 error response, as S3 spells it."""

    status: int
    code: str
    message: str
    details: tuple[tuple[str, str], ...] = ()
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16].upper())

    @property
    def body(self) -> bytes:
        elements = [("Code", self.code), ("Message", self.message), *self.details]
        elements += [("RequestId", self.request_id), ("HostId", self.request_id)]
        inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(self.body))),
            ("x-amz-request-id", self.request_id),
        ]


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


@dataclass
class _Form:
    fields: dict[str, str] = field(default_factory=dict)
    """Fields before the file, by lower-case name: S3 ignores any after it."""
    filename: str | None = None
    file_size: int | None = None


def _inspect_form(
    environ: dict[str, Any], bucket: str, content_type: str, source_ip: str
) -> ObjectWrite | S3Error:
    body = _read_body(environ)
    try:
        form = _parse_form(body, content_type)
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
        refused = _check_policy(form.fields["policy"], form, bucket)
        if refused is not None:
            return refused
    # As S3 (and moto) do: the browser's file name, without any folders, fills ${filename}.
    key = raw_key.replace("${filename}", os.path.basename(form.filename or ""))
    return ObjectWrite(bucket, key, "ObjectCreated:Post", source_ip)


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, read once; moto then reads the same bytes from a fresh stream."""
    stream = environ["wsgi.input"]
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()  # chunked: the server ends the stream with the body
    else:
        body = b""
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    # Now de-chunked: moto wants the Content-Length a browser's form always has.
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _parse_form(body: bytes, content_type: str) -> _Form:
    """The fields up to the `file` part and that part's name and size; ValueError if the
    body is not multipart/form-data."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ValueError("no multipart boundary")
    form = _Form()
    part = _Part()

    def on_part_begin() -> None:
        nonlocal part
        part = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value += data[start:end]

    def on_header_end() -> None:
        name = part.header_name.decode("latin-1").strip().lower()
        part.headers[name] = part.header_value
        part.header_name, part.header_value = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part.size += end - start
        # The file (up to 5 GB in S3) is only counted; fields are kept.
        if part.name != "file" and form.file_size is None:
            part.chunks.append(data[start:end])

    def on_part_end() -> None:
        if form.file_size is not None or not part.name:
            return
        if part.name == "file":
            form.file_size, form.filename = part.size, part.filename
        else:
            form.fields.setdefault(part.name, b"".join(part.chunks).decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": lambda: part.read_disposition(),
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as error:  # python-multipart raises several unrelated error types
        raise ValueError(str(error)) from None
    return form


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    name: str = ""
    """The field name, lower-case: S3 matches policy conditions case-insensitively."""
    filename: str = ""
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def read_disposition(self) -> None:
        _, disposition = parse_options_header(self.headers.get("content-disposition", b""))
        self.name = disposition.get(b"name", b"").decode("utf-8", "replace").lower()
        self.filename = disposition.get(b"filename", b"").decode("utf-8", "replace")


def _policy_failure(message: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _invalid_policy(message: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def _check_policy(encoded: str, form: _Form, bucket: str) -> S3Error | None:
    """S3's answer to a form its policy does not allow, or None if the policy allows it."""
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return _invalid_policy("Invalid JSON.")
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list):
        return _invalid_policy("Policy missing conditions.")
    expiration = _expiration(policy.get("expiration"))
    if expiration is None:
        return _invalid_policy("Invalid 'expiration' value.")
    if expiration <= datetime.now(UTC):
        return _policy_failure("Policy expired.")
    values = {**form.fields, "bucket": bucket}
    mentioned: set[str] = set()
    size_ranges: list[tuple[int, int]] = []
    for condition in policy["conditions"]:
        if _is_size_range(condition):
            size_range = _size_range(condition)
            if size_range is None:
                return _invalid_policy(f"Invalid content-length-range: {json.dumps(condition)}")
            size_ranges.append(size_range)
            continue
        parsed = _field_condition(condition)
        if parsed is None:
            return _invalid_policy(f"Invalid Policy condition: {json.dumps(condition)}")
        operator, name, expected = parsed
        mentioned.add(name)
        actual = values.get(name)
        if actual is None or not (
            actual == expected if operator == "eq" else actual.startswith(expected)
        ):
            shown = json.dumps([operator, f"${name}", expected])
            return _policy_failure(f"Policy Condition failed: {shown}")
    extra = [
        name
        for name in form.fields
        if name not in mentioned and name not in _EXEMPT_FIELDS and not name.startswith("x-ignore-")
    ]
    if extra:
        return _policy_failure(f"Extra input fields: {', '.join(extra)}")
    return _check_size(form.file_size or 0, size_ranges)


def _expiration(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _field_condition(condition: Any) -> tuple[str, str, str] | None:
    """(operator, lower-case field name, value) of an `eq` or `starts-with` condition;
    None if S3 would not accept it."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        return ("eq", str(name).lower(), value) if isinstance(value, str) else None
    if not isinstance(condition, list) or len(condition) != 3:
        return None
    operator, name, value = condition
    operator = str(operator).lower()
    if operator in ("eq", "starts-with") and str(name).startswith("$") and isinstance(value, str):
        return operator, str(name)[1:].lower(), value
    return None


def _is_size_range(condition: Any) -> bool:
    return (
        isinstance(condition, list)
        and bool(condition)
        and str(condition[0]).lower() == "content-length-range"
    )


def _size_range(condition: list[Any]) -> tuple[int, int] | None:
    if len(condition) != 3:
        return None
    low, high = (_integer(bound) for bound in condition[1:])
    return (low, high) if low is not None and high is not None else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _check_size(size: int, ranges: Sequence[tuple[int, int]]) -> S3Error | None:
    for low, high in ranges:
        if size > high:
            return S3Error(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                (("ProposedSize", str(size)), ("MaxSizeAllowed", str(high))),
            )
        if size < low:
            return S3Error(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                (("ProposedSize", str(size)), ("MinSizeAllowed", str(low))),
            )
    return None
