"""The routes of resumable uploads under /v1/uploads/s3/multipart (imgpro.resumable), in
the request and response shapes of Companion's S3 multipart API, which Uppy's
`@uppy/aws-s3` plugin calls with `endpoint: <API base>/v1/uploads`. Every route needs
a token with the write ability."""

from __future__ import annotations

from typing import Any

from imgpro import quotas, resumable
from imgpro.auth import WRITE
from imgpro.callers import caller
from imgpro.http import Request, Response
from imgpro.media import creating
from imgpro.media.creating import PendingMedia
from imgpro.media.records import Media
from imgpro.validation import (
    MAX_FILESIZE,
    FieldErrors,
    InvalidField,
    parse_description,
    parse_filesize,
    parse_name,
    parse_public,
    parse_tags,
    parse_ttl,
)
from imgpro.views import media_json


def multipart_create(request: Request) -> Response:
    """Open a resumable upload: `{filename, type, metadata}` (metadata: our
    `description`, `tags`, `ttl`, `public`, and `size`, the file's bytes) -> 201
    `{uploadId, key, media}`. The size is reserved from the team's quota until the
    upload completes or fails; without one, the largest upload (100 MB) is."""
    who = caller(request, WRITE)
    body = request.json()
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    errors = FieldErrors()
    if not isinstance(metadata, dict):
        errors.add("metadata", "Metadata must be an object")
        metadata = {}
    name = errors.check("filename", _filename, body.get("filename"))
    raw_size = body.get("size", metadata.get("size"))
    size = errors.check("size", parse_filesize, raw_size) if raw_size is not None else None
    description = errors.check("description", parse_description, metadata.get("description"))
    tags = errors.check("tags", parse_tags, metadata.get("tags"))
    ttl = errors.check("ttl", parse_ttl, metadata.get("ttl"))
    public = errors.check("public", parse_public, metadata.get("public"))
    errors.raise_if_any()

    team = quotas.standing(who.team_id)
    started = resumable.start(
        who.team_id,
        PendingMedia(
            name=name or "",
            declared_size=size or MAX_FILESIZE,
            is_public=public if public is not None else team.public_default,
            description=description or None,
            tags=tuple(tags or ()),
            ttl_seconds=ttl,
        ),
        standing=team,
    )
    return Response.json(
        201,
        {
            "uploadId": started.upload_id,
            "key": started.key,
            "media": media_json(started.media, api_base_url=request.base_url),
        },
    )


def multipart_sign_part(request: Request) -> Response:
    """`GET …/{uploadId}/{partNumber}?key=` -> `{url, expires}`: where to PUT that part."""
    upload = _upload(request)
    number = FieldErrors.single("partNumber", _part_number, request.path_params.get("partNumber"))
    url, seconds = resumable.sign_part(upload, number)
    return Response.json(200, {"url": url, "expires": seconds})


def multipart_sign_parts(request: Request) -> Response:
    """`GET …/{uploadId}/batch?key=&partNumbers=1,2` -> `{presignedUrls: {"1": url, …}}`."""
    upload = _upload(request)
    numbers = FieldErrors.single("partNumbers", _part_numbers, request.query.get("partNumbers"))
    urls = {str(n): resumable.sign_part(upload, n)[0] for n in numbers}
    return Response.json(200, {"presignedUrls": urls, "expires": resumable.PART_URL_SECONDS})


def multipart_list_parts(request: Request) -> Response:
    """`GET …/{uploadId}?key=` -> the parts S3 has so far: `[{PartNumber, Size, ETag}]`."""
    upload = _upload(request)
    parts = resumable.list_parts(upload)
    return Response.json(
        200, [{"PartNumber": p.number, "Size": p.size, "ETag": p.etag} for p in parts]
    )


def multipart_complete(request: Request) -> Response:
    """`POST …/{uploadId}/complete?key=` with `{parts: [{PartNumber, ETag}]}` -> 200
    `{location, key, media}`: the media (processing until the worker has made it ready)
    and its URL in this API."""
    who = caller(request, WRITE)
    upload = resumable.upload_media(
        who.team_id, request.path_params.get("uploadId", ""), request.query.get("key", "")
    )
    parts = FieldErrors.single("parts", _parts, request.json().get("parts"))
    pending = creating.find_pending(upload.uid)
    if pending is not None:
        resumable.complete(upload, parts, declared_size=pending[1])
    # Otherwise the parts were assembled and processed already: a retried completion
    # gets the same answer, with the media as it is now.
    return Response.json(
        200,
        {
            "location": f"{request.base_url.rstrip('/')}/v1/media/{upload.uid}",
            "key": request.query.get("key", ""),
            "media": media_json(upload, api_base_url=request.base_url),
        },
    )


def multipart_abort(request: Request) -> Response:
    """`DELETE …/{uploadId}?key=` -> 200 `{}`: the parts and the pending media are gone.
    (Companion answers `{}`; Uppy reads a JSON body, so not a 204.)"""
    who = caller(request, WRITE)
    upload = resumable.pending_upload(
        who.team_id, request.path_params.get("uploadId", ""), request.query.get("key", "")
    )
    resumable.abort(upload, team_id=who.team_id)
    return Response.json(200, {})


def _upload(request: Request) -> Media:
    who = caller(request, WRITE)
    return resumable.pending_upload(
        who.team_id, request.path_params.get("uploadId", ""), request.query.get("key", "")
    )


def _filename(raw: Any) -> str:
    if raw is None or raw == "":
        raise InvalidField("Filename is required")
    return parse_name(raw)


def _part_number(raw: Any) -> int:
    text = str(raw or "")
    if not text.isdigit() or not 1 <= int(text) <= resumable.MAX_PARTS:
        raise InvalidField(f"A part number is a whole number from 1 to {resumable.MAX_PARTS:,}")
    return int(text)


def _part_numbers(raw: Any) -> list[int]:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidField("partNumbers is required: comma-separated part numbers")
    numbers = list(dict.fromkeys(_part_number(p.strip()) for p in raw.split(",") if p.strip()))
    if len(numbers) > resumable.MAX_PARTS_PER_BATCH:
        raise InvalidField(f"At most {resumable.MAX_PARTS_PER_BATCH} part numbers at once")
    return numbers


def _parts(raw: Any) -> list[tuple[int, str]]:
    """The parts to assemble, as S3 wants them: ascending part numbers, each once."""
    if not isinstance(raw, list) or not raw:
        raise InvalidField("Parts must be a non-empty array of {PartNumber, ETag}")
    parts: dict[int, str] = {}
    for part in raw:
        if not isinstance(part, dict) or not isinstance(part.get("ETag"), str):
            raise InvalidField("Each part needs a PartNumber and the ETag S3 gave for it")
        parts[_part_number(part.get("PartNumber"))] = part["ETag"]
    return sorted(parts.items())
