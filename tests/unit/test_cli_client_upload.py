"""`imgpro upload`'s pieces without a network: part planning, the resume state files, and
the Uploader against an in-memory API that behaves as the resumable routes do."""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from imgpro.cli.api import Api, ApiError, ClientError, Unreachable
from imgpro.cli.progress import PlainReporter, Throttle
from imgpro.cli.resume import (
    MAX_PARTS,
    PART_SIZE,
    MiB,
    PartSpan,
    StateStore,
    UploadState,
    default_state_dir,
    parts_to_send,
    plan_parts,
    state_name,
)
from imgpro.cli.upload import (
    ATTEMPTS,
    MAX_FILE_SIZE,
    SMALL_UPLOAD_MAX,
    Interrupted,
    LocalFile,
    Options,
    Uploader,
    backoff,
)

# --- part planning ------------------------------------------------------------------------


def test_a_12_mb_file_is_one_8_mib_part_and_the_rest() -> None:
    assert plan_parts(12_000_000) == [
        PartSpan(1, 0, PART_SIZE),
        PartSpan(2, PART_SIZE, 12_000_000 - PART_SIZE),
    ]


def test_a_file_of_exactly_one_part_size_is_one_part() -> None:
    assert plan_parts(PART_SIZE) == [PartSpan(1, 0, PART_SIZE)]


def test_the_largest_upload_is_13_parts_covering_every_byte() -> None:
    parts = plan_parts(MAX_FILE_SIZE)
    assert len(parts) == 13
    assert sum(part.length for part in parts) == MAX_FILE_SIZE
    assert all(a.offset + a.length == b.offset for a, b in itertools.pairwise(parts))
    assert [part.number for part in parts] == list(range(1, 14))


def test_the_part_size_grows_in_whole_mib_when_10000_parts_would_not_hold_the_file() -> None:
    size = MAX_PARTS * PART_SIZE + 1
    parts = plan_parts(size)
    assert len(parts) <= MAX_PARTS
    assert parts[0].length % MiB == 0
    assert parts[0].length > PART_SIZE
    assert sum(part.length for part in parts) == size


def test_parts_below_s3s_minimum_and_empty_files_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        plan_parts(20 * MiB, part_size=4 * MiB)
    with pytest.raises(ValueError, match="empty"):
        plan_parts(0)


def test_parts_to_send_are_those_s3_lacks_or_has_at_another_size() -> None:
    plan = plan_parts(20 * MiB)  # 8, 8, 4 MiB
    assert [p.number for p in parts_to_send(plan, {})] == [1, 2, 3]
    assert [p.number for p in parts_to_send(plan, {1: PART_SIZE, 3: 4 * MiB})] == [2]
    assert [p.number for p in parts_to_send(plan, {1: 1234, 2: PART_SIZE})] == [1, 3]
    assert parts_to_send(plan, {1: PART_SIZE, 2: PART_SIZE, 3: 4 * MiB, 9: 1}) == []


# --- state files ----------------------------------------------------------------------------


def _state(**changes: Any) -> UploadState:
    fields: dict[str, Any] = {
        "api_url": "http://api.test",
        "path": "/photos/big.png",
        "size": 12_000_000,
        "mtime_ns": 1,
        "part_size": PART_SIZE,
        "upload_id": "up-1",
        "key": "incoming/abcdefabcdef",
        "media_id": "abcdefabcdef",
    }
    return UploadState(**{**fields, **changes})


def test_state_names_change_with_the_api_the_token_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    base = state_name("http://api.test", "1", path, 10, 5)
    assert base.endswith(".json") and len(base) == 64 + 5
    assert state_name("http://api.test/", "1", path, 10, 5) == base  # a trailing slash
    others = {
        state_name("http://other.test", "1", path, 10, 5),
        state_name("http://api.test", "2", path, 10, 5),
        state_name("http://api.test", "1", tmp_path / "b.png", 10, 5),
        state_name("http://api.test", "1", path, 11, 5),
        state_name("http://api.test", "1", path, 10, 6),
    }
    assert base not in others and len(others) == 5


