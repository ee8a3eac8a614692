"""Resumable uploads: an S3 multipart upload per pending media, in the shapes Uppy's
`@uppy/aws-s3` (multipart mode) and Companion speak.

`start` reserves the quota and opens the upload at `incoming/<uid>`; the client sends
each part straight to S3 through a presigned URL (`sign_part`), asks which parts S3 has
when it resumes (`list_parts`), and `complete`s it: S3 then assembles the object, and
its object-created event hands it to the same worker as a direct upload
(`imgpro.processing`). `abort` drops the upload and its media. Every call names the
upload by its id and key, and both must be those of a pending media of the caller's team,
so a key cannot be steered to another team's or another upload's object. Uploads left
incomplete are aborted by the bucket's lifecycle rule after a day.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgpro import clock, quotas
from imgpro.clients import s3
from imgpro.config import settings
from imgpro.errors import NotFound, ValidationFailed
from imgpro.keys import INCOMING, UID_PATTERN, incoming_key
from imgpro.media import changing, creating, reading
from imgpro.media.creating import PendingMedia
from imgpro.media.records import PROCESSING, Media

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

PART_URL_SECONDS = 3600
"""How long a presigned part URL works; a client asks again for a later part."""
MAX_PARTS = 10_000
"""S3's limit of parts per upload."""
MAX_PARTS_PER_BATCH = 100
"""Part URLs signed by one request (the batch route)."""
_UID_KEY = re.compile(f"{re.escape(INCOMING)}(?P<uid>{UID_PATTERN})")


class UploadNotFound(NotFound):
    message = "Upload not found"


@dataclass(frozen=True)
class Started:
    media: Media
    upload_id: str
    key: str


@dataclass(frozen=True)
class Part:
    number: int
    etag: str
    size: int


def start(
    team_id: str, pending: PendingMedia, *, standing: quotas.Standing | None = None
) -> Started:
    """A pending media (reserving one image and the declared size: QuotaExceeded when they
    do not fit, before anything is opened) and its S3 multipart upload."""
    created = creating.create_pending(team_id, pending, standing=standing)
    key = incoming_key(created.uid)
    try:
        upload_id = s3().create_multipart_upload(Bucket=settings().bucket_name, Key=key)["UploadId"]
        creating.attach_upload(created.uid, upload_id)
    except BaseException:
        # Nothing can be uploaded to it: give the reservation back (the function may not
        # delete objects, and there are none yet).
        creating.fail_pending(created.uid, "The upload could not be opened; start a new one")
        raise
    return Started(media=created, upload_id=upload_id, key=key)


def pending_upload(team_id: str, upload_id: str, key: str) -> Media:
    """The caller's pending media this upload id and key name together; 404 otherwise
    (another team's, another upload's, a finished or aborted one: all look the same)."""
    found = upload_media(team_id, upload_id, key)
    if found.status != PROCESSING:
        raise UploadNotFound()
    return found


def upload_media(team_id: str, upload_id: str, key: str) -> Media:
    """The caller's media this upload id and key name together, in whatever state; 404
    otherwise. Completion answers a retry with it once the parts are assembled."""
    matched = _UID_KEY.fullmatch(key or "")
    if matched is None or not upload_id:
        raise UploadNotFound()
    try:
        found = reading.get_owned(matched["uid"], team_id=team_id)
    except NotFound:
        raise UploadNotFound() from None
    if found.upload_id != upload_id:
        raise UploadNotFound()
    return found


def sign_part(upload: Media, part_number: int) -> tuple[str, int]:
    """A presigned URL to PUT one part to, and its lifetime in seconds."""
    assert upload.upload_id is not None  # pending_upload checked it
    url = s3().generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": settings().bucket_name,
            "Key": incoming_key(upload.uid),
            "UploadId": upload.upload_id,
            "PartNumber": part_number,
        },
        ExpiresIn=PART_URL_SECONDS,
    )
    return url, PART_URL_SECONDS


def list_parts(upload: Media) -> list[Part]:
    """The parts S3 has received so far, in part order."""
    client = s3()
    parts: list[Part] = []
    marker = 0
    while True:
        try:
            page = client.list_parts(
                Bucket=settings().bucket_name,
                Key=incoming_key(upload.uid),
                UploadId=upload.upload_id or "",
                PartNumberMarker=marker,
            )
        except client.exceptions.ClientError as error:
            raise _refusal(error) from None
        parts += [
            Part(number=int(p["PartNumber"]), etag=str(p["ETag"]), size=int(p["Size"]))
            for p in page.get("Parts", [])
        ]
        if not page.get("IsTruncated"):
            return parts
        marker = int(page["NextPartNumberMarker"])


def complete(upload: Media, parts: list[tuple[int, str]], *, declared_size: int) -> None:
    """Assemble the parts, once their total fits the declared size; S3's object-created
    event then hands the object to the worker. A retry of a completion S3 already did
    (its answer was lost) does nothing: S3 no longer knows the upload, and the media
    still names it."""
    try:
        listed = list_parts(upload)
    except UploadNotFound:
        return
    received = {part.number: part for part in listed}
    missing = [number for number, _ in parts if number not in received]
    if missing:
        raise ValidationFailed.field(
            "parts", f"S3 has no part {missing[0]} of this upload: send it first"
        )
    total = sum(received[number].size for number, _ in parts)
    if total > declared_size:
        raise ValidationFailed.field(
            "parts", f"The parts hold {total:,} bytes, more than the {declared_size:,} declared"
        )
    client = s3()
    try:
        client.complete_multipart_upload(
            Bucket=settings().bucket_name,
            Key=incoming_key(upload.uid),
            UploadId=upload.upload_id or "",
            MultipartUpload={
                "Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]
            },
        )
    except client.exceptions.ClientError as error:
        raise _refusal(error) from None


def abort(upload: Media, *, team_id: str) -> None:
    """Drop the upload's parts and its media (giving its reservation back)."""
    client = s3()
    # Already aborted or completed: the media goes all the same.
    with contextlib.suppress(client.exceptions.NoSuchUpload):
        client.abort_multipart_upload(
            Bucket=settings().bucket_name,
            Key=incoming_key(upload.uid),
            UploadId=upload.upload_id or "",
        )
    changing.delete(upload.uid, team_id=team_id)


def expires_at(seconds: int) -> int:
    return int(clock.now()) + seconds


_PART_ERRORS = {
    "InvalidPart": "A part's ETag is not the one S3 gave for it",
    "InvalidPartOrder": "Parts must be listed in ascending order",
    "EntityTooSmall": "Every part but the last must be at least 5 MiB",
}


def _refusal(error: ClientError) -> Exception:
    """S3's refusal of a client's parts as the client's error; anything else as it is."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "NoSuchUpload":
        return UploadNotFound()
    if code in _PART_ERRORS:
        return ValidationFailed.field("parts", _PART_ERRORS[code])
    return error
