"""Presigned POST forms, checked the way S3 checks them (moto accepts any).

S3 refuses a form whose policy has expired, whose fields break a condition, or whose
file is outside the policy's `content-length-range`; the local stack answers those
with S3's own error XML before moto sees the request. Signatures are not checked:
moto knows no secret key to check them against.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from python_multipart.multipart import MultipartParser, parse_options_header

# Form fields a POST policy need not mention (S3's documented exceptions).
_EXEMPT_FIELDS = frozenset({"policy", "file", "x-amz-signature", "awsaccesskeyid", "signature"})


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


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    """Fields before the file, by lower-case name: S3 ignores any after it."""
    filename: str | None = None
    file_size: int | None = None


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole body, read once; moto then reads the same bytes from a fresh stream."""
    stream = environ["wsgi.input"]
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        body: bytes = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()  # chunked: the server ends the stream with the body
    else:
        body = b""
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    # Now de-chunked: moto wants the Content-Length a browser's form always has.
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def parse_form(body: bytes, content_type: str) -> Form:
    """The fields up to the `file` part and that part's name and size; ValueError if the
    body is not multipart/form-data."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ValueError("no multipart boundary")
    form = Form()
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


def check_policy(encoded: str, form: Form, bucket: str) -> S3Error | None:
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