def test_state_round_trips_and_is_private_to_its_owner(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "uploads")
    state = _state(options={"tags": "a,b", "public": True}, completing=True)
    store.save("x.json", state)
    assert store.load("x.json") == state
    assert (tmp_path / "uploads" / "x.json").stat().st_mode & 0o077 == 0
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == ["x.json"]  # no temporary
    store.delete("x.json")
    assert store.load("x.json") is None
    store.delete("x.json")  # twice is fine


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"version": 99}),
        json.dumps({**json.loads(_state().to_json()), "upload_id": ""}),
    ],
)
def test_a_broken_or_foreign_state_file_reads_as_none_and_goes(tmp_path: Path, text: str) -> None:
    (tmp_path / "x.json").write_text(text)
    assert StateStore(tmp_path).load("x.json") is None
    assert not (tmp_path / "x.json").exists()


def test_sweep_drops_state_files_older_than_two_days_only(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save("old.json", _state())
    store.save("new.json", _state())
    (tmp_path / "notes.txt").write_text("kept")
    three_days_ago = time.time() - 3 * 24 * 3600
    os.utime(tmp_path / "old.json", (three_days_ago, three_days_ago))
    assert store.sweep() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "notes.txt"]
    assert StateStore(tmp_path / "missing").sweep() == 0


def test_the_state_directory_follows_xdg_cache_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "imgpro" / "uploads"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".cache" / "imgpro" / "uploads"


# --- files ------------------------------------------------------------------------------------


def test_local_file_knows_its_type_and_which_way_it_goes(tmp_path: Path) -> None:
    small, large = tmp_path / "a.png", tmp_path / "b.jpg"
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * (SMALL_UPLOAD_MAX + 1))
    assert LocalFile.inspect(small).content_type == "image/png"
    assert not LocalFile.inspect(small).resumable
    assert LocalFile.inspect(large).resumable
    assert LocalFile.inspect(large).content_type == "image/jpeg"


def test_unusable_files_are_refused_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with open(tmp_path / "huge.png", "wb") as huge:
        huge.truncate(MAX_FILE_SIZE + 1)  # sparse: no 100 MB written
    for name, reason in [
        ("missing.png", "no such file"),
        ("empty.png", "empty"),
        ("huge.png", "100 MiB"),
        (".", "directory"),
    ]:
        with pytest.raises(ClientError, match=reason):
            LocalFile.inspect(tmp_path / name)


def test_backoff_doubles_with_jitter_and_obeys_retry_after() -> None:
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (9, 30.0)]:
        assert base * 0.8 <= backoff(attempt) <= base * 1.2
    assert backoff(1, retry_after=7) == 7
    assert backoff(1, retry_after=10_000) == 120


def test_options_become_form_fields_and_metadata_with_only_what_was_given() -> None:
    options = Options(tags="a,b", public=False)
    assert options.form_fields() == {"tags": "a,b", "public": "0"}
    assert options.metadata() == {"tags": "a,b", "public": False}
    assert Options().form_fields() == {}


def test_throttle_paces_bytes_to_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", sleep)
    throttle = Throttle(1000)
    throttle.wait(500)
    throttle.wait(500)
    assert slept == [0.5, 0.5]
    now[0] += 10  # a pause (waiting for the API) ...
    throttle.wait(500)
    assert len(slept) == 2  # ... the budget it left is used
    Throttle(None).wait(10**9)  # no rate: never sleeps
    assert len(slept) == 2


# --- the Uploader against an in-memory API ----------------------------------------------------

NOT_FOUND = {"error": "Upload not found", "code": "not_found"}


