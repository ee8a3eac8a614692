"""The URLs a media object links to: `src` and `sizes.*.src` (the CDN) and `url` (sharing).

Public media has stable CDN URLs; private media lives under `/private/` on the CDN,
which serves only signed URLs, so `src` of private media is signed (a canned policy
per URL: it opens that one image at that one size, until it expires).
"""

from __future__ import annotations

from imgpro.config import cdn_base_url, settings
from imgpro.keys import viewer_path
from imgpro.media import Media


def src_url(media: Media, *, size: str | None = None) -> str:
    """Where the stored image (or one of its size variants) is served."""
    url = f"{cdn_base_url()}{viewer_path(media.uid, str(media.ext), private=not media.is_public)}"
    if size:
        url += f"?size={size}"
    if media.is_public:
        return url
    from imgpro import signing

    return signing.sign(url)


def share_url(media: Media, *, api_base_url: str) -> str:
    """The public sharing link, `GET /{uid}` on this API unless a share base is configured."""
    base = settings().share_base_url or api_base_url.rstrip("/")
    return f"{base}/{media.uid}"
