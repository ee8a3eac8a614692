"""The single DynamoDB table, as PynamoDB models.

| item      | pk               | sk         | gsi1pk                  | gsi1sk                   |
|-----------|------------------|------------|-------------------------|--------------------------|
| media     | MEDIA#<uid>      | META       | TEAM#<team>             | <created_ms:013d>#<uid>  |
| tag link  | MEDIA#<uid>      | TAG#<tag>  | TEAM#<team>#TAG#<tag>   | same as its media        |
| team      | TEAM#<team>      | META       |                         |                          |
| token     | TOKEN#<sha256>   | META       | TEAM#<team>#TOKENS      | <token_id:010d>          |
| counter   | COUNTER#<name>   | META       |                         |                          |
| rate      | RATE#<token_id>#<YYYY-MM-DDTHH> | META |                  |                          |
| receipt   | EXPIRED#<uid>    | META       |                         |                          |

Tag links exist so that "media of team T tagged X, newest first" is one Query on
gsi1; they carry `expires_at` so TTL removes them with their media.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

GSI1 = "gsi1"
TTL_ATTRIBUTE = "expires_at"
META = "META"


def media_pk(uid: str) -> str:
    return f"MEDIA#{uid}"


def team_pk(team_id: str) -> str:
    return f"TEAM#{team_id}"


def tag_sk(tag: str) -> str:
    return f"TAG#{tag}"


def tag_partition(team_id: str, tag: str) -> str:
    return f"TEAM#{team_id}#TAG#{tag}"


def token_pk(secret_hash: str) -> str:
    return f"TOKEN#{secret_hash}"


def sort_key(created_ms: int, uid: str) -> str:
    """gsi1sk of a media item: sorts by creation time, ties broken by uid."""
    return f"{created_ms:013d}#{uid}"


_M = TypeVar("_M", bound=Model)


class _Gsi1(GlobalSecondaryIndex[_M]):
    class Meta:
        index_name = GSI1
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _TableMeta:
    # Bound to the real table name by `bind()` once per container; PynamoDB reads
    # these at call time, so nothing here touches AWS at import.
    table_name = "imgpro-unbound"
    region: str | None = None
    host: str | None = None


class MediaItem(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_team: _Gsi1[MediaItem] = _Gsi1()

    uid = UnicodeAttribute()
    team_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="ready")
    is_public = BooleanAttribute(default=False)
    object_key = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    ext = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    filesize = NumberAttribute(null=True)
    checksum = UnicodeAttribute(null=True)
    declared_size = NumberAttribute(null=True)
    """Bytes a large upload announced (POST /v1/upload/direct); the upload may not exceed it."""
    upload_id = UnicodeAttribute(null=True)
    """The S3 multipart upload a resumable upload sends its parts to (imgpro.resumable)."""
    failure_reason = UnicodeAttribute(null=True)
    """Why a pending upload failed: shown as the media object's `failure_reason`."""
    description = UnicodeAttribute(null=True)
    # PynamoDB types `of` as the element's value type, but it takes the element's attribute class.
    tags: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    created_ms = NumberAttribute()
    updated_ms = NumberAttribute()
    expires_at = NumberAttribute(null=True)
    # One attribute per size variant ({"w", "h", "b", "f"}: width, height, bytes,
    # format), written by the resize function when it first makes that variant.
    # Flat attributes rather than one map: each is SET on its own, with no
    # read-modify-write and no "map must exist first" round trip.
    v_s: MapAttribute[str, Any] = MapAttribute(null=True)
    v_m: MapAttribute[str, Any] = MapAttribute(null=True)
    v_l: MapAttribute[str, Any] = MapAttribute(null=True)
    v_xl: MapAttribute[str, Any] = MapAttribute(null=True)
    v_xxl: MapAttribute[str, Any] = MapAttribute(null=True)
    placeholder: MapAttribute[str, Any] = MapAttribute(null=True)
    """{"thumbhash", "blurhash", "color"} (imgpro.imaging.placeholder): written with the
    image at ingest, or later by `imgpro media placeholders`; absent for SVG."""