class FakeApi(Api):
    """The resumable routes, POST /v1/upload and GET|DELETE /v1/media/{id}, in memory;
    parts are PUT to `s3://UPLOAD/N`. `fail` queues exceptions for the next requests
    whose (method, path prefix) match."""

    def __init__(self) -> None:
        super().__init__(base_url="http://api.test", token="7|secret")
        self.uploads: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []
        self.failures: list[tuple[str, BaseException]] = []
        self.bodies: list[bytes] = []
        self.headers: list[Mapping[str, str]] = []
        self.ready_after_polls = 0
        self.made = 0

    def fail(self, request: str, error: BaseException) -> None:
        self.failures.append((request, error))

    def _maybe_fail(self, request: str) -> None:
        for index, (prefix, error) in enumerate(self.failures):
            if request.startswith(prefix):
                del self.failures[index]
                raise error

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | None] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: Iterable[bytes] | bytes | None = None,
    ) -> Any:
        request = f"{method} {path}"
        self.log.append(request)
        if path == "/v1/upload":
            self.headers.append(headers or {})
        self._maybe_fail(request)
        self.answered = True
        parts = path.strip("/").split("/")
        if path == "/v1/upload":
            data = b"".join(raw) if raw is not None and not isinstance(raw, bytes) else raw
            self.bodies.append(data or b"")
            return self._new_media(status=None)
        if path == "/v1/uploads/s3/multipart" and method == "POST":
            media = self._new_media(status="processing")
            upload_id = f"up{len(self.uploads) + 1}"
            self.uploads[upload_id] = {"media": media["id"], "parts": {}, "body": body}
            return {"uploadId": upload_id, "key": f"incoming/{media['id']}", "media": media}
        if parts[:4] == ["v1", "uploads", "s3", "multipart"]:
            upload = self.uploads.get(parts[4])
            if upload is None or (query or {}).get("key") != f"incoming/{upload['media']}":
                raise _api_error(404, NOT_FOUND)
            if len(parts) == 5 and method == "GET":
                return [
                    {"PartNumber": n, "Size": len(data), "ETag": f'"{n}-{len(data)}"'}
                    for n, data in sorted(upload["parts"].items())
                ]
            if len(parts) == 5 and method == "DELETE":
                del self.uploads[parts[4]]
                del self.media[upload["media"]]
                return {}
            if parts[5] == "complete":
                assert isinstance(body, dict)
                numbers = [p["PartNumber"] for p in body["parts"]]
                assert numbers == sorted(upload["parts"])
                upload["assembled"] = b"".join(upload["parts"][n] for n in numbers)
                del self.uploads[parts[4]]
                return {"location": "x", "key": "k", "media": self.media[upload["media"]]}
            return {"url": f"s3://{parts[4]}/{parts[5]}", "expires": 3600}
        if parts[:2] == ["v1", "media"]:
            media = self.media.get(parts[2])
            if media is None:
                raise _api_error(404, {"error": "Media not found", "code": "not_found"})
            if method == "DELETE":
                del self.media[parts[2]]
                return None
            if media.get("status") == "processing":
                if self.ready_after_polls <= 0:
                    media.pop("status")
                self.ready_after_polls -= 1
            return dict(media)
        raise AssertionError(f"unexpected {request}")

    def put(self, url: str, chunks: Iterable[bytes], length: int) -> str:
        upload_id, number = url.removeprefix("s3://").split("/")
        self.log.append(f"PUT part {number}")
        self._maybe_fail(f"PUT part {number}")
        data = b"".join(chunks)
        assert len(data) == length
        if upload_id not in self.uploads:
            raise ApiError(404, error="S3 refused a part: no such upload", code="NoSuchUpload")
        self.uploads[upload_id]["parts"][int(number)] = data
        return f'"{number}-{len(data)}"'

    def _new_media(self, status: str | None) -> dict[str, Any]:
        self.made += 1
        uid = f"m{self.made - 1:011d}"
        media: dict[str, Any] = {"id": uid, "name": "big.png"}
        if status:
            media["status"] = status
        self.media[uid] = media
        return dict(media)

    def sent_parts(self) -> list[int]:
        return [int(entry.split()[-1]) for entry in self.log if entry.startswith("PUT part")]


