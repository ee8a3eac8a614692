"""S3 object I/O for originals, their variants and large uploads.

Where each object lives is `imgpro.keys`. Private media lives under its `private/`
side, which CloudFront serves only to signed URLs, so a private image cannot be
fetched by guessing its id; making media public or private moves its objects.
Objects of ephemeral media are tagged with the days left until they expire, rounded up
to a bucket that one of the bucket's lifecycle rules matches (`imgpro.expiry_rules`): a
backstop to the cleanup that follows DynamoDB TTL (`imgpro.expiry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgpro import clock, expiry_rules
from imgpro.clients import s3
from imgpro.config import settings
from imgpro.keys import (
    CONTENT_TYPES,
    incoming_key,
    is_private,
    media_object_keys,
    on_side,
    variant_key,
)

if TYPE_CHECKING:
    from typing import Literal, TypedDict

    class _Tagging(TypedDict, total=False):
        """The tagging arguments of PutObject."""

        Tagging: str

    class _CopyTagging(_Tagging, total=False):
        """The tagging arguments of CopyObject."""

        TaggingDirective: Literal["COPY", "REPLACE"]


_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys

PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=3600"


def cache_control(*, private: bool) -> str:
    """Public bytes never change under their URL; private ones are for one viewer."""
    return PRIVATE_CACHE if private else PUBLIC_CACHE


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    content_type: str
    etag: str
    size: int


def put_original(
    key: str,
    data: bytes,
    *,
    content_type: str,
    checksum_sha256_b64: str,
    expires_at: float | None,
    private: bool = False,
) -> None:
    """Store an original of media that expires at `expires_at` (None: never)."""
    s3().put_object(
        Bucket=settings().bucket_name,
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl=cache_control(private=private),
        # S3 verifies the bytes against this, so a corrupted transfer fails loudly.
        ChecksumSHA256=checksum_sha256_b64,
        Tagging=expiry_tagging(expires_at),
    )


def expiry_tagging(expires_at: float | None) -> str:
    """The tags of an object of media that expires at `expires_at`, stored now."""
    return expiry_rules.tagging(expiry_rules.object_tags(expires_at, clock.now()))


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    fields: dict[str, str]
    expires_at: int


UPLOAD_URL_SECONDS = 3600


def presigned_upload(uid: str, *, max_bytes: int) -> PresignedUpload:
    """A presigned S3 POST for `incoming/<uid>` that S3 refuses above `max_bytes`.

    The key is fixed by the policy, so the form cannot write anywhere else; the
    worker checks the size again because not every S3 emulation enforces the range.
    """
    key = incoming_key(uid)
    post = s3().generate_presigned_post(
        Bucket=settings().bucket_name,
        Key=key,
        Conditions=[["content-length-range", 1, max_bytes]],
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return PresignedUpload(
        url=post["url"],
        fields=dict(post["fields"]),
        # What the client is told, by the domain's clock; botocore dates the policy
        # itself by the real one (they differ only under a test's frozen clock).
        expires_at=int(clock.now()) + UPLOAD_URL_SECONDS,
    )


def put_variant(
    key: str,
    data: bytes,
    *,
    content_type: str,
    private: bool,
    expires_at: float | None = None,
) -> None:
    """Store a size variant; one of ephemeral media is tagged for the lifecycle backstop
    as its original is (others carry no tags)."""
    extra: _Tagging = {} if expires_at is None else {"Tagging": expiry_tagging(expires_at)}
    s3().put_object(
        Bucket=settings().bucket_name,
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl=cache_control(private=private),
        **extra,
    )


@dataclass(frozen=True)
class MediaObjects:
    """The objects of one media item as its record lists them: the original (`original`,
    its key now) and the variants its `sizes` name, as (size, format). The record is the
    inventory: moving and deleting read no object and list no prefix."""

    uid: str
    ext: str
    original: str
    content_type: str
    variants: tuple[tuple[str, str], ...] = ()
    expires_at: float | None = None


def move_to_side(media: Sequence[MediaObjects], *, private: bool) -> list[str]:
    """Move the objects of `media` to the private or the public side; the new original
    keys, in order. Copies first, deletes after, so the bytes are never absent.

    One CopyObject per object the record lists (none for a listed variant that is gone:
    it is made again on its next request), and
    no HeadObject: the Content-Type is the record's, or the variant format's. Then one
    DeleteObjects per 1,000 keys for the whole batch, of every key the items can have on
    the side they leave (`keys.media_object_keys`): a variant made in a second format,
    or written but not yet recorded, cannot stay behind on the public side unnoticed.

    A copy is a new object, whose lifecycle days count from now: copies of ephemeral
    media (`expires_at`) are tagged again for the days left, others keep their tags."""
    client = s3()
    bucket = settings().bucket_name
    leaving: list[str] = []
    for item in media:
        # (source, Content-Type, answers that mean "gone": skip it). The original is
        # copied from the side left even when the record already names the other one (a
        # move cut short before the record changed): that side is deleted next.
        original = on_side(item.original, private=not private)
        copies = [(original, item.content_type, _MISSING)] + [
            (
                variant_key(item.uid, size, fmt, private=not private),
                CONTENT_TYPES[fmt],
                _VARIANT_MISSING,
            )
            for size, fmt in item.variants
            if fmt in CONTENT_TYPES
        ]
        tagging: _CopyTagging = (
            {"TaggingDirective": "COPY"}
            if item.expires_at is None
            else {"TaggingDirective": "REPLACE", "Tagging": expiry_tagging(item.expires_at)}
        )
        for source, content_type, gone in copies:
            target = on_side(source, private=private)
            try:
                client.copy_object(
                    Bucket=bucket,
                    Key=target,
                    CopySource={"Bucket": bucket, "Key": source},
                    MetadataDirective="REPLACE",
                    ContentType=content_type,
                    CacheControl=cache_control(private=private),
                    **tagging,
                )
            except client.exceptions.ClientError as error:
                if error.response["Error"]["Code"] not in gone:
                    raise
        leaving += [
            key
            for key in (original, *media_object_keys(item.uid, item.ext))
            if key != incoming_key(item.uid) and is_private(key) != private
        ]
    _delete_keys(list(dict.fromkeys(leaving)))
    return [on_side(item.original, private=private) for item in media]


_MISSING = frozenset({"NoSuchKey", "404"})
"""CopyObject's answers for a source that is not there, to a caller S3 lets list it."""
_VARIANT_MISSING = _MISSING | {"AccessDenied", "403"}
"""The same for a variant, whose missing key S3 may answer 403 to a caller it does not let
list that key: a variant not copied is made again, while an original not copied would be
lost with the side it leaves, so a 403 for an original fails the move."""


