"""`GET /v1/media`: the team's media, newest first, by cursor or offset, optionally by
tags or ids."""

from __future__ import annotations

from imgpro.auth import READ
from imgpro.callers import caller
from imgpro.http import Request, Response
from imgpro.media import listing, reading
from imgpro.pagination import parse_cursor
from imgpro.validation import (
    FieldErrors,
    parse_ids,
    parse_limit,
    parse_offset,
    parse_tag_filter_mode,
    parse_tags,
)
from imgpro.views import media_json, page_json


def list_media(request: Request) -> Response:
    """The team's media, newest first, by cursor or offset, optionally by tags or ids."""
    who = caller(request, READ)
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
        found = reading.get_many(ids, team_id=who.team_id)
        return Response.json(
            200,
            {
                "data": [media_json(m, api_base_url=request.base_url) for m in found],
                "has_more": False,
            },
        )
    page = listing.list_media(
        who.team_id,
        limit=limit or 0,
        before=before,
        offset=offset or 0,
        tags=tags or (),
        tag_mode=tag_mode or "any",
    )
    return Response.json(200, page_json(page, api_base_url=request.base_url))
