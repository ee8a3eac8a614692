"""The media service: create, read, list, update and delete a team's media.

Plain arguments in, `Media` values out; no Lambda or HTTP types. Every read
treats media past `expires_at` as gone (DynamoDB TTL deletes hours late), and
every lookup is scoped to the caller's team, so another team's media is
indistinguishable from media that never existed.

The parts: `records` (the values and statuses), `inputs` (what writes take), `store`
(reading and writing items and their tag links: expiry, team scoping, the optimistic
lock), and the use cases on top of it: `creating` (uploads, pending uploads, size
variants), `reading` (by id), `listing` (newest first, by tags) and `changing`
(updates, visibility, deletes). This module only re-exports what callers use, and loads
the submodule that defines a name on its first use (PEP 562), so that a reader such as
`GET /v1/media/{uid}` never imports the upload or delete paths at cold start. A test
that patches a helper patches the submodule that defines it; time is `imgpro.clock`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgpro.media.changing import (
        delete,
        delete_many,
        update,
        update_many,
    )
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
    from imgpro.media.inputs import Changes, NewMedia
    from imgpro.media.listing import (
        list_media,
    )
    from imgpro.media.reading import (
        find_live,
        get,
        get_many,
        get_owned,
    )
    from imgpro.media.records import (
        FAILED,
        PROCESSING,
        READY,
        BatchDeleteResult,
        Media,
        Page,
        SizeVariant,
    )

_HOME = {
    "delete": "changing",
    "delete_many": "changing",
    "update": "changing",
    "update_many": "changing",
    "PendingMedia": "creating",
    "StoredImage": "creating",
    "attach_upload": "creating",
    "create": "creating",
    "create_pending": "creating",
    "fail_pending": "creating",
    "find_pending": "creating",
    "finish_pending": "creating",
    "record_variant": "creating",
    "list_media": "listing",
    "find_live": "reading",
    "get": "reading",
    "get_many": "reading",
    "get_owned": "reading",
    "FAILED": "records",
    "PROCESSING": "records",
    "READY": "records",
    "BatchDeleteResult": "records",
    "Changes": "inputs",
    "Media": "records",
    "NewMedia": "inputs",
    "Page": "records",
    "SizeVariant": "records",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


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
