"""The URLs a media object links to: `src` (the image on the CDN) and `url` (sharing)."""

from __future__ import annotations

from imgpro.config import settings
from imgpro.media import Media


def src_url(media: Media) -> str:
    """Where the stored image is served: the CDN's `/<uid>.<ext>`."""
    return f"{settings().cdn_base_url}/{media.uid}.{media.ext}"


def share_url(media: Media, *, api_base_url: str) -> str:
    """The public sharing link, `GET /{uid}` on this API unless a share base is configured."""
    base = settings().share_base_url or api_base_url.rstrip("/")
    return f"{base}/{media.uid}"
