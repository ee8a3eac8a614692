"""What a resumable upload needs to survive an interruption: how a file is cut into
parts, and a small state file per upload under the user's cache directory.

The state file is named after what identifies "the same upload of the same file": the
API's URL, the token's id (never its secret), the file's real path, size and
modification time. Running the same command again finds it, asks the API which parts
S3 has, and sends the others. A changed file is another upload (its parts would not
fit together); state files older than S3's lifecycle rule (incomplete uploads are
aborted after a day) are swept away.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
"""S3's smallest part, except the last."""
MAX_PARTS = 10_000
"""S3's most parts in one upload."""
STALE_AFTER_S = 2 * 24 * 3600
"""The bucket aborts incomplete uploads after a day: a state file twice that old is dead."""
STATE_VERSION = 1
CACHE_ENV = "XDG_CACHE_HOME"


@dataclass(frozen=True)
class PartSpan:
    """One part: its S3 part number (from 1) and its bytes in the file."""

    number: int
    offset: int
    length: int


def plan_parts(size: int, part_size: int = PART_SIZE) -> list[PartSpan]:
    """The parts of a file of `size` bytes: `part_size` each, the last one what is left.
    The part size grows (in whole MiB) when S3's 10,000 parts would not hold the file."""
    if size <= 0:
        raise ValueError("an empty file has no parts")
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"parts are at least {MIN_PART_SIZE:,} bytes (S3's minimum)")
    smallest = -(-size // MAX_PARTS)  # the part size that makes exactly MAX_PARTS parts
    if smallest > part_size:
        part_size = -(-smallest // MiB) * MiB
    return [
        PartSpan(number=index + 1, offset=offset, length=min(part_size, size - offset))
        for index, offset in enumerate(range(0, size, part_size))
    ]


def parts_to_send(plan: list[PartSpan], uploaded: Mapping[int, int]) -> list[PartSpan]:
    """The planned parts S3 does not have (`uploaded`: part number -> its size): those it
    never got, and those whose size is not the planned one (sent again, they replace it)."""
    return [part for part in plan if uploaded.get(part.number) != part.length]


@dataclass
class UploadState:
    """What is kept between runs about one resumable upload."""

    api_url: str
    path: str
    size: int
    mtime_ns: int
    part_size: int
    upload_id: str
    key: str
    media_id: str
    options: dict[str, Any] = field(default_factory=dict)
    """The upload's description, tags, ttl and visibility, as given when it started."""
    completing: bool = False
    """`complete` was sent: if the upload is gone now, it may have been completed."""
    started: float = field(default_factory=time.time)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> UploadState:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not an upload state of this version")
        known = {name for name in cls.__dataclass_fields__}
        state = cls(**{name: value for name, value in data.items() if name in known})
        if not (state.upload_id and state.key and state.media_id):
            raise ValueError("an upload state without its upload id, key and media id")
        return state


def default_state_dir() -> Path:
    """`$XDG_CACHE_HOME/imgpro/uploads`, or `~/.cache/imgpro/uploads`."""
    cache = os.environ.get(CACHE_ENV, "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "imgpro" / "uploads"


def state_name(api_url: str, token_id: str, path: Path, size: int, mtime_ns: int) -> str:
    """The state file's name for this upload of this file."""
    identity = "\n".join(
        [api_url.rstrip("/"), token_id, str(path.resolve()), str(size), str(mtime_ns)]
    )
    return hashlib.sha256(identity.encode()).hexdigest() + ".json"


@dataclass(frozen=True)
class StateStore:
    """The state files in one directory; a broken or foreign file reads as none."""

    directory: Path

    def load(self, name: str) -> UploadState | None:
        try:
            return UploadState.from_json((self.directory / name).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            self.delete(name)
            return None

    def save(self, name: str, state: UploadState) -> None:
        """Written whole or not at all (a temporary file renamed over it), readable by
        its owner alone. OSError when it cannot be written."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(state.to_json())
            os.replace(temporary, self.directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def delete(self, name: str) -> None:
        with contextlib.suppress(OSError):
            (self.directory / name).unlink()

    def sweep(self, *, now: float | None = None, older_than: float = STALE_AFTER_S) -> int:
        """Delete state files (and leftover temporary files) older than `older_than`
        seconds; how many went."""
        cutoff = (time.time() if now is None else now) - older_than
        swept = 0
        with contextlib.suppress(OSError):
            for entry in self.directory.iterdir():
                if not entry.name.endswith((".json", ".tmp")):
                    continue
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        entry.unlink()
                        swept += 1
        return swept
