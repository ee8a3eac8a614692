"""What the API tells the CDN: forget a media item's cached bytes.

CloudFront caches public images for a year (their URL never changes content), so
making media private or deleting it must invalidate what the edge holds. That
takes CloudFront a few minutes (documented); the local stack caches nothing, so
there it is immediate and this is a no-op.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from imgpro.config import settings
from imgpro.keys import ORIGINALS, PRIVATE, variants_prefix


@lru_cache(maxsize=1)
def _cloudfront() -> Any:
    import boto3

    return boto3.client("cloudfront")


def invalidation_paths(uid: str) -> list[str]:
    """Every path a media item can be cached under. CloudFront's guide asks for both the
    viewer URI and the one the viewer function rewrote it to; uids all have one
    length, so `/<uid>*` matches that media only."""
    return [
        f"/{uid}*",
        f"/{PRIVATE}{uid}*",
        f"/{ORIGINALS}{uid}*",
        f"/{variants_prefix(uid)}*",
        f"/{PRIVATE}{ORIGINALS}{uid}*",
        f"/{variants_prefix(uid, private=True)}*",
    ]


def invalidate(uids: Sequence[str]) -> None:
    distribution = settings().distribution_id
    if not distribution or not uids:
        return
    paths = [path for uid in uids for path in invalidation_paths(uid)]
    _cloudfront().create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            # Unique per call: CloudFront treats a repeated reference as the same batch.
            # Real time, not imgpro.clock: a nonce for CloudFront, which decides nothing.
            "CallerReference": f"imgpro-{int(time.time())}-{uuid.uuid4().hex[:8]}",
        },
    )
