"""`/_local/clock`: read or move the local stack's clock, which AWS does not have.

Every time the API hands out or checks (creation, `expires_at`, signed URLs) and the
TTL emulator's notion of "expired" come from `imgpro.clock`. DynamoDB accepts no TTL
under 5 minutes, so to watch media expire a test or a developer moves that clock:

    curl -X POST http://127.0.0.1:8787/_local/clock -d '{"advance_seconds": 600}'
    curl http://127.0.0.1:8787/_local/clock        # {"now": ..., "offset_seconds": 600.0}

`{"offset_seconds": N}` sets the offset from the wall clock instead (0 puts it back).
Only loopback clients may use it: a stack bound to all interfaces (`--host 0.0.0.0`)
must not let the network expire everyone's media. Not part of the deployed API.
"""

from __future__ import annotations

import json
import math

from imgpro import clock
from imgpro.local.events import HttpRequest, HttpResponse

PATH = "/_local/clock"
_LOOPBACK = ("127.", "::1")


def handle(request: HttpRequest) -> HttpResponse:
    if not request.source_ip.startswith(_LOOPBACK):
        return _answer(403, {"error": "Only loopback clients may move the local clock"})
    if request.method == "GET":
        return _state()
    if request.method != "POST":
        return _answer(405, {"error": "Use GET to read the clock, POST to move it"})
    try:
        change = json.loads(request.body or b"{}")
    except ValueError:
        return _answer(400, {"error": "The body must be JSON"})
    if not isinstance(change, dict) or len(change) != 1:
        return _answer(400, {"error": 'Send one of {"advance_seconds": N}, {"offset_seconds": N}'})
    ((name, value),) = change.items()
    if name not in ("advance_seconds", "offset_seconds") or not _finite(value):
        return _answer(400, {"error": f"{name} must be a number of seconds"})
    clock.set_offset(clock.offset() + value if name == "advance_seconds" else value)
    return _state()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _state() -> HttpResponse:
    return _answer(200, {"now": clock.now(), "offset_seconds": clock.offset()})


def _answer(status: int, body: dict[str, object]) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers=(("Content-Type", "application/json"),),
        body=json.dumps(body).encode(),
    )
