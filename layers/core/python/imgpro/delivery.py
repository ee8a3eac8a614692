"""Serving image bytes: the CDN's two halves, in the same code for AWS and the local stack.

- `from_origin(key_path)` is what the resize function answers when CloudFront falls
  over to it because S3 has no object at that key. It reads the media item first, and
  answers 404 for an unknown, deleted or unservable URL from that read alone (no S3
  request, no decode; CloudFront keeps the 404 for minutes). For a variant, it makes it
  from the original (one decode, one resample), stores it where S3 will have it next
  time, records it on the media item (so `sizes` shows it), and returns it. A body too
  big for a Lambda response (`MAX_INLINE_BODY_BYTES`) is answered with a redirect to the
  viewer's own URL instead, which the stored object then serves.
- `deliver(path, query, headers)` is the viewer side, for the local stack only:
  what the CloudFront Functions (infra/cdn_function.js) and the behaviors do in
  AWS: check a private URL's signature, pick the size and format, map the URL to
  its S3 key, serve the object, or fall over to `from_origin`; `Vary: Accept` on
  variants (their format follows Accept), as the viewer-response function adds it.

Which paths exist and which keys they map to is `imgpro.keys`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from imgpro import keys, media, observability, storage
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import IMAGE_CSP
from imgpro.singleflight import SingleFlight

_SIGNING_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")
_CUSTOM_SIGNING_PARAMETERS = ("Policy", "Signature", "Key-Pair-Id")

LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""A synchronous (buffered) Lambda response's payload limit: 6 MB, counted in MiB as the
request's is (`imgpro.routes.LAMBDA_MAX_EVENT_BYTES`)."""
RESPONSE_ENVELOPE_ALLOWANCE = 64 * 1024
"""The function URL response's JSON around the body (status, headers: the CSP is the
longest at ~100 bytes, all of them under 1 KiB) with a wide margin."""
MAX_INLINE_BODY_BYTES = (LAMBDA_MAX_RESPONSE_BYTES - RESPONSE_ENVELOPE_ALLOWANCE) // 4 * 3
"""The largest body the resize function returns itself: base64 makes 4 bytes of every 3,
so (6,291,456 - 65,536) / 4 * 3 = 4,669,440 bytes (4.45 MiB). Anything bigger is stored
and answered with a `307` to the same viewer URL (`Cache-Control: no-store`, so CloudFront
does not keep the redirect); the viewer's second request finds the object in S3."""

VIEWER_URL_HEADER = keys.VIEWER_URL_HEADER
# What may follow the `?` of a redirect target: printable ASCII, no space (it becomes a
# header value), and no longer than CloudFront takes a URL.
_VIEWER_QUERY = re.compile(r"[\x21-\x7e]{0,8192}")
VARY = "Accept"
"""Variants are WebP or the original's format by `Accept`: what downstream caches key on."""


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
    """`query` holds the decoded parameters (the last of a repeated one); when it carries
    the raw query string as `query.raw` (the local gateway's), signatures are checked on
    exactly what the viewer sent, as CloudFront checks them."""
    match = keys.VIEWER_PATH.fullmatch(path)
    if not match:
        return _NOT_FOUND
    raw_query = _raw_query(query)
    size = query.get("size")
    if size is not None and size not in keys.SIZES:
        return _error(400, f"size must be one of {', '.join(keys.SIZES)}")
    if [_name(piece) for piece in raw_query.split("&")].count("size") > 1:
        return _error(400, f"Give size once: one of {', '.join(keys.SIZES)}")
    private = bool(match["private"])
    if private and not _signed(path, raw_query):
        return _error(403, "Missing or invalid signature")
    key_path = keys.cdn_key_path(
        uid=match["uid"],
        ext=match["ext"],
        private=private,
        size=size,
        accepts_webp=accepts_webp(_header(headers, "accept")),
    )
    varies = size is not None and bool(keys.variant_formats(match["ext"]))
    return _viewer_response(_serve(key_path, path, raw_query, headers, private), varies=varies)


def _serve(
    key_path: str, path: str, raw_query: str, headers: Mapping[str, str], private: bool
) -> Delivery:
    stored = storage.get_object(key_path.lstrip("/"))
    if stored is None:
        delivered = from_origin(key_path, viewer=f"{path}?{raw_query}" if raw_query else path)
        return _on_local_mount(delivered)
    if stored.etag and stored.etag in _header(headers, "if-none-match"):
        return Delivery(304, {"ETag": stored.etag})
    return _image(stored.body, stored.content_type, private=private, etag=stored.etag)


def _viewer_response(delivered: Delivery, *, varies: bool) -> Delivery:
    """What the viewer-response function adds: `Vary: Accept` on what a variant URL
    answers (not on originals or SVG, whose bytes are the same for every Accept)."""
    if not varies or delivered.status >= 400:
        return delivered
    return Delivery(delivered.status, {**delivered.headers, "Vary": VARY}, delivered.body)


def _on_local_mount(delivered: Delivery) -> Delivery:
    # The origin's redirect is a path from the distribution's root; the local CDN is
    # mounted under the CDN base URL's path (`/cdn`), so its viewer URLs are too.
    location = delivered.headers.get("Location", "")
    if not location.startswith("/"):
        return delivered
    from imgpro.config import cdn_base_url

    return Delivery(
        delivered.status,
        {**delivered.headers, "Location": f"{cdn_base_url()}{location}"},
        delivered.body,
    )


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


def _signed(path: str, raw_query: str) -> bool:
    """CloudFront's trusted-key-group check, then the viewer function's: a custom policy
    must name exactly this item (its URL and `*`), whatever its wildcard would match."""
    from imgpro import signing
    from imgpro.config import cdn_base_url

    item_url = f"{cdn_base_url()}{path}"
    url = f"{item_url}?{raw_query}" if raw_query else item_url
    if not signing.verify(url):
        return False
    resource = signing.signed_resource(url)
    if resource is None:
        return signing.POLICY not in {_name(piece) for piece in raw_query.split("&")}
    return _resource_path(resource) == f"{urlsplit(item_url).path}*"


