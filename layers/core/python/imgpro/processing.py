"""The worker behind large uploads: turns `incoming/<uid>` into stored media.

Runs on the bucket's object-created events (S3 → Lambda in AWS; the local stack
dispatches the same event itself). Every outcome is final and safe to repeat,
since S3 delivers events at least once: a duplicate finds the media no longer
pending and only tidies up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from imgpro import keys, media, observability, quotas, storage
from imgpro.clients import bind_table
from imgpro.imaging import limits
from imgpro.imaging.errors import ImageRejected
from imgpro.naming import stored_name

logger = logging.getLogger("imgpro")


def handle_s3_event(event: Mapping[str, Any]) -> None:
    bind_table()
    for record in event.get("Records") or ():
        key = unquote_plus(record["s3"]["object"]["key"])
        if key.startswith(keys.INCOMING):
            process_incoming(key[len(keys.INCOMING) :])


def process_incoming(uid: str) -> None:
    pending = media.find_pending(uid)
    if pending is None:
        # Deleted, expired, or already processed (a repeated event): nothing to make.
        storage.delete_object(keys.incoming_key(uid))
        return
    found, declared = pending
    # The worker may not list the bucket, so a key a twin event already consumed reads
    # as 403 in AWS (404 in emulators): either way, nothing is left to do.
    uploaded = storage.get_object(keys.incoming_key(uid), denied_means_missing=True)
    if uploaded is None:
        return
    try:
        if uploaded.size > min(declared, limits.MAX_UPLOAD_BYTES):
            # S3 enforces the presigned policy's size range; this check is for the
            # emulators that do not, and costs nothing.
            raise ImageRejected(
                f"The uploaded file is {uploaded.size:,} bytes, more than the {declared:,} declared"
            )
        from imgpro.imaging.pipeline import prepare

        # The team's metadata privacy, as it is now: one GetItem of its item, which the
        # announcement read too but did not keep (direct and resumable uploads alike).
        team = quotas.standing(found.team_id)
        image = prepare(uploaded.body, strip=team.strip_metadata)
    except ImageRejected as refused:
        # Logged (the reason is the pipeline's one sentence, never the bytes) and kept on
        # the media as `failure_reason` for the client.
        logger.info("upload %s failed: %s", uid, refused, extra={"failure_reason": str(refused)})
        media.fail_pending(uid, str(refused))
    else:
        finished = media.finish_pending(
            uid,
            media.StoredImage(
                data=image.data,
                name=stored_name(found.name, image.format),
                ext=image.format.ext,
                content_type=image.format.content_type,
                width=image.width,
                height=image.height,
                placeholder=None if image.placeholder is None else image.placeholder.as_dict(),
            ),
        )
        if finished is not None:
            observability.add_metric(observability.UPLOADS)
            observability.add_metric(
                observability.BYTES_STORED, len(image.data), observability.BYTES
            )
    storage.delete_object(keys.incoming_key(uid))
