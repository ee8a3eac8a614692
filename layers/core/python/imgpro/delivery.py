"""Serving image bytes on CDN paths: what CloudFront + S3 answer in AWS, and what
the local stack answers under `/cdn`.

`/<uid>.<ext>` serves the stored original of live, ready media. Size variants and
signed URLs for private media extend this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from imgpro import media, storage
from imgpro.imaging.formats import IMAGE_CSP

_ORIGINAL = re.compile(r"^/([A-Za-z0-9]{1,64})\.([a-z0-9]{2,5})$")
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=3600"


@dataclass(frozen=True)
class Delivery:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


_NOT_FOUND = Delivery(404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not found\n")


def deliver(path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Delivery:
    match = _ORIGINAL.fullmatch(path)
    if not match:
        return _NOT_FOUND
    uid, ext = match.groups()
    found = media.find_live(uid)
    if found is None or found.status != media.READY or found.ext != ext or not found.object_key:
        return _NOT_FOUND
    stored = storage.get_object(found.object_key)
    if stored is None:
        return _NOT_FOUND
    etag = stored.etag
    if etag and _matches(headers, etag):
        return Delivery(304, {"ETag": etag})
    headers = {
        "Content-Type": stored.content_type,
        "Content-Length": str(stored.size),
        "ETag": etag,
        "Cache-Control": PUBLIC_CACHE if found.is_public else PRIVATE_CACHE,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_CSP,
    }
    return Delivery(200, headers, stored.body)


def _matches(headers: Mapping[str, str], etag: str) -> bool:
    wanted = next((v for k, v in headers.items() if k.lower() == "if-none-match"), None)
    return wanted is not None and etag in [tag.strip() for tag in wanted.split(",")]
