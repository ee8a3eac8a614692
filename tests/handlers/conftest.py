"""Fixtures of the handler tier only: the CDN invalidation queue, as deployed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from imgpro import config

DISTRIBUTION = "E2IMGPROTEST"


@dataclass(frozen=True)
class Queued:
    """A message taken off the invalidation queue."""

    message_id: str
    body: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    def record(self, *, receive_count: int = 1) -> dict[str, Any]:
        """The message as an SQS event hands it to Lambda."""
        return {
            "messageId": self.message_id,
            "receiptHandle": f"handle-{self.message_id}-{receive_count}",
            "body": self.body,
            "attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": "1800000000000",
                "SenderId": "AROAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": "1800000000001",
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:imgpro-invalidations",
            "awsRegion": "us-east-1",
        }


@dataclass(frozen=True)
class InvalidationQueue:
    url: str

    def take(self) -> list[Queued]:
        """Every message now on the queue, removed from it."""
        client = boto3.client("sqs")
        taken: list[Queued] = []
        while True:
            batch = client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return taken
            for message in batch:
                taken.append(Queued(message["MessageId"], message["Body"]))
                client.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def invalidation_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[InvalidationQueue]:
    """The stack's invalidation queue (moto's SQS) and the distribution it is for, named in
    the environment as the CDK stack names them."""
    url = boto3.client("sqs").create_queue(QueueName="imgpro-invalidations")["QueueUrl"]
    monkeypatch.setenv(config.INVALIDATION_QUEUE_URL, url)
    monkeypatch.setenv(config.DISTRIBUTION_ID, DISTRIBUTION)
    config.settings.cache_clear()
    yield InvalidationQueue(url)
    monkeypatch.delenv(config.INVALIDATION_QUEUE_URL)
    monkeypatch.delenv(config.DISTRIBUTION_ID)
    config.settings.cache_clear()
