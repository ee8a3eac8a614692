"""Changing media: `PATCH|DELETE /v1/media/{uid}` and the batch forms on
`/v1/media?ids=`."""

from __future__ import annotations

from typing import Any

from imgpro.auth import WRITE
from imgpro.callers import caller
from imgpro.endpoints.reading import media_uid
from imgpro.http import Request, Response
from imgpro.media import changing
from imgpro.media.inputs import Changes
from imgpro.validation import (
    FieldErrors,
    parse_description,
    parse_ids,
    parse_name,
    parse_public,
    parse_tag_update_mode,
    parse_tags,
)
from imgpro.views import batch_delete_json, batch_update_json, media_json


def update_media(request: Request) -> Response:
    who = caller(request, WRITE)
    changes = _changes(request.json())
    updated = changing.update(media_uid(request), changes, team_id=who.team_id)
    return Response.json(200, media_json(updated, api_base_url=request.base_url))


def delete_media(request: Request) -> Response:
    who = caller(request, WRITE)
    changing.delete(media_uid(request), team_id=who.team_id)
    return Response.empty(204)


def batch_update(request: Request) -> Response:
    who = caller(request, WRITE)
    ids = _ids(request)
    changes = _changes(request.json())
    updated = changing.update_many(ids, changes, team_id=who.team_id)
    return Response.json(200, batch_update_json(updated, api_base_url=request.base_url))


def batch_delete(request: Request) -> Response:
    who = caller(request, WRITE)
    result = changing.delete_many(_ids(request), team_id=who.team_id)
    return Response.json(200, batch_delete_json(result))


def _ids(request: Request) -> list[str]:
    errors = FieldErrors()
    ids = errors.check("ids", parse_ids, request.query.get("ids"))
    errors.raise_if_any()
    return ids or []


def _changes(body: dict[str, Any]) -> Changes:
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
    return Changes(
        name=name,
        description=description,
        tags=tuple(tags) if tags is not None else None,
        tag_mode=tag_mode or "replace",
        is_public=public,
    )


def _cleared(value: Any) -> Any:
    """JSON null means "clear", like an empty string; any other value is parsed as given."""
    return "" if value is None else value
