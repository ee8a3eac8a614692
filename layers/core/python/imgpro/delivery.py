"""Serving image bytes: the CDN's two halves, in the same code for AWS and the local stack.

- `from_origin(key_path)` is what the resize function answers when CloudFront falls
  over to it because S3 has no object at that key: for a variant, it makes it from
  the original (one decode, one resample), stores it where S3 will have it next time,
  records it on the media item (so `sizes` shows it), and returns it.
- `deliver(path, query, headers)` is the viewer side, for the local stack only:
  what the CloudFront Function (infra/cdn_function.js) and the behaviors do in
  AWS: check a private URL's signature, pick the size and format, map the URL to
  its S3 key, serve the object, or fall over to `from_origin`.

Which paths exist and which keys they map to is `imgpro.keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from imgpro import keys, media, storage
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import IMAGE_CSP
from imgpro.singleflight import SingleFlight

_SIGNING_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")


@dataclass(frozen=True)
class Delivery:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _error(status: int, message: str) -> Delivery:
    return Delivery(status, {"Content-Type": "text/plain; charset=utf-8"}, f"{message}\n".encode())


_NOT_FOUND = _error(404, "Not found")


# --- the viewer side (the local stack's CDN) --------------------------------------------


def deliver(path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Delivery:
    match = keys.VIEWER_PATH.fullmatch(path)
    if not match:
        return _NOT_FOUND
    size = query.get("size")
    if size is not None and size not in keys.SIZES:
        return _error(400, f"size must be one of {', '.join(keys.SIZES)}")
    private = bool(match["private"])
    if private and not _signed(path, query):
        return _error(403, "Missing or invalid signature")
    key_path = keys.cdn_key_path(
        uid=match["uid"],
        ext=match["ext"],
        private=private,
        size=size,
        accepts_webp=accepts_webp(_header(headers, "accept")),
    )
    stored = storage.get_object(key_path.lstrip("/"))
    if stored is None:
        return from_origin(key_path)
    if stored.etag and stored.etag in _header(headers, "if-none-match"):
        return Delivery(304, {"ETag": stored.etag})
    return _image(stored.body, stored.content_type, private=private, etag=stored.etag)


def accepts_webp(accept: str) -> bool:
    """Whether an Accept header names image/webp with a non-zero quality (as the JS does)."""
    for media_range in accept.split(","):
        kind, *parameters = (part.strip().lower() for part in media_range.split(";"))
        if kind != "image/webp":
            continue
        quality = 1.0
        for parameter in parameters:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False


def _signed(path: str, query: Mapping[str, str]) -> bool:
    from imgpro import signing
    from imgpro.config import cdn_base_url

    if not all(name in query for name in _SIGNING_PARAMETERS):
        return False
    # The parameters in the order the signer wrote them: the canned policy's resource is
    # the URL without them, which must be rebuilt byte for byte.
    others = [(name, value) for name, value in query.items() if name not in _SIGNING_PARAMETERS]
    signed = [(name, query[name]) for name in _SIGNING_PARAMETERS]
    url = f"{cdn_base_url()}{path}?{urlencode(others + signed, safe='~')}"
    return signing.verify(url)


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


# --- the origin side (the resize function) -------------------------------------------------


_IN_FLIGHT: SingleFlight[Delivery] = SingleFlight()


def from_origin(key_path: str) -> Delivery:
    """Answer for an S3 key the bucket did not have: a variant to make, or an original
    still being moved between the public and private sides. Concurrent requests for
    the same key share one answer, so a variant is rendered once, not once each."""
    return _IN_FLIGHT.run(key_path, lambda: _from_origin(key_path))


def _from_origin(key_path: str) -> Delivery:
    match = keys.ORIGIN_PATH.fullmatch(key_path)
    if not match:
        return _NOT_FOUND
    uid = match["uid"] or match["vuid"]
    found = media.find_live(uid)
    private = bool(match["private"])
    # A URL of the other side (a public URL of media made private) serves nothing.
    if found is None or found.status != media.READY or found.is_public == private:
        return _NOT_FOUND
    if not found.object_key or not found.ext:
        return _NOT_FOUND
    if match["uid"] and match["ext"] != found.ext:
        return _NOT_FOUND
    original = storage.get_object(found.object_key, denied_means_missing=True)
    if original is None:
        return _NOT_FOUND
    if match["uid"] or not keys.variant_formats(found.ext):
        return _image(original.body, original.content_type, private=private, etag=original.etag)
    fmt = match["fmt"]
    if fmt not in keys.variant_formats(found.ext):
        return _NOT_FOUND
    return _make_variant(found, original.body, match["size"], fmt, private=private)


def _make_variant(
    found: media.Media, data: bytes, size: str, fmt: str, *, private: bool
) -> Delivery:
    from imgpro.imaging import formats
    from imgpro.imaging.variants import render

    by_ext = {f.ext: f for f in formats.STORED_AS_IS}
    try:
        variant = render(data, by_ext[found.ext], size, output=by_ext[fmt])
    except ImageRejected as refused:
        # An original stored before a budget limit changed: serving it whole is the
        # client's choice to make, not ours.
        return _error(422, f"{refused} No size variants are made of this image.")
    content_type = keys.CONTENT_TYPES[fmt]
    storage.put_variant(
        keys.variant_key(found.uid, size, fmt, private=private),
        variant.data,
        content_type=content_type,
        private=private,
    )
    media.record_variant(
        found.uid,
        media.SizeVariant(size, variant.width, variant.height, len(variant.data), fmt),
    )
    return _image(variant.data, content_type, private=private)


def _image(body: bytes, content_type: str, *, private: bool, etag: str = "") -> Delivery:
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Cache-Control": storage.cache_control(private=private),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_CSP,
    }
    if etag:
        headers["ETag"] = etag
    return Delivery(200, headers, body)
