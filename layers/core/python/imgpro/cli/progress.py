"""What `imgpro upload` says while it works, on stderr: a progress bar per file on a
terminal (rich, imported only here and only then), plain lines otherwise (a log, a pipe,
`--no-progress`, or no rich installed), so stdout holds only the results."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class FileProgress(Protocol):
    def set_completed(self, nbytes: int) -> None:
        """`nbytes` are sent in all (parts S3 had already, or none after starting over)."""

    def part_sent(self, number: int, count: int, nbytes: int) -> None: ...

    def close(self) -> None:
        """The file is done (or given up): its bar stops here."""


class Reporter(Protocol):
    def note(self, text: str) -> None:
        """A line for the person watching (resuming, retrying, ...)."""

    def start(self, name: str, total: int) -> FileProgress: ...


class PlainReporter:
    """Lines on stderr: what a log or a pipe can keep."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def note(self, text: str) -> None:
        print(text, file=self.stream or sys.stderr, flush=True)

    def start(self, name: str, total: int) -> FileProgress:
        return _PlainFile(self, name)


class _PlainFile:
    def __init__(self, reporter: PlainReporter, name: str) -> None:
        self.reporter = reporter
        self.name = name

    def set_completed(self, nbytes: int) -> None:
        pass

    def part_sent(self, number: int, count: int, nbytes: int) -> None:
        self.reporter.note(f"{self.name}: part {number} of {count} sent ({nbytes:,} bytes)")

    def close(self) -> None:
        pass


class BarReporter:
    """A rich progress bar per file, on stderr; notes print above it."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def start(self, name: str, total: int) -> FileProgress:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = progress.add_task(name, total=total)
        progress.start()
        return _BarFile(progress, task)


class _BarFile:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress = progress
        self.task = task

    def set_completed(self, nbytes: int) -> None:
        self.progress.update(self.task, completed=nbytes)

    def part_sent(self, number: int, count: int, nbytes: int) -> None:
        pass

    def close(self) -> None:
        self.progress.stop()


def reporter(*, bars: bool) -> Reporter:
    """Bars when asked for, stderr is a terminal and rich is installed; lines otherwise."""
    if bars and sys.stderr.isatty():
        try:
            return BarReporter()
        except ImportError:
            pass
    return PlainReporter()


class Throttle:
    """At most `rate` bytes a second, over all that goes through it (`--limit-rate`)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._started: float | None = None
        self._sent = 0

    def wait(self, nbytes: int) -> None:
        """Sleep until `nbytes` more may go."""
        if not self.rate:
            return
        now = time.monotonic()
        if self._started is None:
            self._started = now
        self._sent += nbytes
        ahead = self._sent / self.rate - (now - self._started)
        if ahead > 0:
            time.sleep(ahead)
