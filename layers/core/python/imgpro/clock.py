"""The wall clock that every time-dependent decision of the domain reads.

Creation and update times of media, expiry (TTL) checks, the expiry of signed and
presigned URLs, team and token timestamps: all of them call `now()` here, so a test
freezes or moves time by patching this one function (the `clock` fixture in
tests/conftest.py does). Call it as `clock.now()` through the module, never
`from imgpro.clock import now`: a copied name would not see the patch.

Durations and deadlines (how long something took, how long is left) are not wall
time and use `time.monotonic()` directly: a frozen test clock must not stall them.

A local and testing aid: when `IMGPRO_CLOCK_OFFSET_SECONDS` is set, `now()` is that many
seconds ahead of the wall clock (behind, if negative), and `set_offset` moves it while
the process runs; the local stack's `POST /_local/clock` does, so that a test or a
developer can watch media expire without waiting for its TTL. AWS never sets it.
"""

from __future__ import annotations

import os
import time

from imgpro.config import CLOCK_OFFSET_SECONDS


def _offset_from_environment() -> float:
    raw = os.environ.get(CLOCK_OFFSET_SECONDS, "").strip()
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"{CLOCK_OFFSET_SECONDS} must be a number of seconds, got {raw!r}"
        ) from None


_offset = _offset_from_environment()


def now() -> float:
    """Seconds since the epoch (plus the offset, where a local stack or test set one)."""
    return time.time() + _offset


def offset() -> float:
    """Seconds `now()` is ahead of the wall clock: 0 unless set (locally, in tests)."""
    return _offset


def set_offset(seconds: float) -> None:
    """Put `now()` `seconds` ahead of the wall clock, for this process. Local and tests only."""
    global _offset
    _offset = float(seconds)


def now_ms() -> int:
    """Milliseconds since the epoch, from `now()` (so a patched `now` moves it too)."""
    return int(now() * 1000)