def _api_error(status: int, body: dict[str, str], **more: Any) -> ApiError:
    return ApiError(status, error=body["error"], code=body["code"], **more)


@pytest.fixture
def big(tmp_path: Path) -> LocalFile:
    path = tmp_path / "big.png"
    path.write_bytes(os.urandom(PART_SIZE + 3 * MiB))  # two parts
    return LocalFile.inspect(path)


def _uploader(
    api: FakeApi, tmp_path: Path, **options: Any
) -> tuple[Uploader, list[float], io.StringIO]:
    slept: list[float] = []
    said = io.StringIO()
    uploader = Uploader(
        api,
        Options(**options),
        PlainReporter(said),
        StateStore(tmp_path / "state"),
        sleep=slept.append,
    )
    return uploader, slept, said


def _states(tmp_path: Path) -> list[UploadState]:
    directory = tmp_path / "state"
    found = directory.glob("*.json") if directory.exists() else []
    return [UploadState.from_json(path.read_text()) for path in found]


def test_a_large_file_goes_in_parts_and_leaves_no_state(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    uploader, _, said = _uploader(api, tmp_path, tags="a", public=True)
    media = uploader.upload(big)
    assert media["status"] == "processing"
    assert api.sent_parts() == [1, 2]
    assert _states(tmp_path) == []
    (upload,) = [u for u in api.uploads.values()] or [None]  # completed: gone
    assert upload is None
    created = api.log[0]
    assert created == "POST /v1/uploads/s3/multipart"
    assert "part 2 of 2 sent" in said.getvalue()


def test_the_resumable_upload_declares_the_size_and_metadata(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    seen: list[Any] = []
    original = api.call

    def spy(method: str, path: str, **kwargs: Any) -> Any:
        if path == "/v1/uploads/s3/multipart":
            seen.append(kwargs["body"])
        return original(method, path, **kwargs)

    api.call = spy  # type: ignore[method-assign]
    uploader, _, _ = _uploader(api, tmp_path, description="d", tags="a,b", ttl="1h", public=False)
    uploader.upload(big)
    assert seen == [
        {
            "filename": "big.png",
            "type": "image/png",
            "size": big.size,
            "metadata": {
                "description": "d",
                "tags": "a,b",
                "ttl": "1h",
                "public": False,
                "size": big.size,
            },
        }
    ]


def test_an_interrupted_upload_resumes_with_only_the_missing_parts(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    uploader, _, _ = _uploader(api, tmp_path)
    with pytest.raises(Interrupted, match="1 of 2 parts uploaded; run the same command again"):
        uploader.upload(big)
    (state,) = _states(tmp_path)
    assert state.upload_id == "up1" and not state.completing

    api.log.clear()
    uploader, _, said = _uploader(api, tmp_path)
    uploader.upload(big)
    assert api.sent_parts() == [2]
    assert "1 of 2 parts are uploaded, sending 1" in said.getvalue()
    assert _states(tmp_path) == []


def test_a_part_of_another_size_is_sent_again(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    uploader, _, _ = _uploader(api, tmp_path)
    with pytest.raises(Interrupted):
        uploader.upload(big)
    api.uploads["up1"]["parts"][1] = b"short"
    api.log.clear()
    _uploader(api, tmp_path)[0].upload(big)
    assert api.sent_parts() == [1, 2]


def test_an_upload_the_server_no_longer_has_starts_over(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    with pytest.raises(Interrupted):
        _uploader(api, tmp_path)[0].upload(big)
    stale_media = api.uploads["up1"]["media"]
    del api.uploads["up1"]  # the bucket's lifecycle rule aborted it
    api.log.clear()
    uploader, _, said = _uploader(api, tmp_path)
    media = uploader.upload(big)
    assert "no longer has the upload" in said.getvalue()
    assert api.sent_parts() == [1, 2]
    assert media["id"] != stale_media
    assert f"DELETE /v1/media/{stale_media}" in api.log  # its reservation given back
    assert _states(tmp_path) == []


def test_a_completion_whose_answer_was_lost_is_not_uploaded_again(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    uploader, _, _ = _uploader(api, tmp_path)
    # The completion goes through, but its answer never arrives; the retry finds no upload.
    original = api.call

    def lose_the_answer(method: str, path: str, **kwargs: Any) -> Any:
        answer = original(method, path, **kwargs)
        if path.endswith("/complete") and not getattr(api, "lost", False):
            api.lost = True  # type: ignore[attr-defined]
            raise Unreachable("lost the connection", refused=False)
        return answer

    api.call = lose_the_answer  # type: ignore[method-assign]
    media = uploader.upload(big)
    assert media["id"] == "m00000000000"
    assert api.sent_parts() == [1, 2]
    assert _states(tmp_path) == []


def test_a_failed_part_is_retried_with_backoff_then_succeeds(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    api.fail("PUT part 1", Unreachable("reset", refused=False))
    api.fail("PUT part 1", ApiError(503, error="S3 refused a part: slow down", code="SlowDown"))
    api.fail(
        "GET /v1/uploads/s3/multipart/up1/2",
        _api_error(429, {"error": "Rate limit exceeded", "code": "rate_limited"}, retry_after=7),
    )
    uploader, slept, said = _uploader(api, tmp_path)
    uploader.upload(big)
    assert api.sent_parts() == [1, 1, 1, 2]
    assert len(slept) == 3 and slept[2] == 7
    assert 0.8 <= slept[0] <= 1.2 and 1.6 <= slept[1] <= 2.4
    assert "trying again" in said.getvalue()


def test_a_part_that_keeps_failing_gives_up_saying_how_to_resume(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    for _ in range(ATTEMPTS):
        api.fail("PUT part 2", ApiError(500, error="S3 refused a part: oops", code="InternalError"))
    uploader, slept, _ = _uploader(api, tmp_path)
    with pytest.raises(ClientError) as failure:
        uploader.upload(big)
    message = str(failure.value)
    assert message.startswith(f"{big.path}: S3 refused a part: oops (500 InternalError)")
    assert "1 of 2 parts are uploaded: run the same command again to resume" in message
    assert len(slept) == ATTEMPTS - 1
    assert len(_states(tmp_path)) == 1


def test_refusals_are_not_retried(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.fail(
        "POST /v1/uploads/s3/multipart",
        _api_error(403, {"error": "Monthly quota exceeded", "code": "quota_exceeded"}),
    )
    uploader, slept, _ = _uploader(api, tmp_path)
    with pytest.raises(ClientError, match="Monthly quota exceeded"):
        uploader.upload(big)
    assert slept == [] and _states(tmp_path) == []


def test_refused_connections_are_retried_only_once_the_api_has_answered(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    api.fail("POST /v1/upload", Unreachable("refused", refused=True))
    small = tmp_path / "small.png"
    small.write_bytes(b"x" * 100)
    uploader, slept, _ = _uploader(api, tmp_path)
    with pytest.raises(ClientError, match="refused"):
        uploader.upload(LocalFile.inspect(small))
    assert slept == []
    api.answered = True
    api.fail("PUT part 1", Unreachable("refused", refused=True))
    uploader.upload(big)
    assert len(slept) == 1


def test_restart_aborts_the_saved_upload_and_starts_over(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    with pytest.raises(Interrupted):
        _uploader(api, tmp_path)[0].upload(big)
    api.log.clear()
    uploader, _, said = _uploader(api, tmp_path, restart=True)
    uploader.upload(big)
    assert api.log[0].startswith("DELETE /v1/uploads/s3/multipart/up1")
    assert api.sent_parts() == [1, 2]
    assert "aborted the upload" in said.getvalue()


def test_resuming_with_other_options_says_the_first_ones_stay(
    tmp_path: Path, big: LocalFile
) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    with pytest.raises(Interrupted):
        _uploader(api, tmp_path, tags="a")[0].upload(big)
    uploader, _, said = _uploader(api, tmp_path, tags="b")
    uploader.upload(big)
    assert "--restart" in said.getvalue()


def test_a_changed_file_is_another_upload(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.fail("PUT part 2", KeyboardInterrupt())
    with pytest.raises(Interrupted):
        _uploader(api, tmp_path)[0].upload(big)
    os.utime(big.path, ns=(big.mtime_ns + 10**9, big.mtime_ns + 10**9))
    api.log.clear()
    _uploader(api, tmp_path)[0].upload(LocalFile.inspect(big.path))
    assert api.sent_parts() == [1, 2]
    assert len(_states(tmp_path)) == 1  # the old one stays until swept


def test_a_small_file_is_one_form_post_with_one_idempotency_key_across_retries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "small.png"
    path.write_bytes(b"\x89PNG fake")
    api = FakeApi()
    api.fail("POST /v1/upload", Unreachable("reset", refused=False))
    uploader, slept, _ = _uploader(api, tmp_path, description="hi", public=True)
    media = uploader.upload(LocalFile.inspect(path))
    assert media["id"].startswith("m")
    assert len(slept) == 1
    (body,) = api.bodies
    assert b'name="file"; filename="small.png"' in body and b"\x89PNG fake" in body
    assert b'name="description"\r\n\r\nhi' in body and b'name="public"\r\n\r\n1' in body
    first, second = api.headers
    assert first == second  # the retry carries the same Idempotency-Key
    assert first["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(first["Content-Length"]) == len(body)
    assert len(first["Idempotency-Key"]) == 32


def test_wait_polls_until_the_media_is_ready(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.ready_after_polls = 2
    uploader, slept, _ = _uploader(api, tmp_path, wait=True)
    media = uploader.upload(big)
    assert "status" not in media
    assert api.log.count(f"GET /v1/media/{media['id']}") == 3
    assert slept == [0.25, 0.375, 0.5625]


def test_wait_reports_a_failed_media_with_its_reason(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    uploader, _, _ = _uploader(api, tmp_path, wait=True)
    original = api.call

    def failing(method: str, path: str, **kwargs: Any) -> Any:
        answer = original(method, path, **kwargs)
        if method == "GET" and path.startswith("/v1/media/"):
            return {**answer, "status": "failed", "failure_reason": "Not an image"}
        return answer

    api.call = failing  # type: ignore[method-assign]
    with pytest.raises(ClientError, match="processing failed: Not an image"):
        uploader.upload(big)


def test_wait_gives_up_after_its_timeout(tmp_path: Path, big: LocalFile) -> None:
    api = FakeApi()
    api.ready_after_polls = 10**6
    uploader, _, _ = _uploader(api, tmp_path, wait=True, wait_timeout=0.01)
    uploader.sleep = time.sleep
    with pytest.raises(ClientError, match=r"still processing after 0\.01 s; `imgpro show"):
        uploader.upload(big)


def test_a_small_file_the_api_finds_too_large_goes_in_parts(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    path.write_bytes(b"x" * 1000)
    api = FakeApi()
    api.fail(
        "POST /v1/upload",
        _api_error(413, {"error": "The request body is too large", "code": "payload_too_large"}),
    )
    uploader, slept, said = _uploader(api, tmp_path)
    uploader.upload(LocalFile.inspect(path))
    assert api.sent_parts() == [1]
    assert slept == []
    assert "sending it in parts" in said.getvalue()