def delete_object(key: str) -> None:
    s3().delete_object(Bucket=settings().bucket_name, Key=key)


def delete_objects(keys: Iterable[str]) -> None:
    """Delete the objects at `keys`, in as few calls as S3 allows; missing ones are no
    error (S3 answers a deleted key's delete as a success)."""
    _delete_keys(list(dict.fromkeys(keys)))


def get_object(key: str, *, denied_means_missing: bool = False) -> StoredObject | None:
    """The object, or None when it does not exist.

    S3 answers 403 rather than 404 for a missing key to a caller without
    s3:ListBucket; `denied_means_missing` is for callers kept off ListBucket on purpose.
    """
    client = s3()
    try:
        response = client.get_object(Bucket=settings().bucket_name, Key=key)
    except client.exceptions.NoSuchKey:
        return None
    except client.exceptions.ClientError as error:
        if denied_means_missing and error.response["Error"]["Code"] in ("AccessDenied", "403"):
            return None
        raise
    body = response["Body"].read()
    return StoredObject(
        body=body,
        content_type=response.get("ContentType", "application/octet-stream"),
        etag=response.get("ETag", ""),
        size=len(body),
    )


def delete_media_objects(media: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Delete everything stored of the given media, as (uid, ext, original key): the
    original and every variant it can have, on both sides (a visibility move cut short
    leaves copies on the other one), and any unprocessed upload. By key, with no listing
    (`keys.media_object_keys`): one DeleteObjects per 1,000 keys, a missing key being no
    error."""
    found: list[str] = []
    for uid, ext, original in media:
        found += media_object_keys(uid, ext)
        if original:
            found += [original, on_side(original, private=not is_private(original))]
    _delete_keys(list(dict.fromkeys(found)))


def _delete_keys(keys: list[str]) -> None:
    client = s3()
    bucket = settings().bucket_name
    for start in range(0, len(keys), _DELETE_BATCH):
        chunk = keys[start : start + _DELETE_BATCH]
        response = client.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
        )
        if response.get("Errors"):
            first = response["Errors"][0]
            raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Message')}")
