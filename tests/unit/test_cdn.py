"""imgpro.cdn: the messages an API request queues for the invalidation worker."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from imgpro import cdn, config, keys


@dataclass(frozen=True)
class Item:
    uid: str
    ext: str | None = "jpg"


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": f"m{len(self.sent)}"}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> RecordingSqs:
    recording = RecordingSqs()
    settings = config.Settings.from_mapping(
        {
            config.TABLE_NAME: "t",
            config.BUCKET_NAME: "b",
            config.INVALIDATION_QUEUE_URL: "https://sqs.example/q",
            config.DISTRIBUTION_ID: "E2",
        }
    )
    monkeypatch.setattr(cdn, "settings", lambda: settings)
    monkeypatch.setattr(cdn, "_sqs", lambda: recording)
    return recording


def uid(n: int) -> str:
    return f"{n:012d}"


def bodies(sqs: RecordingSqs) -> list[dict[str, Any]]:
    assert {m["QueueUrl"] for m in sqs.sent} <= {"https://sqs.example/q"}
    return [json.loads(m["MessageBody"]) for m in sqs.sent]


def test_importing_it_pulls_in_no_boto3() -> None:
    """The CDK app imports it for its constants."""
    probe = "import sys, imgpro.cdn; print(sorted({'boto3', 'botocore'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_one_request_is_one_message_of_every_items_paths(sqs: RecordingSqs) -> None:
    items = [Item(uid(n)) for n in range(100)]
    assert cdn.invalidate(items, reason="delete") is True
    (body,) = bodies(sqs)
    assert body["media"] == [item.uid for item in items]
    assert body["paths"] == [
        p for item in items for p in keys.cdn_paths(item.uid, "jpg", private=False)
    ]


def test_past_3000_paths_the_request_is_split_between_whole_items(sqs: RecordingSqs) -> None:
    items = [Item(uid(n)) for n in range(300)]  # 3,600 paths
    cdn.invalidate(items, reason="delete")
    sent = bodies(sqs)
    assert [len(body["paths"]) for body in sent] == [3_000, 600]  # 250 items, then 50
    assert [uid for body in sent for uid in body["media"]] == [item.uid for item in items]
    for body in sent:
        assert len(body["paths"]) <= cdn.MAX_PATHS_PER_INVALIDATION
        assert len(json.dumps(body)) < 256 * 1024  # SQS's message size limit


def test_repeats_and_media_never_processed_add_nothing(sqs: RecordingSqs) -> None:
    cdn.invalidate([Item(uid(1)), Item(uid(1)), Item(uid(2), None)], reason="delete")
    (body,) = bodies(sqs)
    assert body["media"] == [uid(1)]
    cdn.invalidate([Item(uid(3), None)], reason="delete")
    assert len(sqs.sent) == 1  # nothing to forget: no message


def test_without_a_queue_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack: nothing caches, there is no queue."""
    settings = config.Settings.from_mapping({config.TABLE_NAME: "t", config.BUCKET_NAME: "b"})
    monkeypatch.setattr(cdn, "settings", lambda: settings)
    monkeypatch.setattr(cdn, "_sqs", lambda: pytest.fail("no SQS client without a queue"))
    assert cdn.invalidate([Item(uid(1))], reason="delete") is True


def test_a_message_reads_back_as_it_was_written() -> None:
    message = cdn.Message("delete", (uid(1),), tuple(keys.cdn_paths(uid(1), "png", private=False)))
    assert cdn.Message.from_json(message.to_json()) == message


@pytest.mark.parametrize(
    "body",
    ["", "[]", "{}", '{"paths": []}', '{"paths": "/a"}', '{"paths": ["a"]}', '{"paths": [1]}'],
)
def test_a_body_that_is_not_a_message_is_refused(body: str) -> None:
    with pytest.raises(ValueError):
        cdn.Message.from_json(body)


def test_a_message_of_more_than_3000_paths_is_refused() -> None:
    with pytest.raises(ValueError):
        cdn.Message.from_json(json.dumps({"paths": [f"/{n}" for n in range(3_001)]}))


def test_the_caller_reference_is_one_per_message_whatever_the_delivery() -> None:
    paths = keys.cdn_paths(uid(1), "jpg", private=False)
    reference = cdn.caller_reference("message-1", paths)
    assert reference == cdn.caller_reference("message-1", list(paths))
    assert reference != cdn.caller_reference("message-2", paths)
    assert reference != cdn.caller_reference("message-1", paths[:-1])
    assert reference.startswith("imgpro-") and len(reference) <= 64