def _resource_path(resource: str) -> str:
    """A resource's path and what follows it: without `scheme://host`."""
    _, separator, rest = resource.partition("://")
    if not separator or "/" not in rest:
        return ""
    return "/" + rest.partition("/")[2]


def _raw_query(query: Mapping[str, str]) -> str:
    raw = getattr(query, "raw", None)
    if isinstance(raw, str):
        return raw
    # Decoded parameters only (in-process callers): the signing parameters go last, in
    # the order the signer wrote them, as the URLs this project issues have them.
    order = _CUSTOM_SIGNING_PARAMETERS if "Policy" in query else _SIGNING_PARAMETERS
    others = [(name, value) for name, value in query.items() if name not in (*order, "Expires")]
    signed = [(name, query[name]) for name in order if name in query]
    return urlencode(others + signed, safe="~")


def _name(piece: str) -> str:
    return piece.partition("=")[0]


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


# --- the origin side (the resize function) -------------------------------------------------


_IN_FLIGHT: SingleFlight[Delivery] = SingleFlight()


def from_origin(key_path: str, *, viewer: str | None = None) -> Delivery:
    """Answer for an S3 key the bucket did not have: a variant to make, or an original
    still being moved between the public and private sides. Concurrent requests for
    the same key share one answer, so a variant is rendered once, not once each.

    `viewer` is the path and query the viewer asked for (`VIEWER_URL_HEADER`). A body
    over `MAX_INLINE_BODY_BYTES` is answered with a `307` to it (each caller its own URL,
    never another's signature); without a usable `viewer`, a `503` to retry.
    """
    delivered = _IN_FLIGHT.run(key_path, lambda: _from_origin(key_path))
    if delivered.status == 200 and len(delivered.body) > MAX_INLINE_BODY_BYTES:
        return _fetch_again(key_path, viewer)
    return delivered


def _fetch_again(key_path: str, viewer: str | None) -> Delivery:
    # no-store: CloudFront must not cache the redirect in place of the object it names.
    headers = {"Cache-Control": "no-store", "Content-Length": "0"}
    target = _same_item(key_path, viewer)
    if target is None:
        return Delivery(503, {**headers, "Retry-After": "1"})
    return Delivery(307, {**headers, "Location": target})


def _same_item(key_path: str, viewer: str | None) -> str | None:
    """`viewer` when it is a viewer URL of the media (and side) `key_path` belongs to, so
    the redirect can only send a viewer back where it was: never another host or item."""
    if viewer is None:
        return None
    path, _, query = viewer.partition("?")
    view, key = keys.VIEWER_PATH.fullmatch(path), keys.ORIGIN_PATH.fullmatch(key_path)
    if view is None or key is None or not _VIEWER_QUERY.fullmatch(query):
        return None
    if view["uid"] != (key["uid"] or key["vuid"]) or bool(view["private"]) != bool(key["private"]):
        return None
    return viewer


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
    # Every refusal the item alone decides comes before the S3 read: an unknown, deleted
    # or unservable URL costs one GetItem and no object request.
    serves_original = bool(match["uid"]) or not keys.variant_formats(found.ext)
    fmt = match["fmt"]
    if not serves_original and fmt not in keys.variant_formats(found.ext):
        return _NOT_FOUND
    original = storage.get_object(found.object_key, denied_means_missing=True)
    if original is None:
        return _NOT_FOUND
    if serves_original:
        return _image(original.body, original.content_type, private=private, etag=original.etag)
    return _make_variant(found, original.body, match["size"], fmt, private=private)


def _make_variant(
    found: media.Media, data: bytes, size: str, fmt: str, *, private: bool
) -> Delivery:
    from imgpro.imaging import formats
    from imgpro.imaging.variants import render

    assert found.ext is not None  # _from_origin serves nothing of media without one
    by_ext = {f.ext: f for f in formats.STORED_AS_IS}
    started = time.perf_counter()
    try:
        variant = render(data, by_ext[found.ext], size, output=by_ext[fmt])
    except ImageRejected as refused:
        # An original stored before a budget limit changed: serving it whole is the
        # client's choice to make, not ours.
        return _error(422, f"{refused} No size variants are made of this image.")
    render_ms = (time.perf_counter() - started) * 1000
    content_type = keys.CONTENT_TYPES[fmt]
    storage.put_variant(
        keys.variant_key(found.uid, size, fmt, private=private),
        variant.data,
        content_type=content_type,
        private=private,
        expires_at=found.expires_at,
    )
    recorded = media.record_variant(
        found.uid,
        media.SizeVariant(size, variant.width, variant.height, len(variant.data), fmt),
        private=private,
    )
    if not recorded:
        return _NOT_FOUND  # deleted or moved while it was rendered: the variant is gone too
    observability.add_metric(observability.VARIANTS_MADE)
    observability.add_metric(
        observability.VARIANT_RENDER_TIME, render_ms, observability.MILLISECONDS
    )
    return _image(variant.data, content_type, private=private, vary=True)


def _image(
    body: bytes, content_type: str, *, private: bool, etag: str = "", vary: bool = False
) -> Delivery:
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Cache-Control": storage.cache_control(private=private),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_CSP,
    }
    if etag:
        headers["ETag"] = etag
    if vary:
        # Stripped by CloudFront (it keeps Vary only for headers it forwards); the
        # viewer-response function adds it there. Set here for every other client.
        headers["Vary"] = VARY
    return Delivery(200, headers, body)
