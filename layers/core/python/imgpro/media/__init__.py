"""The media service: create, read, list, update and delete a team's media.

Plain arguments in, `Media` values out; no Lambda or HTTP types. Every read
treats media past `expires_at` as gone (DynamoDB TTL deletes hours late), and
every lookup is scoped to the caller's team, so another team's media is
indistinguishable from media that never existed.

The parts: `records` (the values and statuses), `store` (reading and writing items
and their tag links: expiry, team scoping, the optimistic lock), and the use cases
on top of it: `creating` (uploads, pending uploads, size variants), `reading` (by
id), `listing` (newest first, by tags) and `changing` (updates, visibility,
deletes). This module only re-exports what callers use; a test that patches a
helper patches the submodule that defines it, and time is `imgpro.clock`.
"""

from imgpro.media.changing import delete, delete_many, update, update_many
from imgpro.media.creating import (
    PendingMedia,
    StoredImage,
    attach_upload,
    create,
    create_pending,
    fail_pending,
    find_pending,
    finish_pending,
    record_variant,
)
from imgpro.media.listing import list_media
from imgpro.media.reading import find_live, get, get_many, get_owned
from imgpro.media.records import (
    FAILED,
    PROCESSING,
    READY,
    BatchDeleteResult,
    Changes,
    Media,
    NewMedia,
    Page,
    SizeVariant,
)

__all__ = [
    "FAILED",
    "PROCESSING",
    "READY",
    "BatchDeleteResult",
    "Changes",
    "Media",
    "NewMedia",
    "Page",
    "PendingMedia",
    "SizeVariant",
    "StoredImage",
    "attach_upload",
    "create",
    "create_pending",
    "delete",
    "delete_many",
    "fail_pending",
    "find_live",
    "find_pending",
    "finish_pending",
    "get",
    "get_many",
    "get_owned",
    "list_media",
    "record_variant",
    "update",
    "update_many",
]
