"""`GET /`: what this service is and which routes it answers."""

from __future__ import annotations

from imgpro import __version__
from imgpro.http import Request, Response
from imgpro.routes import ROUTES


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
