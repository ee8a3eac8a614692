"""The wall clock that every time-dependent decision of the domain reads.

Creation and update times of media, expiry (TTL) checks, the expiry of signed and
presigned URLs, team and token timestamps: all of them call `now()` here, so a test
freezes or moves time by patching this one function (the `clock` fixture in
tests/conftest.py does). Call it as `clock.now()` through the module, never
`from imgpro.clock import now`: a copied name would not see the patch.

Durations and deadlines (how long something took, how long is left) are not wall
time and use `time.monotonic()` directly: a frozen test clock must not stall them.
"""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch."""
    return time.time()


def now_ms() -> int:
    """Milliseconds since the epoch, from `now()` (so a patched `now` moves it too)."""
    return int(now() * 1000)
