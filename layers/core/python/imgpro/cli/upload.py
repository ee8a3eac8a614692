"""`imgpro upload FILE...`: small files in one request, large ones resumably.

- Up to 4 MiB: `POST /v1/upload` (multipart/form-data), under the ~4.5 MB that API
  Gateway and Lambda take in one binary request. An `Idempotency-Key` per file makes
  retrying it after a lost answer safe.
- Larger, up to 100 MiB: an S3 multipart upload through the API's resumable routes
  (imgpro.endpoints.resumable). 8 MiB parts go straight to S3 through presigned URLs;
  a state file (imgpro.cli.resume) remembers the upload, so the same command run again
  after an interruption asks which parts S3 has and sends only the others.

Each request that may be repeated (a part, the listing, the completion, the small
upload with its key) is retried a few times with backoff on what may pass: no answer,
5xx, 429 (after its Retry-After), an expired part URL. Opening an upload is not: a
repeat would open a second one.
"""

from __future__ import annotations

import contextlib
import itertools
import mimetypes
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from imgpro.cli import output
from imgpro.cli.api import Api, ApiError, ClientError, token_id, transient
from imgpro.cli.progress import FileProgress, Reporter, Throttle
from imgpro.cli.resume import (
    MiB,
    PartSpan,
    StateStore,
    UploadState,
    parts_to_send,
    plan_parts,
    state_name,
)

SMALL_UPLOAD_MAX = 4 * MiB
"""The largest file sent in one request (POST /v1/upload)."""
MAX_FILE_SIZE = 100 * MiB
"""The API's largest upload (imgpro.imaging.limits.MAX_UPLOAD_BYTES)."""
CHUNK = 256 * 1024
"""Bytes read and sent at a time: the progress bar's and the rate limit's step."""
ATTEMPTS = 5
"""Tries of one request that may be repeated, the first included."""
BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0
MULTIPART = "/v1/uploads/s3/multipart"

T = TypeVar("T")


