"""imgpro.clock, and the `clock` fixture that freezes it for a test."""

from __future__ import annotations

import time

from imgpro import clock as domain_clock


def test_unpatched_it_is_the_wall_clock() -> None:
    before = time.time()
    now = domain_clock.now()
    assert before <= now <= time.time()
    assert abs(domain_clock.now_ms() - now * 1000) < 60_000


def test_the_fixture_freezes_and_moves_it(clock) -> None:
    clock.set(1_700_000_000.25)
    assert domain_clock.now() == 1_700_000_000.25
    assert domain_clock.now_ms() == 1_700_000_000_250
    clock.advance(90)
    assert domain_clock.now() == 1_700_000_090.25
