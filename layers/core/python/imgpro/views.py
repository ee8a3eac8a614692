"""The media object as the seed shows it, with its omission rules:

`url` only when public, `src`/`width`/`height`/`filesize` only when ready,
`status` only when not ready, `description`/`tags` only when set, `expires_at`
only for ephemeral media, `sizes` only for the variants the CDN has made.
"""

from __future__ import annotations

from typing import Any

from imgpro.media import READY, BatchDeleteResult, Media, Page
from imgpro.urls import share_url, src_url


def media_json(media: Media, *, api_base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": media.uid, "name": media.name}
    if media.is_public:
        body["url"] = share_url(media, api_base_url=api_base_url)
    if media.status == READY:
        body["src"] = src_url(media)
        body["width"] = media.width
        body["height"] = media.height
        body["filesize"] = media.filesize
    else:
        body["status"] = media.status
    if media.description:
        body["description"] = media.description
    if media.tags:
        body["tags"] = list(media.tags)
    if media.expires_at is not None:
        body["expires_at"] = media.expires_at
    if media.status == READY and media.sizes:
        body["sizes"] = {
            variant.size: {
                "src": src_url(media, size=variant.size),
                "width": variant.width,
                "height": variant.height,
                "filesize": variant.filesize,
            }
            for variant in media.sizes
        }
    return body


def page_json(page: Page, *, api_base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "data": [media_json(m, api_base_url=api_base_url) for m in page.items],
    }
    if page.next_cursor:
        body["next_cursor"] = page.next_cursor
    body["has_more"] = page.has_more
    return body


def batch_update_json(updated: list[Media], *, api_base_url: str) -> dict[str, Any]:
    return {
        "updated": len(updated),
        "media": [media_json(m, api_base_url=api_base_url) for m in updated],
    }


def batch_delete_json(result: BatchDeleteResult) -> dict[str, Any]:
    return {
        "deleted": len(result.deleted),
        "not_found": len(result.not_found),
        "ids": {"deleted": result.deleted, "not_found": result.not_found},
    }