class Interrupted(ClientError):
    """Ctrl-C: stop here, saying how to go on."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=130)


class UploadGone(Exception):
    """The server no longer knows the resumable upload (aborted, expired, completed)."""


@dataclass(frozen=True)
class Options:
    """What every file of one `imgpro upload` gets."""

    description: str | None = None
    tags: str | None = None
    ttl: str | None = None
    public: bool | None = None
    wait: bool = False
    wait_timeout: float = 300.0
    restart: bool = False

    def metadata(self) -> dict[str, Any]:
        """The `metadata` of a resumable upload: only what was given."""
        given = {
            "description": self.description,
            "tags": self.tags,
            "ttl": self.ttl,
            "public": self.public,
        }
        return {name: value for name, value in given.items() if value is not None}

    def form_fields(self) -> dict[str, str]:
        """The text fields of POST /v1/upload: only what was given."""
        fields = {
            name: value
            for name, value in self.metadata().items()
            if name != "public" and isinstance(value, str)
        }
        if self.public is not None:
            fields["public"] = "1" if self.public else "0"
        return fields


@dataclass(frozen=True)
class LocalFile:
    path: Path
    name: str
    size: int
    mtime_ns: int
    content_type: str

    @classmethod
    def inspect(cls, path: str | Path) -> LocalFile:
        """The file to upload, or why it cannot be (ClientError)."""
        given = Path(path)
        try:
            stat = given.stat()
        except FileNotFoundError:
            raise ClientError(f"{path}: no such file") from None
        except OSError as error:
            raise ClientError(f"{path}: {error.strerror or error}") from None
        if given.is_dir():
            raise ClientError(f"{path}: is a directory (give the files in it)")
        if not os.access(given, os.R_OK):
            raise ClientError(f"{path}: not readable")
        if stat.st_size == 0:
            raise ClientError(f"{path}: the file is empty")
        if stat.st_size > MAX_FILE_SIZE:
            raise ClientError(
                f"{path}: {stat.st_size:,} bytes ({output.human_size(stat.st_size)}), more "
                f"than the {MAX_FILE_SIZE:,} bytes (100 MiB) an upload may be"
            )
        kind = mimetypes.guess_type(given.name)[0] or "application/octet-stream"
        return cls(
            path=given,
            name=given.name,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            content_type=kind,
        )

    @property
    def resumable(self) -> bool:
        return self.size > SMALL_UPLOAD_MAX


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before try `attempt + 1`: the server's Retry-After when it gave
    one, else 1, 2, 4, 8 ... s (at most MAX_BACKOFF_S), give or take a fifth."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER_S)
    base = min(BACKOFF_S * 2.0 ** (attempt - 1), MAX_BACKOFF_S)
    return base * random.uniform(0.8, 1.2)


class Uploader:
    def __init__(
        self,
        api: Api,
        options: Options,
        reporter: Reporter,
        store: StateStore,
        *,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.options = options
        self.reporter = reporter
        self.store = store
        self.throttle = throttle or Throttle(None)
        self.sleep = sleep
        self._unsaved = False

    def upload(self, file: LocalFile) -> dict[str, Any]:
        """The media of the uploaded file (ready, if waited for). Errors name the file."""
        try:
            bar = self.reporter.start(file.name, file.size)
            try:
                media = (
                    self._resumable(file, bar)
                    if file.resumable
                    else self._small_or_parts(file, bar)
                )
            finally:
                bar.close()
            if self.options.wait:
                media = self.wait_until_ready(file.name, media)
        except Interrupted:
            raise
        except ClientError as error:
            raise ClientError(f"{file.path}: {error}", status=error.status) from None
        return media

    # --- one request ----------------------------------------------------------------------

    def _small_or_parts(self, file: LocalFile, bar: FileProgress) -> dict[str, Any]:
        """One request, or parts when this API takes less in one (its
        IMGPRO_MAX_DIRECT_UPLOAD_BYTES, or a proxy's limit, below 4 MiB): a 413."""
        try:
            return self._small(file, bar)
        except ApiError as error:
            if error.http_status != 413:
                raise
        self.reporter.note(f"{file.name}: too large for one request here; sending it in parts")
        bar.set_completed(0)
        return self._resumable(file, bar)

    def _small(self, file: LocalFile, bar: FileProgress) -> dict[str, Any]:
        import urllib3

        try:
            data = file.path.read_bytes()
        except OSError as error:
            raise ClientError(str(error.strerror or error)) from None
        fields: dict[str, Any] = {
            "file": (file.name, data, file.content_type),
            **self.options.form_fields(),
        }
        body, content_type = urllib3.encode_multipart_formdata(fields)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            # The same key on every try: a retry after a lost answer gets the first
            # answer, not a second media.
            "Idempotency-Key": uuid.uuid4().hex,
        }

        def send() -> Any:
            # The bar counts the file's bytes, not the form's around them.
            chunks = self._chunks(
                _memory(body),
                len(body),
                lambda done: bar.set_completed(done * file.size // len(body)),
            )
            return self.api.call("POST", "/v1/upload", raw=chunks, headers=headers)

        try:
            media = self._retrying(file.name, send)
        except KeyboardInterrupt:
            raise Interrupted(f"{file.name}: interrupted; nothing was kept") from None
        return _media(media)

    # --- resumable ------------------------------------------------------------------------

    def _resumable(self, file: LocalFile, bar: FileProgress) -> dict[str, Any]:
        plan = plan_parts(file.size)
        name = state_name(
            self.api.base_url, token_id(self.api.token), file.path, file.size, file.mtime_ns
        )
        state = self.store.load(name)
        done: dict[int, str] = {}
        try:
            if state is not None and self.options.restart:
                self._abort(state)
                self.store.delete(name)
                state = None
            for round_ in (1, 2):
                if state is None:
                    state = self._create(file, name, plan)
                    done = {}
                else:
                    listed = self._listed(state)
                    if listed is None:
                        finished = self._finished(state)
                        if finished is not None:
                            self.store.delete(name)
                            return finished
                        self.reporter.note(
                            f"{file.name}: the server no longer has the upload started "
                            f"{_ago(state.started)}; starting over"
                        )
                        self._forget(name, state)
                        state = None
                        continue
                    done = self._resume(file, state, plan, listed, bar)
                try:
                    for part in [part for part in plan if part.number not in done]:
                        before = sum(_planned(plan, number) for number in done)
                        done[part.number] = self._send_part(file, state, part, bar, before)
                        bar.part_sent(part.number, len(plan), part.length)
                    return self._complete(file, name, state, plan, done)
                except UploadGone:
                    if round_ == 2:
                        raise ClientError(
                            "the server dropped the upload twice; giving up"
                        ) from None
                    self.reporter.note(f"{file.name}: the server dropped the upload; starting over")
                    self._forget(name, state)
                    state = None
                    bar.set_completed(0)
            raise AssertionError("unreachable")  # pragma: no cover
        except KeyboardInterrupt:
            if state is None:
                raise Interrupted(f"{file.name}: interrupted before any part was sent") from None
            raise Interrupted(
                f"{file.name}: interrupted with {len(done)} of {len(plan)} parts uploaded; "
                "run the same command again to resume"
            ) from None
        except ClientError as error:
            if state is None or isinstance(error, Interrupted):
                raise
            raise ClientError(
                f"{error}; {len(done)} of {len(plan)} parts are uploaded: "
                "run the same command again to resume",
                status=error.status,
            ) from None

    def _create(self, file: LocalFile, name: str, plan: list[PartSpan]) -> UploadState:
        metadata = {**self.options.metadata(), "size": file.size}
        started = self.api.call(
            "POST",
            MULTIPART,
            body={
                "filename": file.name,
                "type": file.content_type,
                "size": file.size,
                "metadata": metadata,
            },
        )
        if not isinstance(started, dict) or not all(
            isinstance(started.get(field), str) for field in ("uploadId", "key")
        ):
            raise ClientError(f"the API opened no upload: {started!r:.200}")
        state = UploadState(
            api_url=self.api.base_url,
            path=str(file.path.resolve()),
            size=file.size,
            mtime_ns=file.mtime_ns,
            part_size=plan[0].length,
            upload_id=started["uploadId"],
            key=started["key"],
            media_id=str(_media(started.get("media")).get("id", "")),
            options=self.options.metadata(),
        )
        self._keep(name, state)
        return state

    def _listed(self, state: UploadState) -> dict[int, tuple[int, str]] | None:
        """The parts S3 has, part number -> (size, ETag); None when the upload is gone."""
        try:
            parts = self._retrying(
                "listing the uploaded parts",
                lambda: self.api.call("GET", self._path(state), query={"key": state.key}),
            )
        except ApiError as error:
            if _gone(error):
                return None
            raise
        listed: dict[int, tuple[int, str]] = {}
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict):
                listed[int(part["PartNumber"])] = (int(part["Size"]), str(part["ETag"]))
        return listed

    def _resume(
        self,
        file: LocalFile,
        state: UploadState,
        plan: list[PartSpan],
        listed: dict[int, tuple[int, str]],
        bar: FileProgress,
    ) -> dict[int, str]:
        """The listed parts that are the planned ones (number and size), by their ETags."""
        missing = parts_to_send(plan, {number: size for number, (size, _) in listed.items()})
        wanted = {part.number for part in missing}
        done = {part.number: listed[part.number][1] for part in plan if part.number not in wanted}
        self.reporter.note(
            f"{file.name}: resuming the upload started {_ago(state.started)}: "
            f"{len(done)} of {len(plan)} parts are uploaded, sending {len(missing)}"
        )
        if state.options != self.options.metadata():
            self.reporter.note(
                f"{file.name}: it keeps the description, tags, ttl and visibility given when "
                "it started; pass --restart to start over with these"
            )
        bar.set_completed(sum(_planned(plan, number) for number in done))
        return done

    def _send_part(
        self,
        file: LocalFile,
        state: UploadState,
        part: PartSpan,
        bar: FileProgress,
        before: int,
    ) -> str:
        """Sign the part's URL and PUT it there (both again on a retry); its ETag. The bar
        shows `before` bytes (the parts S3 has) and this part's as they go."""

        def progress(sent: int) -> None:
            bar.set_completed(before + sent)

        def attempt() -> str:
            progress(0)  # what a failed try counted is sent again
            signed = self.api.call(
                "GET", f"{self._path(state)}/{part.number}", query={"key": state.key}
            )
            url = signed.get("url") if isinstance(signed, dict) else None
            if not isinstance(url, str):
                raise ClientError(f"the API signed no URL for part {part.number}: {signed!r:.200}")
            chunks = self._chunks(_slice(file, part), part.length, progress)
            return self.api.put(url, chunks, part.length)

        try:
            etag = self._retrying(f"{file.name}: part {part.number}", attempt)
        except ApiError as error:
            if _gone(error) or error.code == "NoSuchUpload":
                raise UploadGone() from None
            raise
        return etag

    def _complete(
        self,
        file: LocalFile,
        name: str,
        state: UploadState,
        plan: list[PartSpan],
        done: dict[int, str],
    ) -> dict[str, Any]:
        state.completing = True
        self._keep(name, state)
        parts = [{"PartNumber": part.number, "ETag": done[part.number]} for part in plan]
        try:
            completed = self._retrying(
                f"{file.name}: completing",
                lambda: self.api.call(
                    "POST",
                    f"{self._path(state)}/complete",
                    query={"key": state.key},
                    body={"parts": parts},
                ),
            )
        except ApiError as error:
            if not _gone(error):
                raise
            # A retried completion whose first try went through: the media is there.
            finished = self._finished(state)
            if finished is None:
                raise UploadGone() from None
            completed = {"media": finished}
        self.store.delete(name)
        return _media(completed.get("media") if isinstance(completed, dict) else None)

    def _finished(self, state: UploadState) -> dict[str, Any] | None:
        """The media of an upload that is gone because it was completed, if it was."""
        if not state.completing:
            return None
        try:
            found = self.api.call("GET", f"/v1/media/{quote(state.media_id, safe='')}")
        except ApiError as error:
            if error.http_status == 404:
                return None
            raise
        return _media(found)

    def _keep(self, name: str, state: UploadState) -> None:
        """Save the state; an upload whose state cannot be saved goes on, unresumable."""
        try:
            self.store.save(name, state)
        except OSError as error:
            if not self._unsaved:
                self.reporter.note(
                    f"cannot keep upload state in {self.store.directory} "
                    f"({error.strerror or error}): an interrupted upload will start over; "
                    "set XDG_CACHE_HOME to a writable directory"
                )
            self._unsaved = True

    def _forget(self, name: str, state: UploadState) -> None:
        """Drop a dead upload's state, and its pending media (best effort: it holds a
        quota reservation until deleted)."""
        self.store.delete(name)
        with contextlib.suppress(ClientError):
            self.api.call("DELETE", f"/v1/media/{quote(state.media_id, safe='')}")

    def _abort(self, state: UploadState) -> None:
        try:
            self.api.call("DELETE", self._path(state), query={"key": state.key})
        except ApiError as error:
            if not _gone(error):
                raise
        self.reporter.note(f"aborted the upload started {_ago(state.started)}")

    @staticmethod
    def _path(state: UploadState) -> str:
        return f"{MULTIPART}/{quote(state.upload_id, safe='')}"

    # --- waiting, retrying, sending -------------------------------------------------------

    def wait_until_ready(self, name: str, media: dict[str, Any]) -> dict[str, Any]:
        """Poll the media until it is no longer processing; ClientError if it failed or
        took longer than the wait timeout."""
        deadline = time.monotonic() + self.options.wait_timeout
        delay = 0.25
        uid = quote(str(media.get("id", "")), safe="")
        while output.status(media) == "processing":
            if time.monotonic() >= deadline:
                raise ClientError(
                    f"still processing after {self.options.wait_timeout:g} s; "
                    f"`imgpro show {media.get('id')}` says when it is ready"
                )
            self.sleep(delay)
            delay = min(delay * 1.5, 3.0)
            media = _media(
                self._retrying(f"{name}: waiting", lambda: self.api.call("GET", f"/v1/media/{uid}"))
            )
        if output.status(media) == "failed":
            raise ClientError(
                f"processing failed: {media.get('failure_reason') or 'no reason given'} "
                f"(media {media.get('id')})"
            )
        return media

    def _retrying(self, what: str, action: Callable[[], T]) -> T:
        for attempt in itertools.count(1):
            try:
                return action()
            except ClientError as error:
                if attempt >= ATTEMPTS or not transient(error, answered=self.api.answered):
                    raise
                delay = backoff(attempt, error.retry_after if isinstance(error, ApiError) else None)
                self.reporter.note(f"{what}: {error}; trying again in {delay:.1f} s")
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _chunks(
        self, source: Iterator[bytes], length: int, progress: Callable[[int], None]
    ) -> Iterator[bytes]:
        """`source`'s chunks, paced by the throttle; `progress` is told the bytes sent so
        far as they go."""
        total = 0
        for chunk in source:
            self.throttle.wait(len(chunk))
            yield chunk
            total += len(chunk)
            progress(total)
        if total != length:
            raise ClientError(
                f"the file changed while it was uploaded ({total:,} of {length:,} bytes)"
            )


def _slice(file: LocalFile, part: PartSpan) -> Iterator[bytes]:
    with file.path.open("rb") as handle:
        handle.seek(part.offset)
        left = part.length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _memory(data: bytes) -> Iterator[bytes]:
    for offset in range(0, len(data), CHUNK):
        yield data[offset : offset + CHUNK]


def _planned(plan: list[PartSpan], number: int) -> int:
    return plan[number - 1].length if 1 <= number <= len(plan) else -1


def _gone(error: ApiError) -> bool:
    return error.http_status == 404


def _media(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise ClientError(f"the API answered no media object: {value!r:.200}")
    return value


def _ago(started: float) -> str:
    seconds = max(0, int(time.time() - started))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
