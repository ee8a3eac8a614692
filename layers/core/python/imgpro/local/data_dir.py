"""A local stack's folder: `imgpro local --data-dir DIR`, and where the generated token is
remembered without one (`.imgpro-local/token` of the folder the stack starts in).

    DIR/state.json         the table's items (DynamoDB JSON), each object's key, headers,
                           tags and content hash, the clock offset, moto's port
                           (`imgpro.local.persistence` writes and reads it)
    DIR/objects/<sha256>   the bytes of the objects, once per distinct content
    DIR/token              the generated token (`id|secret`), when no --token is given
    DIR/signing-key.pem    the local CDN's signing key: signed URLs outlive a restart
    DIR/.lock              held while a stack uses the folder
    DIR/.gitignore         `*`: the folder holds secrets (made with the folder)

Every file is written under a temporary name, flushed to disk and renamed into place
(`write_atomically`): a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any

FORMAT = 1
"""state.json's layout; a folder written in another is refused, never guessed at."""
STATE_FILE = "state.json"
BLOBS = "objects"
TOKEN_FILE = "token"
SIGNING_KEY_FILE = "signing-key.pem"
LOCK_FILE = ".lock"
LOCAL_STATE_DIR = ".imgpro-local"
"""Where the generated token is remembered without --data-dir, in the starting folder."""
_GITIGNORE = "# Made by `imgpro local`: tokens, a private key and local data.\n*\n"

logger = logging.getLogger("imgpro.local")


class DataDirError(Exception):
    """The data directory cannot be used: in use by another stack, or unreadable."""


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace `path` by `data` all at once: a crash leaves the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # The rename itself reaches the disk only with its folder (POSIX; a no-op elsewhere).
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def make_state_dir(directory: Path) -> None:
    """Create the folder (and its parents); a new one ignores itself in git, as pytest's
    cache does, since it holds secrets."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        write_atomically(directory / ".gitignore", _GITIGNORE.encode())


class TokenFile:
    """The generated token's `id|secret`, remembered so the next start prints it again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def secret(self) -> str | None:
        """The remembered secret; None without a (readable, well-formed) file."""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeError):
            return None
        token_id, bar, secret = text.partition("|")
        if not bar or not token_id.isdigit() or not secret:
            logger.warning("%s does not hold an id|secret token; making a new one", self.path)
            return None
        return secret

    def remember(self, sanctum: str) -> None:
        """Keep `id|secret`; a folder that cannot be written is a warning, not a failure."""
        try:
            if self.path.read_text(encoding="utf-8").strip() == sanctum:
                return
        except (OSError, UnicodeError):
            pass
        try:
            make_state_dir(self.path.parent)
            write_atomically(self.path, f"{sanctum}\n".encode(), private=True)
        except OSError as error:
            logger.warning("cannot remember the token in %s: %s", self.path, error.strerror)


class DataDir:
    """One stack's claim on a data directory: its lock, files and last saved state."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = TokenFile(path / TOKEN_FILE)
        self.signing_key = path / SIGNING_KEY_FILE
        self.blobs = path / BLOBS
        self.saved: dict[str, Any] | None = None
        """state.json as last read or written; None in a new folder."""
        self._lock: IO[bytes] | None = None

    def open(self) -> None:
        """Claim the folder (made if missing) and read its state. DataDirError if another
        stack holds it, or its state is unreadable: nothing is overwritten then."""
        try:
            make_state_dir(self.path)
            self.blobs.mkdir(exist_ok=True)
            self._lock = _claim(self.path / LOCK_FILE)
        except OSError as error:
            raise DataDirError(f"cannot use {self.path}: {error.strerror or error}") from None
        if self._lock is None:
            raise DataDirError(f"{self.path} is in use by another imgpro local")
        try:
            self.saved = self._read_state()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    @property
    def aws_port(self) -> int | None:
        """moto's port at the last save: tried first, so presigned URLs stay valid."""
        port = (self.saved or {}).get("aws_port")
        return port if isinstance(port, int) and 0 < port < 65536 else None

    def _read_state(self) -> dict[str, Any] | None:
        path = self.path / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise DataDirError(f"cannot read {path}: {error.strerror}") from None
        try:
            state = json.loads(raw)
        except ValueError as error:
            raise DataDirError(
                f"{path} is not valid JSON ({error}); move it away to start afresh"
            ) from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            found = state.get("format") if isinstance(state, dict) else None
            raise DataDirError(
                f"{path} has format {found!r}, this imgpro reads {FORMAT}; "
                "move the folder away to start afresh"
            )
        return state


def _claim(path: Path) -> IO[bytes] | None:
    """An exclusive lock on `path` held while the file stays open; None if held elsewhere."""
    handle = path.open("ab")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one stack per folder is on trust
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
