"""A team's metadata privacy (`imgpro team put --strip-metadata gps|all`), through the real
handlers: what the stored original keeps, for uploads, imports and large uploads."""

from __future__ import annotations

import io
import struct

import boto3
import pytest
from PIL import ExifTags, Image, ImageCms, ImageOps

from tests.conftest import BUCKET
from tests.support import images, origin

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
_IPTC = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0b\x1c\x02\x78\x00\x06Paris!"
_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Secret Editor"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _camera_jpeg() -> bytes:
    """A phone photo: EXIF orientation 6 with GPS, make and model, XMP, Photoshop/IPTC, a
    comment and an ICC profile."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera Maker"
    exif[0x0110] = "Model X"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (48.0, 51.0, 29.5), 3: "E"})
    out = io.BytesIO()
    images.photo((64, 48)).save(
        out, "JPEG", exif=exif, xmp=_XMP, icc_profile=_SRGB, comment=b"a secret comment"
    )
    data = out.getvalue()
    return data[:2] + b"\xff\xed" + struct.pack(">H", len(_IPTC) + 2) + _IPTC + data[2:]


def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment of the header, up to the first scan."""
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack_from(">H", data, pos + 2)
        found.append((data[pos + 1], data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found


def _stored(body: dict) -> bytes:
    key = images.stored_key(body)
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _shown_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return (ImageOps.exif_transpose(image) or image).size


def _assert_stripped(stored: bytes, original: bytes) -> None:
    """No EXIF but orientation 6, no XMP, no IPTC, no comment; the profile and the scans
    kept, and the image shown the same way up."""
    markers = [marker for marker, _ in _segments(stored)]
    assert 0xED not in markers and 0xFE not in markers
    app1 = [payload for marker, payload in _segments(stored) if marker == 0xE1]
    assert len(app1) == 1 and app1[0].startswith(b"Exif\x00\x00")
    with Image.open(io.BytesIO(stored)) as image:
        exif = image.getexif()
        assert dict(exif) == {0x0112: 6}
        assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert "xmp" not in image.info and "comment" not in image.info
        assert image.info["icc_profile"] == _SRGB
    for secret in (b"Camera Maker", b"Model X", b"Secret Editor", b"Photoshop", b"a secret"):
        assert secret not in stored, secret
    assert stored[stored.index(b"\xff\xda") :] == original[original.index(b"\xff\xda") :]
    assert _shown_size(stored) == _shown_size(original) == (48, 64)


@pytest.fixture
def strict(tokens) -> None:
    from imgpro import teams

    teams.put_team("acme", plan="growth", strip_metadata="all")


def test_a_team_set_to_all_stores_uploads_with_only_orientation_and_profile(api, strict) -> None:
    original = _camera_jpeg()
    response = api.upload("acme", original)
    assert response.status == 201
    body = response.json()
    assert (body["width"], body["height"]) == (48, 64)
    _assert_stripped(_stored(body), original)


def test_by_default_only_location_goes(api) -> None:
    original = _camera_jpeg()
    stored = _stored(api.upload("acme", original).json())
    for kept in (b"Camera Maker", b"Secret Editor", b"Photoshop", b"a secret comment"):
        assert kept in stored, kept
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


def test_a_team_set_to_all_stores_imports_stripped(api, strict, monkeypatch) -> None:
    from imgpro import config, importing

    original = _camera_jpeg()
    monkeypatch.setattr(origin, "PHOTO", original)
    with origin.serving() as server:
        monkeypatch.setenv(config.IMPORT_ALLOW_CIDRS, "127.0.0.0/8")
        config.settings.cache_clear()
        importing.policy.cache_clear()
        try:
            response = api.post(
                "/v1/import", token="acme", json_body={"url": f"{server.base_url}/photo.jpg"}
            )
        finally:
            config.settings.cache_clear()
            importing.policy.cache_clear()
    assert response.status == 201, response.json()
    _assert_stripped(_stored(response.json()), original)


def test_a_team_set_to_all_stores_large_uploads_stripped(api, strict) -> None:
    from tests.handlers.test_large_upload import _land

    original = _camera_jpeg()
    announced = api.post(
        "/v1/upload/direct",
        token="acme",
        json_body={"name": "big.jpg", "filesize": len(original)},
    ).json()
    _land(announced["id"], original)
    body = api.get(f"/v1/media/{announced['id']}", token="acme").json()
    assert "src" in body, body  # ready: the worker stored it
    _assert_stripped(_stored(body), original)
