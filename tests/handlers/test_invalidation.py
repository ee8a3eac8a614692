"""CDN invalidations: what the API queues (one message per request, exact paths of the
public side only) and what the invalidation worker (`functions/invalidate`) makes of a
message (one CreateInvalidation, retried by SQS until CloudFront takes it).

The queue is moto's SQS. CloudFront is botocore's Stubber on the worker's client: it
fails on any call it was not told to expect, so every CreateInvalidation is counted and
its parameters checked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from imgpro import cdn, keys
from tests.conftest import BUCKET
from tests.handlers.conftest import DISTRIBUTION, InvalidationQueue, Queued
from tests.support import images
from tests.support.gateway import FakeContext, handler_module


@pytest.fixture
def cloudfront(aws: None) -> Iterator[Stubber]:
    """The only CloudFront any function may reach; nothing answers unless expected."""
    with Stubber(cdn._cloudfront()) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_invalidation(stub: Stubber, message: Queued, *, invalidation_id: str = "I1") -> None:
    paths = message.json["paths"]
    batch = {
        "Paths": {"Quantity": len(paths), "Items": paths},
        "CallerReference": cdn.caller_reference(message.message_id, paths),
    }
    stub.add_response(
        "create_invalidation",
        {
            "Location": f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{DISTRIBUTION}"
            f"/invalidation/{invalidation_id}",
            "Invalidation": {
                "Id": invalidation_id,
                "Status": "InProgress",
                "CreateTime": datetime(2026, 12, 1, tzinfo=UTC),
                "InvalidationBatch": batch,
            },
        },
        expected_params={"DistributionId": DISTRIBUTION, "InvalidationBatch": batch},
    )


def expect_refusal(stub: Stubber, message: Queued, code: str) -> None:
    paths = message.json["paths"]
    stub.add_client_error(
        "create_invalidation",
        service_error_code=code,
        service_message="Your request contains too many invalidations.",
        http_status_code=400,
        expected_params={
            "DistributionId": DISTRIBUTION,
            "InvalidationBatch": {
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": cdn.caller_reference(message.message_id, paths),
            },
        },
    )


def run_worker(*records: dict[str, Any]) -> dict[str, Any]:
    return handler_module("invalidate").handler({"Records": list(records)}, FakeContext())


def public_paths(uid: str) -> list[str]:
    return keys.cdn_paths(uid, "jpg", private=False)


def stored_keys(uid: str) -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {obj["Key"] for obj in listed if uid in obj["Key"]}


@pytest.fixture
def photo(api) -> dict:
    return api.upload("acme", images.jpeg((640, 480)), public="1").json()


# --- what the API queues -----------------------------------------------------------------


def test_a_batch_delete_of_100_ids_is_one_message_and_one_invalidation_of_exact_paths(
    api, invalidation_queue: InvalidationQueue, cloudfront: Stubber
) -> None:
    data = images.jpeg((64, 48))
    uids = [api.upload("acme", data, public="1").json()["id"] for _ in range(100)]

    body = api.delete(f"/v1/media?ids={','.join(uids)}", token="acme").json()
    assert body["deleted"] == 100

    (message,) = invalidation_queue.take()  # one request, one message
    paths = message.json["paths"]
    assert message.json["reason"] == "delete"
    assert sorted(message.json["media"]) == sorted(uids)
    assert sorted(paths) == sorted(path for uid in uids for path in public_paths(uid))
    assert len(paths) == len(set(paths)) == 100 * 12 <= cdn.MAX_PATHS_PER_INVALIDATION
    assert not any("*" in path for path in paths)  # no wildcard: 15 of those at most

    expect_invalidation(cloudfront, message)  # exactly one call: the Stubber counts
    assert run_worker(message.record()) == {"batchItemFailures": []}


def test_a_batch_visibility_change_is_one_message(
    api, invalidation_queue: InvalidationQueue, cloudfront: Stubber
) -> None:
    uids = [api.upload("acme", public="1").json()["id"] for _ in range(5)]
    response = api.patch(f"/v1/media?ids={','.join(uids)}", token="acme", json_body={"public": 0})
    assert response.status == 200
    (message,) = invalidation_queue.take()
    assert message.json["reason"] == "visibility"
    assert sorted(message.json["paths"]) == sorted(p for uid in uids for p in public_paths(uid))


def test_a_delete_invalidates_the_public_side_only(
    api, photo, invalidation_queue: InvalidationQueue
) -> None:
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    (message,) = invalidation_queue.take()
    assert message.json["paths"] == public_paths(photo["id"])
    assert all(not path.startswith("/private/") for path in message.json["paths"])


def test_deleting_private_media_queues_nothing(api, invalidation_queue: InvalidationQueue):
    # Private bytes carry `Cache-Control: private`: no edge cache ever holds them.
    secret = api.upload("acme", public="0").json()
    assert api.delete(f"/v1/media/{secret['id']}", token="acme").status == 204
    assert invalidation_queue.take() == []


def test_making_media_public_invalidates_its_public_side_too(
    api, invalidation_queue: InvalidationQueue
) -> None:
    # A 404 the edge cached for the public URL while the media was private must go.
    secret = api.upload("acme", public="0").json()
    api.patch(f"/v1/media/{secret['id']}", token="acme", json_body={"public": True})
    (message,) = invalidation_queue.take()
    assert message.json["paths"] == public_paths(secret["id"])


def test_other_changes_queue_nothing(api, photo, invalidation_queue: InvalidationQueue) -> None:
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"name": "renamed"})
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": True})
    assert invalidation_queue.take() == []


def test_the_api_never_calls_cloudfront(
    api, photo, invalidation_queue: InvalidationQueue, cloudfront: Stubber
) -> None:
    # The Stubber expects no call: any CreateInvalidation from the API would fail here.
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": False})
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    assert len(invalidation_queue.take()) == 1


def test_a_visibility_change_answers_200_even_when_the_queue_refuses(
    api, photo, invalidation_queue: InvalidationQueue, monkeypatch, caplog
) -> None:
    uid = photo["id"]
    monkeypatch.setattr(cdn, "_sqs", _Unreachable)
    with caplog.at_level(logging.ERROR, logger="imgpro"):
        response = api.patch(f"/v1/media/{uid}", token="acme", json_body={"public": False})

    # The change is made and said so: the objects moved, the record says private.
    assert response.status == 200
    assert "url" not in response.json()
    assert stored_keys(uid) == {f"private/o/{uid}.jpg"}
    assert "/private/" in api.get(f"/v1/media/{uid}", token="acme").json()["src"]
    # And the operator is told, with what to run by hand.
    (logged,) = [r for r in caplog.records if "CDN INVALIDATION NOT QUEUED" in r.getMessage()]
    assert f"--distribution-id {DISTRIBUTION}" in logged.getMessage()
    assert all(path in logged.getMessage() for path in public_paths(uid))
    assert invalidation_queue.take() == []


def test_a_delete_answers_204_even_when_the_queue_refuses(
    api, photo, invalidation_queue: InvalidationQueue, monkeypatch
) -> None:
    monkeypatch.setattr(cdn, "_sqs", _Unreachable)
    assert api.delete(f"/v1/media/{photo['id']}", token="acme").status == 204
    assert stored_keys(photo["id"]) == set()


def test_moved_media_is_invalidated_even_if_a_later_write_fails(
    api, photo, invalidation_queue: InvalidationQueue, monkeypatch
) -> None:
    # Once the objects have moved, the edge must forget the old side whatever follows.
    from imgpro.media import store

    def fail(*args, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(store, "set_if_present", fail)
    with pytest.raises(RuntimeError):
        api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": False})
    (message,) = invalidation_queue.take()
    assert message.json["paths"] == public_paths(photo["id"])


def test_the_local_stack_has_no_queue_and_queues_nothing(api, photo) -> None:
    # Nothing caches there: a delete is immediate, and no queue or CloudFront is needed.
    assert cdn.invalidate([_Item(photo["id"], "jpg")], reason="delete") is True
    assert api.delete(f"/v1/media/{photo['id']}", token="acme").status == 204


class _Unreachable:
    """An SQS client whose every call fails, as when SQS cannot be reached."""

    def send_message(self, **kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")


class _Item:
    def __init__(self, uid: str, ext: str | None) -> None:
        self.uid, self.ext = uid, ext


# --- what the worker does with a message --------------------------------------------------


@pytest.fixture
def queued(api, photo, invalidation_queue: InvalidationQueue) -> Queued:
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    (message,) = invalidation_queue.take()
    return message


@pytest.mark.parametrize("code", ["TooManyInvalidationsInProgress", "Throttling"])
def test_a_refused_invalidation_is_a_batch_item_failure_and_succeeds_when_redelivered(
    code: str, queued: Queued, cloudfront: Stubber
) -> None:
    expect_refusal(cloudfront, queued, code)
    failed = run_worker(queued.record(receive_count=1))
    # Not an error of the function: SQS offers this one message again after 5 minutes.
    assert failed == {"batchItemFailures": [{"itemIdentifier": queued.message_id}]}

    # Redelivered: the same CallerReference, so a success CloudFront recorded but could not
    # tell us about is not a second (billed) invalidation.
    expect_invalidation(cloudfront, queued)
    assert run_worker(queued.record(receive_count=2)) == {"batchItemFailures": []}


def test_messages_of_one_batch_fail_alone(
    api, invalidation_queue: InvalidationQueue, cloudfront: Stubber
) -> None:
    first, second = (api.upload("acme", public="1").json()["id"] for _ in range(2))
    api.delete(f"/v1/media/{first}", token="acme")
    api.delete(f"/v1/media/{second}", token="acme")
    refused, taken = invalidation_queue.take()
    expect_refusal(cloudfront, refused, "TooManyInvalidationsInProgress")
    expect_invalidation(cloudfront, taken)
    assert run_worker(refused.record(), taken.record()) == {
        "batchItemFailures": [{"itemIdentifier": refused.message_id}]
    }


def test_any_other_failure_is_retried_the_same_way(queued: Queued, cloudfront: Stubber) -> None:
    expect_refusal(cloudfront, queued, "AccessDenied")
    assert run_worker(queued.record()) == {
        "batchItemFailures": [{"itemIdentifier": queued.message_id}]
    }


def test_a_message_that_is_not_ours_fails_without_calling_cloudfront(cloudfront: Stubber):
    for body in ("not json", '{"paths": []}', '{"paths": ["no-slash"]}', "[1]"):
        message = Queued("m-" + str(len(body)), body)
        assert run_worker(message.record()) == {
            "batchItemFailures": [{"itemIdentifier": message.message_id}]
        }


def test_two_requests_naming_the_same_paths_are_two_invalidations(queued: Queued) -> None:
    # The message id is part of the reference: CloudFront would take a repeated one as
    # the earlier invalidation, and invalidate nothing the second time.
    again = Queued("another-message-id", queued.body)
    paths = queued.json["paths"]
    assert cdn.caller_reference(queued.message_id, paths) != cdn.caller_reference(
        again.message_id, paths
    )
