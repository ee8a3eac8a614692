"""One call per key at a time: concurrent callers with the same key share its result.

The first request for a variant renders it; others for the same variant that arrive
meanwhile wait for that render instead of starting their own (20 concurrent first
requests for one `xxl` once took 1.2-1.85 GB, each rendering it). Within one process
only: a Lambda container serves one request at a time, so this matters where threads
share a process (the local stack); across the edge, CloudFront's request collapsing
does the same job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call[T]] = {}

    def run(self, key: str, work: Callable[[], T]) -> T:
        """`work()`'s result, computed once however many threads ask for `key` at once.
        An error is raised in every waiting caller; the next call after it tries again."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.result  # type: ignore[return-value]
        try:
            call.result = work()
        except BaseException as error:
            call.error = error
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
        return call.result
