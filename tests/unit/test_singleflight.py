"""SingleFlight: concurrent callers of one key share one call; other keys do not wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from imgpro.singleflight import SingleFlight


def test_concurrent_callers_of_one_key_share_a_single_call() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()
    calls = []

    def work() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    with ThreadPoolExecutor(8) as pool:
        leader = pool.submit(flight.run, "v/abc/xxl.webp", work)
        assert started.wait(5)
        followers = [pool.submit(flight.run, "v/abc/xxl.webp", work) for _ in range(7)]
        release.set()
        results = [leader.result(5)] + [f.result(5) for f in followers]
    assert results == [42] * 8
    assert len(calls) == 1


def test_an_error_reaches_every_waiting_caller_and_the_next_call_tries_again() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def failing() -> int:
        started.set()
        release.wait(5)
        raise ValueError("render failed")

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(flight.run, "k", failing)
        assert started.wait(5)
        follower = pool.submit(flight.run, "k", failing)
        release.set()
        for future in (leader, follower):
            with pytest.raises(ValueError, match="render failed"):
                future.result(5)
    assert flight.run("k", lambda: 7) == 7


def test_different_keys_run_side_by_side() -> None:
    flight: SingleFlight[str] = SingleFlight()
    barrier = threading.Barrier(2, timeout=5)

    def work(key: str) -> str:
        barrier.wait()  # would time out if the second key waited for the first
        return key

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(flight.run, key, lambda key=key: work(key)) for key in "ab"]
        assert [f.result(5) for f in futures] == ["a", "b"]
