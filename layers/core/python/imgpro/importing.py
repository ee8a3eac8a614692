"""Import from URL: fetch the bytes through the SSRF-safe fetcher, then take them in through
exactly the pipeline an upload goes through (formats, work budget, SVG sanitizing).

How the time fits (docs/import.md): API Gateway gives an integration 29 s, and the import
function times out just below it so that its own error path answers. The fetch gets 20 s
(`IMGPRO_IMPORT_DEADLINE_SECONDS`) for everything (DNS, connecting, every redirect hop,
the body), which leaves the rest for the pipeline and the writes: a 48 MP photo takes
3-5 s there.
The seed's "30 second limit" is therefore 20 s here, and a slower server gets 504
`fetch_timeout` rather than a gateway timeout that hides the outcome from a retry.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email.message import Message
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from imgpro.config import settings
from imgpro.fetching import Fetched, FetchPolicy, fetch
from imgpro.imaging.limits import MAX_UPLOAD_BYTES
from imgpro.imaging.pipeline import Prepared, prepare
from imgpro.imaging.privacy import DEFAULT_STRIP, StripPolicy
from imgpro.naming import stored_name


@dataclass(frozen=True)
class Imported:
    image: Prepared
    name: str


@lru_cache(maxsize=1)
def policy() -> FetchPolicy:
    """The container's fetch policy, read from settings once."""
    return FetchPolicy(
        deadline_seconds=float(settings().import_deadline_seconds),
        max_bytes=MAX_UPLOAD_BYTES,
        allowed_networks=tuple(
            ipaddress.ip_network(cidr) for cidr in settings().import_allow_cidrs
        ),
    )


def import_image(url: str, *, strip: StripPolicy = DEFAULT_STRIP) -> Imported:
    """The image at `url`, ready to store, with the team's metadata privacy `strip`. Raises
    `imgpro.fetching.FetchError` subclasses for the fetch and `ImageRejected` when the bytes
    are not an image we take."""
    fetched = fetch(url, policy())
    image = prepare(fetched.data, strip=strip)
    return Imported(image, stored_name(remote_name(fetched), image.format))


def remote_name(fetched: Fetched) -> str | None:
    """What the server calls the file: Content-Disposition's filename (RFC 6266, with
    RFC 5987's `filename*` preferred, as browsers do), else the URL path's last segment."""
    if fetched.content_disposition:
        header = Message()
        header["Content-Disposition"] = fetched.content_disposition
        filename = header.get_filename()
        if filename:
            return filename
    segment = urlsplit(fetched.url).path.rsplit("/", 1)[-1]
    return unquote(segment) or None


__all__ = ["Imported", "import_image", "remote_name"]
