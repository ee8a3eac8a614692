"""Storing new media: `POST /v1/upload` (multipart/form-data), `POST /v1/upload/direct`
(a presigned POST for large files) and `POST /v1/import` (a URL). Each runs once per
Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgpro import idempotency, observability, quotas, storage
from imgpro.auth import WRITE
from imgpro.callers import caller
from imgpro.config import settings
from imgpro.errors import (
    FetchTimeout,
    ImportFailed,
    PayloadTooLarge,
    ValidationFailed,
)
from imgpro.http import Request, Response
from imgpro.media import creating
from imgpro.media.inputs import NewMedia
from imgpro.naming import stored_name
from imgpro.validation import (
    FieldErrors,
    InvalidField,
    parse_description,
    parse_filesize,
    parse_import_url,
    parse_name,
    parse_public,
    parse_tags,
    parse_ttl,
)
from imgpro.views import direct_upload_json, media_json

if TYPE_CHECKING:
    from imgpro.imaging.pipeline import Prepared
    from imgpro.imaging.privacy import StripPolicy
    from imgpro.importing import Imported

# --- POST /v1/upload ---------------------------------------------------------------------


def upload(request: Request) -> Response:
    """Store an image sent as multipart/form-data (`file` plus optional fields); 403
    `quota_exceeded` over the team's monthly quota (docs/quotas.md)."""
    who = caller(request, WRITE)
    limit = settings().max_direct_upload_bytes
    if len(request.body) > limit:
        raise PayloadTooLarge(
            f"The request body is {len(request.body):,} bytes; POST /v1/upload takes at most "
            f"{limit:,}. Upload larger files (up to 100 MB) with POST /v1/upload/direct, which "
            "returns a presigned URL to send the file to"
        )
    if not request.content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed.field(
            "file", "File is required: send multipart/form-data with a 'file' field"
        )
    form = request.form()
    errors = FieldErrors()
    upload_file = form.files.get("file")
    if upload_file is None or not upload_file.data:
        errors.add("file", "File is required")
    description = errors.check("description", parse_description, form.fields.get("description"))
    tags = errors.check("tags", parse_tags, form.fields.get("tags"))
    ttl = errors.check("ttl", parse_ttl, form.fields.get("ttl"))
    public = errors.check("public", parse_public, form.fields.get("public"))
    key = idempotency.validate_key(request.header(idempotency.HEADER))
    errors.raise_if_any()
    assert upload_file is not None  # guaranteed by raise_if_any

    fingerprint = _fingerprint(
        file=hashlib.sha256(upload_file.data).hexdigest(),
        filename=upload_file.filename,
        description=description,
        tags=tags,
        ttl=ttl,
        public=public,
    )

    def store() -> dict[str, Any]:
        team = _team_with_room(who.team_id)
        # The pixel work runs only once every cheap check has passed (and not at all when
        # a retry replays the first response).
        from imgpro.imaging.pipeline import prepare

        image = FieldErrors.single(
            "file", lambda data: prepare(data, strip=team.strip_metadata), upload_file.data
        )
        name = stored_name(upload_file.filename, image.format)
        created = _created(request, team, image, name, _Fields(description, tags, ttl, public))
        observability.add_metric(observability.UPLOADS)
        return created

    result = idempotency.run_once(
        store,
        scope="upload",
        team_id=who.team_id,
        key=key,
        fingerprint=fingerprint,
        remaining_ms=request.remaining_ms,
    )
    return Response.json(result["status"], json.loads(result["body"]))


@dataclass(frozen=True)
class _Fields:
    """The optional fields an upload and an import share, already validated."""

    description: str | None
    tags: list[str] | None
    ttl: int | None
    public: bool | None


def _created(
    request: Request, team: quotas.Standing, image: Prepared, name: str, fields: _Fields
) -> dict[str, Any]:
    """Store a prepared image as new media of the caller's team: the idempotent answer of
    an upload or an import. Kept as JSON text: the idempotency store sorts a dict's keys,
    and a replayed response should read exactly like the first."""
    is_public = fields.public if fields.public is not None else team.public_default
    created = creating.create(
        team.team_id,
        NewMedia(
            data=image.data,
            name=name,
            ext=image.format.ext,
            content_type=image.format.content_type,
            width=image.width,
            height=image.height,
            is_public=is_public,
            description=fields.description or None,
            tags=tuple(fields.tags or ()),
            ttl_seconds=fields.ttl,
            placeholder=None if image.placeholder is None else image.placeholder.as_dict(),
        ),
        standing=team,
    )
    observability.add_metric(observability.BYTES_STORED, len(image.data), observability.BYTES)
    return {"status": 201, "body": json.dumps(media_json(created, api_base_url=request.base_url))}


