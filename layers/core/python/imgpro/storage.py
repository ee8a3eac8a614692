"""S3 object keys and object I/O for originals (and, later, their variants).

`o/<uid>.<ext>` holds the stored original; `v/<uid>/...` its variants. Ephemeral
objects carry the `ephemeral=true` tag that the bucket's lifecycle rule matches,
as a backstop to the cleanup that follows DynamoDB TTL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from imgpro.clients import s3
from imgpro.config import settings

ORIGINALS = "o/"
VARIANTS = "v/"
INCOMING = "incoming/"
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


def original_key(uid: str, ext: str) -> str:
    return f"{ORIGINALS}{uid}.{ext}"


def variants_prefix(uid: str) -> str:
    return f"{VARIANTS}{uid}/"


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    content_type: str
    etag: str
    size: int


def put_original(
    key: str, data: bytes, *, content_type: str, checksum_sha256_b64: str, ephemeral: bool
) -> None:
    s3().put_object(
        Bucket=settings().bucket_name,
        Key=key,
        Body=data,
        ContentType=content_type,
        # S3 verifies the bytes against this, so a corrupted transfer fails loudly.
        ChecksumSHA256=checksum_sha256_b64,
        Tagging="ephemeral=true" if ephemeral else "ephemeral=false",
    )


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
        expires_at=int(time.time()) + UPLOAD_URL_SECONDS,
    )


def delete_object(key: str) -> None:
    s3().delete_object(Bucket=settings().bucket_name, Key=key)


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


def incoming_key(uid: str) -> str:
    """Where a large upload lands before processing (the presigned POST's key)."""
    return f"{INCOMING}{uid}"


def delete_media_objects(uids_and_keys: Iterable[tuple[str, str | None]]) -> None:
    """Delete the original, any unprocessed upload and every variant of the given media,
    in as few calls as S3 allows."""
    client = s3()
    bucket = settings().bucket_name
    keys: list[str] = []
    for uid, original in uids_and_keys:
        keys += [original, incoming_key(uid)] if original else [incoming_key(uid)]
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=variants_prefix(uid)):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
    for start in range(0, len(keys), _DELETE_BATCH):
        chunk = keys[start : start + _DELETE_BATCH]
        response = client.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
        )
        if response.get("Errors"):
            first = response["Errors"][0]
            raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Message')}")
