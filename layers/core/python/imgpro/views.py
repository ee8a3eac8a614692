"""The media object as the seed shows it, with its omission rules:

`url` only when public, `src`/`width`/`height`/`filesize` only when ready,
`status` only when not ready (and our `failure_reason` only while failed),
`description`/`tags` only when set, `expires_at` only for ephemeral media, `sizes` only
for the variants the CDN has made, `placeholder` only when ready and stored (never for SVG).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from imgpro.media import FAILED, READY, BatchDeleteResult, Media, Page
from imgpro.urls import share_url, src_url

if TYPE_CHECKING:  # the wire types import Pydantic, which no API handler should load
    from imgpro import api_models
    from imgpro.storage import PresignedUpload


def media_json(media: Media, *, api_base_url: str) -> api_models.MediaObject:
    body: api_models.MediaObject = {"id": media.uid, "name": media.name}
    if media.is_public:
        body["url"] = share_url(media, api_base_url=api_base_url)
    if media.status == READY:
        # A ready item always has its dimensions and size (imgpro.media.records).
        assert media.width is not None and media.height is not None
        assert media.filesize is not None
        body["src"] = src_url(media)
        body["width"] = media.width
        body["height"] = media.height
        body["filesize"] = media.filesize
    else:
        body["status"] = "failed" if media.status == FAILED else "processing"
        if media.status == FAILED and media.failure_reason:
            body["failure_reason"] = media.failure_reason
    if media.description:
        body["description"] = media.description
    if media.tags:
        body["tags"] = list(media.tags)
    if media.expires_at is not None:
        body["expires_at"] = media.expires_at
    if media.status == READY and media.placeholder:
        body["placeholder"] = {
            "thumbhash": media.placeholder["thumbhash"],
            "blurhash": media.placeholder["blurhash"],
            "color": media.placeholder["color"],
        }
    if media.status == READY and media.sizes:
        body["sizes"] = {
            cast("api_models.SizeName", variant.size): {
                "src": src_url(media, size=variant.size),
                "width": variant.width,
                "height": variant.height,
                "filesize": variant.filesize,
            }
            for variant in media.sizes
        }
    return body


def direct_upload_json(
    media: Media, upload: PresignedUpload, *, api_base_url: str
) -> api_models.DirectUpload:
    """The announced media and the form its file goes to (POST /v1/upload/direct)."""
    return {
        **media_json(media, api_base_url=api_base_url),
        "upload": {"url": upload.url, "fields": upload.fields, "expires_at": upload.expires_at},
    }


def page_json(page: Page, *, api_base_url: str) -> api_models.Page:
    data = [media_json(m, api_base_url=api_base_url) for m in page.items]
    # The seed's key order: data, next_cursor, has_more.
    if page.next_cursor:
        return {"data": data, "next_cursor": page.next_cursor, "has_more": page.has_more}
    return {"data": data, "has_more": page.has_more}


def batch_update_json(updated: list[Media], *, api_base_url: str) -> api_models.BatchUpdated:
    return {
        "updated": len(updated),
        "media": [media_json(m, api_base_url=api_base_url) for m in updated],
    }


def batch_delete_json(result: BatchDeleteResult) -> api_models.BatchDeleted:
    return {
        "deleted": len(result.deleted),
        "not_found": len(result.not_found),
        "ids": {"deleted": result.deleted, "not_found": result.not_found},
    }
