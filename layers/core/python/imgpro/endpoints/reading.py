"""Reading one media item: `GET /v1/media/{uid}` and the sharing link `GET /{uid}`."""

from __future__ import annotations

from imgpro.auth import READ
from imgpro.callers import viewer
from imgpro.http import Request, Response
from imgpro.media import reading
from imgpro.urls import src_url
from imgpro.views import media_json


def get_media(request: Request) -> Response:
    """One media item: public media for anyone, private media for its own team."""
    who = viewer(request, READ)
    found = reading.get(media_uid(request), team_id=who.team_id if who else None)
    return Response.json(200, media_json(found, api_base_url=request.base_url))


def share(request: Request) -> Response:
    """The public sharing link (`url`): redirects to the image on the CDN."""
    found = reading.get(media_uid(request), team_id=None)
    return Response(
        status=302,
        headers={"Location": src_url(found), "Cache-Control": "public, max-age=300"},
    )


def media_uid(request: Request) -> str:
    """The `{uid}` of the path (a malformed one is simply not found)."""
    return request.path_params.get("uid", "")