def _fingerprint(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _team_with_room(team_id: str) -> quotas.Standing:
    """The team (its default visibility, limits and usage: one read), if it has room for
    one more image; QuotaExceeded before any costly work if it has not. The exact size is
    checked once known, and the transaction that stores the media is the real guard."""
    team = quotas.standing(team_id)
    team.check(nbytes=1)
    return team


# --- POST /v1/upload/direct --------------------------------------------------------------


def upload_direct(request: Request) -> Response:
    """Announce a large upload: the media is created in `processing` and the answer
    carries a presigned S3 POST to send the file to (up to 100 MB)."""
    who = caller(request, WRITE)
    body = request.json()
    errors = FieldErrors()
    name = errors.check("name", _required(parse_name, "Name"), body.get("name"))
    size = errors.check("filesize", parse_filesize, body.get("filesize"))
    description = errors.check("description", parse_description, body.get("description"))
    tags = errors.check("tags", parse_tags, body.get("tags"))
    ttl = errors.check("ttl", parse_ttl, body.get("ttl"))
    public = errors.check("public", parse_public, body.get("public"))
    key = idempotency.validate_key(request.header(idempotency.HEADER))
    errors.raise_if_any()

    def announce() -> dict[str, Any]:
        # Reserves the declared size and one image, or QuotaExceeded: nothing is written.
        team = quotas.standing(who.team_id)
        is_public = public if public is not None else team.public_default
        pending = creating.create_pending(
            who.team_id,
            creating.PendingMedia(
                name=name or "",
                declared_size=size or 0,
                is_public=is_public,
                description=description or None,
                tags=tuple(tags or ()),
                ttl_seconds=ttl,
            ),
            standing=team,
        )
        upload = storage.presigned_upload(pending.uid, max_bytes=size or 0)
        payload = direct_upload_json(pending, upload, api_base_url=request.base_url)
        return {"status": 201, "body": json.dumps(payload)}

    result = idempotency.run_once(
        announce,
        scope="upload_direct",
        team_id=who.team_id,
        key=key,
        fingerprint=_fingerprint(**body),
        remaining_ms=request.remaining_ms,
    )
    return Response.json(result["status"], json.loads(result["body"]))


def _required(parser: Any, what: str) -> Any:
    def parse(raw: Any) -> Any:
        if raw is None or raw == "":
            raise InvalidField(f"{what} is required")
        return parser(raw)

    return parse


# --- POST /v1/import ---------------------------------------------------------------------


def import_url(request: Request) -> Response:
    """Store the image at a URL, fetched through the SSRF-safe fetcher: 201 with the same
    media object as an upload; 502 `import_failed` when the remote server fails, 504
    `fetch_timeout` when it is too slow, 400 on `url` for a URL we will not fetch or a
    body that is not an image; 403 `quota_exceeded` (before any fetch when the team is
    already at its quota) as for an upload."""
    who = caller(request, WRITE)
    body = request.json()
    errors = FieldErrors()
    url = errors.check("url", parse_import_url, body.get("url"))
    description = errors.check("description", parse_description, body.get("description"))
    tags = errors.check("tags", parse_tags, body.get("tags"))
    ttl = errors.check("ttl", parse_ttl, body.get("ttl"))
    public = errors.check("public", parse_public, body.get("public"))
    key = idempotency.validate_key(request.header(idempotency.HEADER))
    errors.raise_if_any()
    assert url is not None  # guaranteed by raise_if_any

    def store() -> dict[str, Any]:
        team = _team_with_room(who.team_id)  # before the fetch and the pixel work
        imported = _import(url, strip=team.strip_metadata)
        fields = _Fields(description, tags, ttl, public)
        created = _created(request, team, imported.image, imported.name, fields)
        observability.add_metric(observability.IMPORTS)
        return created

    result = idempotency.run_once(
        store,
        scope="import",
        team_id=who.team_id,
        key=key,
        fingerprint=_fingerprint(
            url=url, description=description, tags=tags, ttl=ttl, public=public
        ),
        remaining_ms=request.remaining_ms,
    )
    return Response.json(result["status"], json.loads(result["body"]))


def _import(url: str, *, strip: StripPolicy) -> Imported:
    """The fetched, prepared image, with every failure turned into the seed's errors."""
    from imgpro import fetching
    from imgpro.imaging.errors import ImageRejected
    from imgpro.importing import import_image

    try:
        return import_image(url, strip=strip)
    except (fetching.FetchRefused, fetching.FetchTooLarge, ImageRejected) as refused:
        raise ValidationFailed.field("url", str(refused)) from None
    except fetching.FetchTimedOut as slow:
        raise FetchTimeout(str(slow)) from None
    except fetching.FetchFailed as failed:
        raise ImportFailed(str(failed)) from None
