"""One function per route: read the request, check who asks, validate at the edge,
call the media service, shape the response. Handlers in `functions/` wrap these
with `imgpro.http.lambda_handler`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgpro import __version__, idempotency, media, observability, quotas, storage
from imgpro.auth import READ, WRITE
from imgpro.callers import caller as _caller
from imgpro.callers import viewer as _viewer
from imgpro.config import settings
from imgpro.errors import (
    FetchTimeout,
    ImportFailed,
    PayloadTooLarge,
    ValidationFailed,
)
from imgpro.http import Request, Response
from imgpro.naming import stored_name
from imgpro.pagination import parse_cursor
from imgpro.routes import ROUTES
from imgpro.urls import src_url
from imgpro.validation import (
    FieldErrors,
    InvalidField,
    parse_description,
    parse_filesize,
    parse_ids,
    parse_import_url,
    parse_limit,
    parse_name,
    parse_offset,
    parse_public,
    parse_tag_filter_mode,
    parse_tag_update_mode,
    parse_tags,
    parse_ttl,
)
from imgpro.views import (
    batch_delete_json,
    batch_update_json,
    direct_upload_json,
    media_json,
    page_json,
)

if TYPE_CHECKING:
    from imgpro.imaging.pipeline import Prepared
    from imgpro.imaging.privacy import StripPolicy
    from imgpro.importing import Imported

# --- GET / -------------------------------------------------------------------------------


def service_info(request: Request) -> Response:
    """What this service is and which routes it answers."""
    return Response.json(
        200,
        {
            "name": "imgpro",
            "description": "Self-hosted image hosting API, compatible with the img.pro API v1",
            "version": __version__,
            "api_version": "1.0",
            "endpoints": [{"method": r.method, "path": r.path} for r in ROUTES],
        },
    )


# --- POST /v1/upload ---------------------------------------------------------------------


def upload(request: Request) -> Response:
    """Store an image sent as multipart/form-data (`file` plus optional fields); 403
    `quota_exceeded` over the team's monthly quota (docs/quotas.md)."""
    caller = _caller(request, WRITE)
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
        team = _team_with_room(caller.team_id)
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
        team_id=caller.team_id,
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
    created = media.create(
        team.team_id,
        media.NewMedia(
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
    caller = _caller(request, WRITE)
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
        team = quotas.standing(caller.team_id)
        is_public = public if public is not None else team.public_default
        pending = media.create_pending(
            caller.team_id,
            media.PendingMedia(
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
        team_id=caller.team_id,
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
    caller = _caller(request, WRITE)
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
        team = _team_with_room(caller.team_id)  # before the fetch and the pixel work
        imported = _import(url, strip=team.strip_metadata)
        fields = _Fields(description, tags, ttl, public)
        created = _created(request, team, imported.image, imported.name, fields)
        observability.add_metric(observability.IMPORTS)
        return created

    result = idempotency.run_once(
        store,
        scope="import",
        team_id=caller.team_id,
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


# --- GET /v1/media -----------------------------------------------------------------------


def list_media(request: Request) -> Response:
    """The team's media, newest first, by cursor or offset, optionally by tags or ids."""
    caller = _caller(request, READ)
    query = request.query
    errors = FieldErrors()
    limit = errors.check("limit", parse_limit, query.get("limit"))
    offset = errors.check("offset", parse_offset, query.get("offset"))
    before = errors.check("cursor", parse_cursor, query.get("cursor"))
    tags = errors.check("tags", parse_tags, query.get("tags"))
    tag_mode = errors.check("tag_mode", parse_tag_filter_mode, query.get("tag_mode"))
    ids = errors.check("ids", parse_ids, query["ids"]) if "ids" in query else None
    if before and offset:
        errors.add("offset", "Use either cursor or offset, not both")
    errors.raise_if_any()

    if ids is not None:
        found = media.get_many(ids, team_id=caller.team_id)
        return Response.json(
            200,
            {
                "data": [media_json(m, api_base_url=request.base_url) for m in found],
                "has_more": False,
            },
        )
    page = media.list_media(
        caller.team_id,
        limit=limit or 0,
        before=before,
        offset=offset or 0,
        tags=tags or (),
        tag_mode=tag_mode or "any",
    )
    return Response.json(200, page_json(page, api_base_url=request.base_url))


# --- /v1/media/{uid} ---------------------------------------------------------------------


def get_media(request: Request) -> Response:
    """One media item: public media for anyone, private media for its own team."""
    viewer = _viewer(request, READ)
    found = media.get(_uid(request), team_id=viewer.team_id if viewer else None)
    return Response.json(200, media_json(found, api_base_url=request.base_url))


def update_media(request: Request) -> Response:
    caller = _caller(request, WRITE)
    changes = _changes(request.json())
    updated = media.update(_uid(request), changes, team_id=caller.team_id)
    return Response.json(200, media_json(updated, api_base_url=request.base_url))


def delete_media(request: Request) -> Response:
    caller = _caller(request, WRITE)
    media.delete(_uid(request), team_id=caller.team_id)
    return Response.empty(204)


def _uid(request: Request) -> str:
    return request.path_params.get("uid", "")


def _changes(body: dict[str, Any]) -> media.Changes:
    """The fields of a PATCH body. A JSON null or empty string clears description and
    tags; other fields ignore null."""
    errors = FieldErrors()
    name = errors.check("name", parse_name, body["name"]) if body.get("name") is not None else None
    description = (
        errors.check("description", parse_description, _cleared(body["description"]))
        if "description" in body
        else None
    )
    tags = errors.check("tags", parse_tags, _cleared(body["tags"])) if "tags" in body else None
    tag_mode = errors.check("tag_mode", parse_tag_update_mode, body.get("tag_mode"))
    public = errors.check("public", parse_public, body.get("public"))
    errors.raise_if_any()
    return media.Changes(
        name=name,
        description=description,
        tags=tuple(tags) if tags is not None else None,
        tag_mode=tag_mode or "replace",
        is_public=public,
    )


def _cleared(value: Any) -> Any:
    """JSON null means "clear", like an empty string; any other value is parsed as given."""
    return "" if value is None else value


# --- PATCH|DELETE /v1/media?ids= ---------------------------------------------------------


def batch_update(request: Request) -> Response:
    caller = _caller(request, WRITE)
    ids = _ids(request)
    changes = _changes(request.json())
    updated = media.update_many(ids, changes, team_id=caller.team_id)
    return Response.json(200, batch_update_json(updated, api_base_url=request.base_url))


def batch_delete(request: Request) -> Response:
    caller = _caller(request, WRITE)
    result = media.delete_many(_ids(request), team_id=caller.team_id)
    return Response.json(200, batch_delete_json(result))


def _ids(request: Request) -> list[str]:
    errors = FieldErrors()
    ids = errors.check("ids", parse_ids, request.query.get("ids"))
    errors.raise_if_any()
    return ids or []


# --- GET /{uid} --------------------------------------------------------------------------


def share(request: Request) -> Response:
    """The public sharing link (`url`): redirects to the image on the CDN."""
    found = media.get(_uid(request), team_id=None)
    return Response(
        status=302,
        headers={"Location": src_url(found), "Cache-Control": "public, max-age=300"},
    )
