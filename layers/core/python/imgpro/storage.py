"""S3 object I/O for originals, their variants and large uploads.

Where each object lives is `imgpro.keys`. Private media lives under its `private/`
side, which CloudFront serves only to signed URLs, so a private image cannot be
fetched by guessing its id; making media public or private moves its objects.
Objects of ephemeral media are tagged with the days left until they expire, rounded up
to a bucket that one of the bucket's lifecycle rules matches (`imgpro.expiry_rules`): a
backstop to the cleanup that follows DynamoDB TTL (`imgpro.expiry`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgpro import clock, expiry_rules
from imgpro.clients import s3
from imgpro.config import settings
from imgpro.keys import incoming_key, is_private, on_side, variants_prefix

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


def move_media_objects(
    uid: str, original: str, *, private: bool, expires_at: float | None = None
) -> str:
    """Move an original and its variants to the public or private side; the new
    original key. Copies first, deletes after, so the bytes are never absent.

    A copy is a new object, whose lifecycle days count from now: copies of ephemeral
    media (`expires_at`) are tagged again for the days left, others keep their tags."""
    tagging: _CopyTagging = (
        {"TaggingDirective": "COPY"}
        if expires_at is None
        else {"TaggingDirective": "REPLACE", "Tagging": expiry_tagging(expires_at)}
    )
    client = s3()
    bucket = settings().bucket_name
    source_prefix = variants_prefix(uid, private=not private)
    moves = [(original, on_side(original, private=private))]
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=source_prefix):
        moves += [
            (obj["Key"], on_side(obj["Key"], private=private)) for obj in page.get("Contents", [])
        ]
    for source, target in moves:
        if source == target:
            continue
        head = client.head_object(Bucket=bucket, Key=source)
        client.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": source},
            MetadataDirective="REPLACE",
            ContentType=head.get("ContentType", "application/octet-stream"),
            CacheControl=cache_control(private=private),
            **tagging,
        )
    _delete_keys([source for source, target in moves if source != target])
    return moves[0][1]


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


def delete_media_objects(uids_and_keys: Iterable[tuple[str, str | None]]) -> None:
    """Delete the original, any unprocessed upload and every variant of the given media,
    in as few calls as S3 allows."""
    client = s3()
    bucket = settings().bucket_name
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for uid, original in uids_and_keys:
        keys.append(incoming_key(uid))
        if original:
            # Both sides: a visibility move cut short leaves a copy on the other one.
            keys += [original, on_side(original, private=not is_private(original))]
        for private in (False, True):
            prefix = variants_prefix(uid, private=private)
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
    _delete_keys(keys)


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