class TagLink(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_tag: _Gsi1[TagLink] = _Gsi1()

    uid = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class TeamItem(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    team_id = UnicodeAttribute()
    plan = UnicodeAttribute(default="free")
    public_default = BooleanAttribute(default=False)
    created_ms = NumberAttribute()
    # Quotas (imgpro.quotas): the operator's overrides of the plan's limits, and the
    # usage counters: `stored_bytes` now, and `images_<YYYY>_<MM>` per calendar month
    # (UTC), added to in the transaction that writes the media (not declared here).
    max_images_per_month = NumberAttribute(null=True)
    max_storage_bytes = NumberAttribute(null=True)
    stored_bytes = NumberAttribute(null=True)
    # Metadata privacy (imgpro.imaging.privacy): "gps" or "all"; absent reads as "gps".
    strip_metadata = UnicodeAttribute(null=True)


class TokenItem(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_team: _Gsi1[TokenItem] = _Gsi1()

    token_id = NumberAttribute()
    secret_hash = UnicodeAttribute()
    team_id = UnicodeAttribute()
    # As MediaItem.tags: PynamoDB types `of` as the element's value type.
    abilities: ListAttribute[str] = ListAttribute(of=UnicodeAttribute)  # type: ignore[arg-type]
    name = UnicodeAttribute(default="")
    created_ms = NumberAttribute()
    last_used_ms = NumberAttribute(null=True)
    """When the token last authenticated, to the minute (imgpro.auth writes it at most
    once a minute); absent until its first use."""


def tokens_partition(team_id: str) -> str:
    """gsi1pk of a team's tokens: `imgpro token list` and `revoke` query it."""
    return f"{team_pk(team_id)}#TOKENS"


class CounterItem(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    value = NumberAttribute(default=0)


class RateWindowItem(Model):
    """One token's requests in one clock hour (UTC), for imgpro.ratelimit: `total` for the
    hour, plus `m0` .. `m59`, one counter per minute of the hour, which the rate limiter
    adds to in the same UpdateItem (not declared here: PynamoDB ignores them). Expires
    when its hour ends."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    total = NumberAttribute(default=0)
    expires_at = NumberAttribute()


class ExpiryReceipt(Model):
    """The expiry worker (imgpro.expiry) released the bytes of media `uid`, which DynamoDB's
    TTL deleted: written on condition that it does not exist yet, so a stream record
    delivered again releases nothing twice. Expires after the dead-letter queue's retention."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=META)
    team_id = UnicodeAttribute()
    released_bytes = NumberAttribute()
    expires_at = NumberAttribute()


def receipt_pk(uid: str) -> str:
    return f"EXPIRED#{uid}"


MODELS: tuple[type[Model], ...] = (
    MediaItem,
    TagLink,
    TeamItem,
    TokenItem,
    CounterItem,
    RateWindowItem,
    ExpiryReceipt,
)


def bind(
    table_name: str,
    *,
    region: str | None = None,
    host: str | None = None,
    credentials: tuple[str, str, str | None] | None = None,
) -> None:
    """Point every model at the table, through one shared connection.

    PynamoDB caches a connection per model class, each with its own botocore
    client; building one per model would cost a cold start about half a second.
    The models share one table and key schema, so one connection serves them all.

    `credentials` (access key id, secret key, session token) are for this connection
    only; None: botocore's usual chain (a function's role). The `imgpro` operator
    commands pass them: dummy ones for the local stack's moto endpoint.
    """
    key_id, secret, session_token = credentials or (None, None, None)
    for model in MODELS:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model.Meta.aws_access_key_id = key_id
        model.Meta.aws_secret_access_key = secret
        model.Meta.aws_session_token = session_token
        model._connection = None
    shared = MediaItem._get_connection()  # MediaItem's schema includes gsi1
    for model in MODELS:
        model._connection = shared
