"""The local stack's S3 side: presigned POST policies and object-created events.

Most tests put `OneAtATime` in front of a fake moto that answers as told, with a fake
worker; the last few use moto's real WSGI app in-process (no sockets), to check that
the events carry what moto stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any
from xml.etree import ElementTree

import pytest
from werkzeug.test import Client

from imgpro.local.aws import OneAtATime, stored_object
from imgpro.local.s3_events import S3Notifications, StoredObject, WorkerEvent
from imgpro.routes import Worker

BUCKET = "imgpro-local"
WORKER = Worker("process_upload", s3_prefix="incoming/")
ETAG = "9a0364b9e99bb480dd25e1f0284c8555"
TIMEOUT_S = 5
# moto routes an unsigned GET by its host, not to S3; a credential scope names the service.
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}


class FakeMoto:
    """Answers every request with `status`, and keeps what it was sent."""

    def __init__(self) -> None:
        self.status = "200 OK"
        self.requests: list[tuple[str, str, bytes]] = []
        self.on_request: Callable[[], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        if self.on_request is not None:
            self.on_request()
        start_response(self.status, [("ETag", f'"{ETAG}"'), ("x-amzn-RequestId", "REQ1")])
        return [b""]


class Invocations:
    """A fake worker handler: each call lands in a queue the test reads."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.action: Callable[[], None] | None = None

    def __call__(self, function: str, event: dict[str, Any]) -> None:
        self.calls.put((function, event))
        if self.action is not None:
            self.action()

    def next(self) -> tuple[str, dict[str, Any]]:
        return self.calls.get(timeout=TIMEOUT_S)


class Stack:
    def __init__(self, *, lookup: Callable[[str, str], StoredObject | None]) -> None:
        self.moto = FakeMoto()
        self.invocations = Invocations()
        self.lock = threading.Lock()
        self.notifications = S3Notifications(
            bucket=BUCKET, workers=(WORKER,), invoke=self.invocations, lookup=lookup
        )
        self.dispatched: list[WorkerEvent] = []
        dispatch = self.notifications.dispatch

        def recording(events: list[WorkerEvent]) -> None:
            self.dispatched.extend(events)
            dispatch(events)

        self.notifications.dispatch = recording  # type: ignore[method-assign]
        self.app = OneAtATime(self.moto, notifications=self.notifications, lock=self.lock)
        self.client = Client(self.app)


@pytest.fixture
def stack() -> Iterator[Stack]:
    # Whatever the request, moto "stored" 11 bytes with ETAG.
    built = Stack(lookup=lambda bucket, key: StoredObject(size=11, etag=ETAG))
    yield built
    built.notifications.shutdown()


