"""multipart/form-data bodies, parsed by python-multipart (the parser Starlette uses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from imgpro.errors import BadRequest

_MAX_PARTS = 32
_MAX_FIELD_BYTES = 64 * 1024

MAX_BOUNDARY_LENGTH = 70
"""RFC 2046's limit. Every client checked stays within it (curl 40 characters, urllib3 and
so requests 32, Python's email package 36, Node's undici 32 and form-data 50, WebKit and
Chrome 38, Firefox 55, Go 60, .NET 36, Dart 70): a longer one is a hand-made request."""

# RFC 2046 allows only `bchars` (letters, digits, space and '()+_,-./:=?) but the
# upload snippets copied into many Android apps use "*****<millis>*****", and
# python-multipart treats every byte the same; so any visible ASCII is accepted.
# Control characters stay out: python-multipart's search relies on the boundary
# holding no CR, and no client puts a tab, NUL or non-ASCII byte in one.
_BOUNDARY_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x7F))


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


def parse_form(body: bytes, content_type: str) -> Form:
    """Fields and files of a form; a repeated name keeps its last value.

    Raises BadRequest when the body is not well-formed multipart.
    """
    mime, options = _options(content_type)
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or boundary is None:
        raise BadRequest("Content-Type must be multipart/form-data with a boundary")
    _check_boundary(boundary)

    parts: list[_Part] = []
    header_name: list[bytes] = []
    header_value: list[bytes] = []

    def on_part_begin() -> None:
        if len(parts) >= _MAX_PARTS:
            raise BadRequest(f"A form may have at most {_MAX_PARTS} parts")
        parts.append(_Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        part.chunks.append(data[start:end])
        part.size += end - start

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.append(data[start:end])

    def on_header_end() -> None:
        name = b"".join(header_name).decode("latin-1").strip().lower()
        # Latin-1 keeps every byte: python-multipart's header parser re-encodes text as
        # Latin-1, and browsers send non-ASCII filenames as raw UTF-8 bytes.
        parts[-1].headers[name] = b"".join(header_value).decode("latin-1").strip()
        header_name.clear()
        header_value.clear()

    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": on_part_begin,
                "on_part_data": on_part_data,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
            },
        )
        parser.write(body)
        parser.finalize()
    except BadRequest:
        raise
    except Exception as exc:
        # python-multipart's own errors are ValueErrors (FormParserError from the
        # constructor, MultipartParseError while parsing), but whatever it raises on
        # the bytes a client sent is that client's malformed body, not a server fault.
        raise BadRequest(f"The multipart body is malformed: {exc}") from None

    form = Form()
    for part in parts:
        _, disposition = _options(part.headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            continue
        data = b"".join(part.chunks)
        # Only the plain `filename` parameter: python-multipart drops RFC 5987's
        # `filename*=UTF-8''...` because RFC 7578 forbids it in forms, so a part that
        # has only `filename*` is read as a field, not a file.
        filename = disposition.get(b"filename")
        if filename is not None:
            form.files[name] = UploadedFile(
                filename=filename.decode("utf-8", "replace"),
                content_type=part.headers.get("content-type", "application/octet-stream"),
                data=data,
            )
        else:
            if part.size > _MAX_FIELD_BYTES:
                raise BadRequest(f"Form field '{name}' is over {_MAX_FIELD_BYTES} bytes")
            form.fields[name] = data.decode("utf-8", "replace")
    return form


def _check_boundary(boundary: bytes) -> None:
    """BadRequest unless the boundary is one RFC 2046 allows (with any visible ASCII)."""
    if not boundary:
        raise BadRequest("The multipart boundary is empty")
    if len(boundary) > MAX_BOUNDARY_LENGTH:
        raise BadRequest(
            f"The multipart boundary is {len(boundary)} characters long; "
            f"at most {MAX_BOUNDARY_LENGTH} are allowed (RFC 2046)"
        )
    if not set(boundary.decode("latin-1")) <= _BOUNDARY_CHARACTERS:
        raise BadRequest(
            "The multipart boundary may contain only visible ASCII characters and spaces"
        )
    if boundary.endswith(b" "):
        raise BadRequest("The multipart boundary must not end with a space (RFC 2046)")


def _options(header: str) -> tuple[bytes, dict[bytes, bytes]]:
    try:
        return parse_options_header(header)
    except (UnicodeError, ValueError):
        raise BadRequest("A multipart header could not be parsed") from None
