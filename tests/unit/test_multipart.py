from __future__ import annotations

import pytest
from urllib3.filepost import encode_multipart_formdata

from imgpro.errors import BadRequest
from imgpro.http.multipart import parse_form


def test_fields_and_files_are_parsed_byte_for_byte() -> None:
    payload = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"
    body, content_type = encode_multipart_formdata(
        [("description", "héllo"), ("file", ("a.bin", payload, "image/png"))]
    )
    form = parse_form(body, content_type)
    assert form.fields == {"description": "héllo"}
    assert form.files["file"].data == payload
    assert form.files["file"].filename == "a.bin"


def test_missing_boundary_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_form(b"x", "multipart/form-data")


def test_garbage_body_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_form(b"--b\r\nno headers end", "multipart/form-data; boundary=b")


def test_too_many_parts_are_refused() -> None:
    body, content_type = encode_multipart_formdata([(f"f{i}", "v") for i in range(40)])
    with pytest.raises(BadRequest, match="at most"):
        parse_form(body, content_type)