def policy(*conditions: Any, expires_in: timedelta = timedelta(hours=1)) -> str:
    expiration = (datetime.now(UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {"expiration": expiration, "conditions": list(conditions)}
    return base64.b64encode(json.dumps(document).encode()).decode()


def form(
    key: str = "incoming/abc",
    *,
    file: bytes = b"hello world",
    filename: str = "photo.jpg",
    conditions: tuple[Any, ...] | None = None,
    **fields: str,
) -> dict[str, Any]:
    """A presigned-POST form as boto3 makes it, fields first and the file last."""
    if conditions is None:
        conditions = ({"bucket": BUCKET}, {"key": key}, ["content-length-range", 1, 100])
    return {"key": key, **fields, "policy": policy(*conditions), "file": (BytesIO(file), filename)}


def s3_error(response: Any) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/xml"
    return {element.tag: element.text or "" for element in ElementTree.fromstring(response.data)}


# Events and their shape


def test_put_under_a_worker_prefix_invokes_the_worker_with_an_s3_event(stack: Stack) -> None:
    response = stack.client.put(f"/{BUCKET}/incoming/abc", data=b"hello world")
    assert response.status_code == 200
    function, event = stack.invocations.next()
    assert function == "process_upload"
    (record,) = event["Records"]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
    assert record["s3"]["bucket"]["name"] == BUCKET
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{BUCKET}"
    assert record["s3"]["object"]["key"] == "incoming/abc"
    assert record["s3"]["object"]["size"] == 11
    assert record["s3"]["object"]["eTag"] == ETAG
    assert re.fullmatch(r"[0-9A-F]{18}", record["s3"]["object"]["sequencer"])
    assert "versionId" not in record["s3"]["object"]


def test_event_key_is_url_encoded_with_spaces_as_plus(stack: Stack) -> None:
    stack.client.put(f"/{BUCKET}/incoming/my%20photo%20%C3%A9%2B1.jpg", data=b"x")
    _, event = stack.invocations.next()
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/my+photo+%C3%A9%2B1.jpg"


def test_copy_into_a_worker_prefix_is_a_copy_event(stack: Stack) -> None:
    stack.client.put(f"/{BUCKET}/incoming/abc", headers={"x-amz-copy-source": f"/{BUCKET}/o/a"})
    _, event = stack.invocations.next()
    assert event["Records"][0]["eventName"] == "ObjectCreated:Copy"


def test_completed_multipart_upload_is_its_own_event(stack: Stack) -> None:
    stack.client.post(f"/{BUCKET}/incoming/abc?uploadId=u1", data=b"<CompleteMultipartUpload/>")
    _, event = stack.invocations.next()
    assert event["Records"][0]["eventName"] == "ObjectCreated:CompleteMultipartUpload"


def test_presigned_post_is_a_post_event_for_the_form_key(stack: Stack) -> None:
    response = stack.client.post(f"/{BUCKET}", data=form("incoming/abc"))
    assert response.status_code == 200
    _, event = stack.invocations.next()
    record = event["Records"][0]
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "incoming/abc"


def test_filename_placeholder_in_the_form_key_becomes_the_files_name(stack: Stack) -> None:
    conditions = (["starts-with", "$key", "incoming/"], ["content-length-range", 1, 100])
    data = form("incoming/${filename}", filename="dir/my pic.jpg", conditions=conditions)
    stack.client.post(f"/{BUCKET}", data=data)
    _, event = stack.invocations.next()
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/my+pic.jpg"


def test_moto_reads_the_same_form_body_after_it_was_inspected(stack: Stack) -> None:
    response = stack.client.post(f"/{BUCKET}", data=form(), content_type=None)
    assert response.status_code == 200
    ((method, path, body),) = stack.moto.requests
    assert (method, path) == ("POST", f"/{BUCKET}")
    assert b"hello world" in body
    assert body.endswith(b"--\r\n")


# No event


def test_failed_write_dispatches_nothing(stack: Stack) -> None:
    stack.moto.status = "403 Forbidden"
    stack.client.put(f"/{BUCKET}/incoming/abc", data=b"x")
    assert stack.dispatched == []


def test_write_to_another_bucket_dispatches_nothing(stack: Stack) -> None:
    stack.client.put("/another-bucket/incoming/abc", data=b"x")
    assert stack.dispatched == []


def test_write_outside_every_worker_prefix_dispatches_nothing(stack: Stack) -> None:
    stack.client.put(f"/{BUCKET}/o/abc.jpg", data=b"x")
    stack.client.put(f"/{BUCKET}/incomingabc", data=b"x")
    assert stack.dispatched == []


def test_tagging_an_incoming_object_dispatches_nothing(stack: Stack) -> None:
    stack.client.put(f"/{BUCKET}/incoming/abc?tagging", data=b"<Tagging/>")
    stack.client.put(f"/{BUCKET}/incoming/abc?partNumber=1&uploadId=u1", data=b"x")
    assert stack.dispatched == []


def test_write_that_left_no_object_dispatches_nothing() -> None:
    stack = Stack(lookup=lambda bucket, key: None)
    try:
        stack.client.put(f"/{BUCKET}/incoming/abc", data=b"x")
        assert stack.dispatched == []
    finally:
        stack.notifications.shutdown()


def test_dynamodb_requests_pass_through_untouched(stack: Stack) -> None:
    stack.client.post("/", data=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"})
    assert stack.moto.requests == [("POST", "/", b"{}")]
    assert stack.dispatched == []


# What S3 refuses and moto would accept


def test_file_over_the_content_length_range_is_entity_too_large(stack: Stack) -> None:
    response = stack.client.post(f"/{BUCKET}", data=form(file=b"x" * 101))
    assert response.status_code == 400
    error = s3_error(response)
    assert error["Code"] == "EntityTooLarge"
    assert error["Message"] == "Your proposed upload exceeds the maximum allowed size"
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == ("101", "100")
    assert stack.moto.requests == []
    assert stack.dispatched == []


def test_file_under_the_content_length_range_is_entity_too_small(stack: Stack) -> None:
    conditions = ({"key": "incoming/abc"}, ["content-length-range", 5, 100])
    response = stack.client.post(f"/{BUCKET}", data=form(file=b"abc", conditions=conditions))
    assert response.status_code == 400
    error = s3_error(response)
    assert error["Code"] == "EntityTooSmall"
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == ("3", "5")
    assert stack.moto.requests == []


def test_file_at_the_top_of_the_content_length_range_reaches_moto(stack: Stack) -> None:
    response = stack.client.post(f"/{BUCKET}", data=form(file=b"x" * 100))
    assert response.status_code == 200
    assert len(stack.moto.requests) == 1


def test_expired_policy_is_access_denied(stack: Stack) -> None:
    data = form()
    data["policy"] = policy({"key": "incoming/abc"}, expires_in=timedelta(seconds=-1))
    response = stack.client.post(f"/{BUCKET}", data=data)
    assert response.status_code == 403
    error = s3_error(response)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "Invalid according to Policy: Policy expired."
    assert stack.moto.requests == []


def test_form_key_other_than_the_policys_key_is_access_denied(stack: Stack) -> None:
    data = form("incoming/abc")
    data["key"] = "o/abc.jpg"
    response = stack.client.post(f"/{BUCKET}", data=data)
    assert response.status_code == 403
    assert s3_error(response)["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "incoming/abc"]'
    )
    assert stack.moto.requests == []


@pytest.mark.parametrize(
    "condition",
    [["eq", "$key", "incoming/abc"], ["starts-with", "$key", "incoming/"]],
    ids=["eq", "starts-with"],
)
def test_form_key_outside_the_policys_key_condition_is_access_denied(
    stack: Stack, condition: list[str]
) -> None:
    data = form("o/abc.jpg", conditions=(condition, ["content-length-range", 1, 100]))
    response = stack.client.post(f"/{BUCKET}", data=data)
    assert response.status_code == 403
    assert s3_error(response)["Code"] == "AccessDenied"
    assert stack.moto.requests == []


def test_policy_for_another_bucket_is_access_denied(stack: Stack) -> None:
    data = form(conditions=({"bucket": "elsewhere"}, {"key": "incoming/abc"}))
    assert stack.client.post(f"/{BUCKET}", data=data).status_code == 403


def test_form_field_the_policy_does_not_mention_is_access_denied(stack: Stack) -> None:
    response = stack.client.post(f"/{BUCKET}", data=form(**{"Content-Type": "image/png"}))
    assert response.status_code == 403
    assert s3_error(response)["Message"] == (
        "Invalid according to Policy: Extra input fields: content-type"
    )


def test_signature_fields_and_x_ignore_fields_need_no_condition(stack: Stack) -> None:
    data = form(**{"x-amz-signature": "abc", "x-ignore-note": "hi"})
    assert stack.client.post(f"/{BUCKET}", data=data).status_code == 200


def test_form_without_a_file_is_invalid_argument(stack: Stack) -> None:
    fields = {name: value for name, value in form().items() if name != "file"}
    body = "".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    response = stack.client.post(
        f"/{BUCKET}",
        data=(body + "--b0undary--\r\n").encode(),
        content_type="multipart/form-data; boundary=b0undary",
    )
    assert response.status_code == 400
    assert s3_error(response)["Code"] == "InvalidArgument"
    assert stack.moto.requests == []


def test_body_that_is_not_multipart_is_a_malformed_post(stack: Stack) -> None:
    response = stack.client.post(
        f"/{BUCKET}", data=b"key=abc", content_type="multipart/form-data; boundary=b0undary"
    )
    assert response.status_code == 400
    assert s3_error(response)["Code"] == "MalformedPOSTRequest"


def test_policy_that_is_not_base64_json_is_an_invalid_policy_document(stack: Stack) -> None:
    data = form()
    data["policy"] = "not a policy"
    response = stack.client.post(f"/{BUCKET}", data=data)
    assert response.status_code == 400
    assert s3_error(response)["Code"] == "InvalidPolicyDocument"


def test_form_without_a_policy_is_left_to_moto(stack: Stack) -> None:
    data = form(file=b"x" * 1000)
    del data["policy"]
    assert stack.client.post(f"/{BUCKET}", data=data).status_code == 200
    _, event = stack.invocations.next()
    assert event["Records"][0]["eventName"] == "ObjectCreated:Post"


# How the worker runs


def test_worker_runs_after_the_request_returned_and_without_the_moto_lock(stack: Stack) -> None:
    returned = threading.Event()
    seen: dict[str, bool] = {}

    def worker() -> None:
        seen["request had returned"] = returned.wait(TIMEOUT_S)
        seen["lock held"] = stack.lock.locked()
        # Like the real worker, which reads the upload back from moto.
        seen["moto answered"] = stack.client.get(f"/{BUCKET}/incoming/abc").status_code == 200

    stack.invocations.action = worker
    stack.client.put(f"/{BUCKET}/incoming/abc", data=b"x")
    returned.set()
    stack.invocations.next()
    stack.notifications.shutdown()
    assert seen == {"request had returned": True, "lock held": False, "moto answered": True}


def test_moto_handles_a_write_inside_the_lock(stack: Stack) -> None:
    held: list[bool] = []
    stack.moto.on_request = lambda: held.append(stack.lock.locked())
    stack.client.put(f"/{BUCKET}/incoming/abc", data=b"x")
    assert held == [True]


def test_worker_exception_is_logged_with_its_traceback_and_not_retried(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    def fail() -> None:
        raise RuntimeError("boom in the worker")

    stack.invocations.action = fail
    with caplog.at_level(logging.ERROR, logger="imgpro.local"):
        stack.client.put(f"/{BUCKET}/incoming/abc", data=b"x")
        stack.invocations.next()
        stack.notifications.shutdown()
    (record,) = caplog.records
    assert "process_upload" in record.getMessage()
    assert record.exc_info is not None
    assert "boom in the worker" in str(record.exc_info[1])
    assert stack.invocations.calls.empty()


# Against moto itself


@pytest.fixture
def moto_stack() -> Iterator[Stack]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    built = Stack(lookup=stored_object)
    built.app = OneAtATime(
        DomainDispatcherApplication(create_backend_app),
        notifications=built.notifications,
        lock=built.lock,
    )
    built.client = Client(built.app)
    # moto's state is process-wide: start clean and leave nothing behind.
    built.client.post("/moto-api/reset")
    assert built.client.put(f"/{BUCKET}").status_code == 200
    yield built
    built.notifications.shutdown()
    built.client.post("/moto-api/reset")


def presigned_post(key: str, *, max_bytes: int) -> tuple[str, dict[str, str]]:
    import boto3
    from botocore.config import Config

    # Signing is offline: this client never sends a request.
    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:1",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    post = s3.generate_presigned_post(
        Bucket=BUCKET, Key=key, Conditions=[["content-length-range", 1, max_bytes]]
    )
    return post["url"].removeprefix("http://127.0.0.1:1"), post["fields"]


def test_moto_put_event_carries_the_stored_size_and_etag(moto_stack: Stack) -> None:
    response = moto_stack.client.put(f"/{BUCKET}/incoming/my%20file", data=b"hello world")
    assert response.status_code == 200
    _, event = moto_stack.invocations.next()
    s3_object = event["Records"][0]["s3"]["object"]
    assert s3_object["key"] == "incoming/my+file"
    assert s3_object["size"] == 11
    assert s3_object["eTag"] == hashlib.md5(b"hello world").hexdigest()


def test_moto_presigned_post_within_its_range_is_stored_and_processed(moto_stack: Stack) -> None:
    path, fields = presigned_post("incoming/abc", max_bytes=100)
    response = moto_stack.client.post(path, data={**fields, "file": (BytesIO(b"x" * 100), "f")})
    assert response.status_code == 204
    _, event = moto_stack.invocations.next()
    assert event["Records"][0]["eventName"] == "ObjectCreated:Post"
    assert event["Records"][0]["s3"]["object"]["size"] == 100
    stored = moto_stack.client.get(f"/{BUCKET}/incoming/abc", headers=SIGNED)
    assert stored.data == b"x" * 100


def test_moto_presigned_post_over_its_range_is_refused_and_not_stored(moto_stack: Stack) -> None:
    path, fields = presigned_post("incoming/abc", max_bytes=100)
    response = moto_stack.client.post(path, data={**fields, "file": (BytesIO(b"x" * 101), "f")})
    assert response.status_code == 400
    assert s3_error(response)["Code"] == "EntityTooLarge"
    assert moto_stack.client.get(f"/{BUCKET}/incoming/abc", headers=SIGNED).status_code == 404
    assert moto_stack.dispatched == []


def test_moto_copy_event_names_the_copy(moto_stack: Stack) -> None:
    moto_stack.client.put(f"/{BUCKET}/o/source", data=b"abc")
    moto_stack.client.put(
        f"/{BUCKET}/incoming/abc", headers={"x-amz-copy-source": f"/{BUCKET}/o/source"}
    )
    _, event = moto_stack.invocations.next()
    assert event["Records"][0]["eventName"] == "ObjectCreated:Copy"
    assert event["Records"][0]["s3"]["object"]["size"] == 3


def test_moto_multipart_upload_is_one_event_once_completed(moto_stack: Stack) -> None:
    created = moto_stack.client.post(f"/{BUCKET}/incoming/abc?uploads")
    upload_id = ElementTree.fromstring(created.data).findtext("{*}UploadId")
    part = moto_stack.client.put(
        f"/{BUCKET}/incoming/abc?partNumber=1&uploadId={upload_id}", data=b"part one"
    )
    assert moto_stack.dispatched == []
    complete = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{part.headers['ETag']}</ETag></Part></CompleteMultipartUpload>"
    )
    response = moto_stack.client.post(
        f"/{BUCKET}/incoming/abc?uploadId={upload_id}", data=complete.encode()
    )
    assert response.status_code == 200
    _, event = moto_stack.invocations.next()
    record = event["Records"][0]
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert record["s3"]["object"]["size"] == 8
    assert record["s3"]["object"]["eTag"].endswith("-1")
