"""The URLs a media object links to: `src` and `sizes.*.src` (the CDN) and `url` (sharing).

Public media has stable CDN URLs; private media lives under `/private/` on the CDN,
which serves only signed URLs, so `src` of private media is signed: a custom policy whose
resource is the item's own URL and extension followed by `*` (`signing.sign_any_query`).
It opens that one item at every size (`src` plus `&size=m`), until it expires, and no
other item: ids are `[a-z0-9]`, so the `.` before the extension ends the id and no other
item's URL starts with this one's (`signing.item_resource` refuses a name with a dot).
"""

from __future__ import annotations

from imgpro.config import cdn_base_url, settings
from imgpro.keys import viewer_path
from imgpro.media import Media


def src_url(media: Media, *, size: str | None = None) -> str:
    """Where the stored image (or one of its size variants) is served."""
    path = viewer_path(media.uid, str(media.ext), private=not media.is_public)
    url = f"{cdn_base_url()}{path}"
    if size:
        url += f"?size={size}"
    if media.is_public:
        return url
    from imgpro import signing

    return signing.sign_any_query(url)


def share_url(media: Media, *, api_base_url: str) -> str:
    """The public sharing link, `GET /{uid}` on this API unless a share base is configured."""
    base = settings().share_base_url or api_base_url.rstrip("/")
    return f"{base}/{media.uid}"
