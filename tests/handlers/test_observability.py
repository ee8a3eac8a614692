"""Logs and metrics of real handlers on real events, in the JSON mode Lambda runs them in:
one summary line per request with its ids, route and team, the existing exception log
with the same keys, EMF metrics once per invocation, and never a token (imgpro.observability).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from imgpro import cdn, config, observability, teams
from imgpro.http import adapter
from imgpro.media import reading
from tests.conftest import TOKENS
from tests.support import images
from tests.support.gateway import FakeContext, handler_module, load_event

# What Powertools' Logger notes on the logger it configured.
POWERTOOLS_MARKS = (
    "init",
    "powertools_handler",
    "powertools_buffer_config",
    "powertools_buffer_cache",
)
API_REQUEST_ID = load_event("rest_api_proxy.json")["requestContext"]["requestId"]


@dataclass
class Output:
    text: str
    """Everything written to stdout, stderr and the log records, as one string."""
    lines: list[dict[str, Any]]
    """The JSON lines of stdout."""

    def logs(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if "_aws" not in line]

    def summary(self, route: str) -> dict[str, Any]:
        (found,) = [line for line in self.logs() if line.get("route") == route and "status" in line]
        return found

    def metric_sets(self) -> list[dict[str, Any]]:
        """The EMF documents written: one per metric set."""
        return [line for line in self.lines if "_aws" in line]

    def metric(self, name: str) -> list[dict[str, Any]]:
        return [
            emf
            for emf in self.metric_sets()
            for directive in emf["_aws"]["CloudWatchMetrics"]
            if name in [m["Name"] for m in directive["Metrics"]]
        ]


def values(emf: dict[str, Any], name: str) -> list[float]:
    """A metric's values in an EMF document (a number, or a list of them)."""
    value = emf[name]
    return list(value) if isinstance(value, list) else [value]


@pytest.fixture
def captured(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Any]:
    """JSON mode, as in Lambda; `captured()` is the output so far. Afterwards the
    `imgpro` logger is as it was: no Powertools handler left for the other tests."""
    monkeypatch.setenv(config.LOG_FORMAT, observability.JSON)
    monkeypatch.setattr(observability, "_powertools", None)
    package = logging.getLogger("imgpro")
    level, handlers = package.level, list(package.handlers)
    capsys.readouterr()

    def output() -> Output:
        out, err = capsys.readouterr()
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return Output(text=out + err + caplog.text, lines=lines)

    yield output
    for handler in package.handlers:
        if handler not in handlers:
            package.removeHandler(handler)
    package.setLevel(level)
    for name in POWERTOOLS_MARKS:
        package.__dict__.pop(name, None)
    for handler in logging.root.handlers:
        for log_filter in list(handler.filters):
            if type(log_filter).__name__ == "SuppressFilter":
                handler.removeFilter(log_filter)


@pytest.fixture
def photo(api) -> dict[str, Any]:
    return api.upload("acme", images.jpeg((640, 480)), public="1").json()


def test_a_request_logs_its_ids_route_team_status_and_duration_never_the_token(
    api, photo, captured
) -> None:
    token = api.tokens["acme"]
    assert TOKENS["acme"] in token  # the `id|secret` form: the secret must not show

    assert api.get(f"/v1/media/{photo['id']}", token="acme").status == 200

    logged = captured()
    summary = logged.summary("GET /v1/media/{uid}")
    assert summary["function_request_id"] == FakeContext.aws_request_id
    assert summary["correlation_id"] == API_REQUEST_ID
    assert summary["team_id"] == "acme"
    assert summary["status"] == 200
    assert summary["path"] == f"/v1/media/{photo['id']}"
    assert isinstance(summary["duration_ms"], float)
    assert summary["level"] == "INFO" and summary["service"] == "imgpro"
    assert summary["message"].startswith("GET /v1/media/{uid} 200 ")
    assert len(logged.logs()) == 1  # one line per request
    assert TOKENS["acme"] not in logged.text
    assert "Bearer" not in logged.text and "uthorization" not in logged.text


def test_a_request_without_a_token_has_no_team(api, photo, captured) -> None:
    assert api.get(f"/v1/media/{photo['id']}").status == 200
    assert "team_id" not in captured().summary("GET /v1/media/{uid}")


def test_a_refused_token_is_logged_as_a_401_without_the_token(api, photo, captured) -> None:
    wrong = "1|not-the-right-secret"
    assert api.get("/v1/media", token=wrong).status == 401
    logged = captured()
    summary = logged.summary("GET /v1/media")
    assert summary["status"] == 401 and summary["error_code"] == "unauthorized"
    assert "team_id" not in summary
    assert "not-the-right-secret" not in logged.text


def test_an_unhandled_error_is_logged_with_the_requests_keys_and_counted(
    api, photo, captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapter, "raise_server_errors", False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reading, "get", broken)
    assert api.get(f"/v1/media/{photo['id']}", token="acme").status == 500

    logged = captured()
    (error,) = [line for line in logged.logs() if line["level"] == "ERROR"]
    assert error["message"] == "unhandled error in get_media"
    assert "RuntimeError: a bug" in error["exception"]
    assert error["team_id"] == "acme" and error["route"] == "GET /v1/media/{uid}"
    assert error["correlation_id"] == API_REQUEST_ID
    summary = logged.summary("GET /v1/media/{uid}")
    assert summary["status"] == 500 and summary["error_code"] == "internal_error"
    (errors,) = logged.metric(observability.ERRORS)
    assert errors["code"] == "internal_error" and values(errors, "Errors") == [1]
    assert TOKENS["acme"] not in logged.text


def test_the_keys_of_one_request_do_not_reach_the_next(api, photo, captured) -> None:
    api.get(f"/v1/media/{photo['id']}", token="acme")
    api.get(f"/v1/media/{photo['id']}")
    first, second = captured().logs()
    assert first["team_id"] == "acme" and "team_id" not in second


# --- metrics ---------------------------------------------------------------------------------


def test_an_upload_writes_its_metrics_in_one_emf_line(api, captured) -> None:
    created = api.upload("acme", images.jpeg((320, 200)))
    assert created.status == 201

    (emf,) = captured().metric_sets()  # flushed once, at the end of the invocation
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "imgpro"
    assert directive["Dimensions"] == [["service"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Uploads": "Count",
        "BytesStored": "Bytes",
    }
    assert values(emf, "Uploads") == [1]
    assert values(emf, "BytesStored") == [created.json()["filesize"]]
    assert emf["service"] == "imgpro"


def test_an_idempotent_replay_counts_no_second_upload(api, captured) -> None:
    data = images.jpeg((100, 100))
    headers = {"Idempotency-Key": "metrics-replay"}
    assert api.upload("acme", data, headers=headers).status == 201
    captured()
    assert api.upload("acme", data, headers=headers).status == 201
    assert captured().metric(observability.UPLOADS) == []


def test_an_error_is_counted_by_code_in_a_metric_set_of_its_own(api, photo, captured) -> None:
    assert api.get("/v1/media/nosuchmedia1", token="acme").status == 404

    (emf,) = captured().metric_sets()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service", "code"]]
    assert [m["Name"] for m in directive["Metrics"]] == ["Errors"]
    assert values(emf, "Errors") == [1] and emf["code"] == "not_found"


def test_a_rate_limited_request_is_counted(api, captured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.RATE_LIMIT, "1/100")
    config.settings.cache_clear()
    try:
        # globex: a token that made no request yet this minute
        assert api.get("/v1/media", token="globex").status == 200
        assert api.get("/v1/media", token="globex").status == 429
    finally:
        config.settings.cache_clear()
    logged = captured()
    (limited,) = logged.metric(observability.RATE_LIMITED)
    assert values(limited, "RateLimited") == [1]
    (errors,) = logged.metric(observability.ERRORS)
    assert errors["code"] == "rate_limited"
    assert logged.logs()[-1]["status"] == 429


def test_a_quota_refusal_is_counted(api, captured) -> None:
    teams.put_team("tiny", plan="free", max_storage_bytes=10_000)
    api.tokens["tiny"] = teams.issue_token("tiny").sanctum
    body = {"name": "big.jpg", "filesize": 20_000}
    assert api.post("/v1/upload/direct", token="tiny", json_body=body).status == 403

    logged = captured()
    (refused,) = logged.metric(observability.QUOTA_REFUSED)
    assert values(refused, "QuotaRefused") == [1]
    assert logged.summary("POST /v1/upload/direct")["team_id"] == "tiny"


def test_the_resize_origin_counts_and_times_a_variant(api, photo, captured) -> None:
    path = f"/v/{photo['id']}/m.webp"
    event = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "Signature=sig-value&Key-Pair-Id=K2TEST&Policy=policy-value",
        "headers": {
            "host": "abc.lambda-url.us-east-1.on.aws",
            "x-imgpro-viewer-url": f"/{photo['id']}.jpg?size=m&Signature=sig-value",
        },
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": "fn-url-1"},
        "isBase64Encoded": False,
    }
    assert handler_module("resize").handler(event, FakeContext())["statusCode"] == 200

    logged = captured()
    (emf,) = logged.metric_sets()
    units = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"VariantsMade": "Count", "VariantRenderTime": "Milliseconds"}
    assert values(emf, "VariantsMade") == [1]
    (render_ms,) = values(emf, "VariantRenderTime")
    assert render_ms > 0
    summary = logged.summary("GET origin")
    assert summary["path"] == path and summary["status"] == 200
    assert summary["correlation_id"] == "fn-url-1"
    for secret in ("sig-value", "policy-value", "Key-Pair-Id"):
        assert secret not in logged.text


def test_the_invalidation_worker_counts_a_retry_and_logs_its_batch(
    aws, captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(paths: Any, *, reference: str) -> str:
        error = {"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "later"}}
        raise ClientError(error, "CreateInvalidation")

    monkeypatch.setattr(cdn, "create_invalidation", refuse)
    message = cdn.Message(reason="delete", media=("abc",), paths=("/abc.jpg",))
    record = {
        "messageId": "m-1",
        "receiptHandle": "h-1",
        "body": message.to_json(),
        "attributes": {"ApproximateReceiveCount": "2"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }
    result = handler_module("invalidate").handler({"Records": [record]}, FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}

    logged = captured()
    (retried,) = logged.metric(observability.INVALIDATIONS_RETRIED)
    assert values(retried, "InvalidationsRetried") == [1]
    (summary,) = [line for line in logged.logs() if "status" in line]
    assert summary["message"].startswith("invalidate ok ")
    assert summary["records"] == 1 and summary["failed_records"] == 1
    assert summary["function_request_id"] == FakeContext.aws_request_id
    warning = next(line for line in logged.logs() if line["level"] == "WARNING")
    assert warning["function_request_id"] == FakeContext.aws_request_id


# --- the local stack's plain mode ------------------------------------------------------------


def test_plain_mode_writes_no_json_and_no_metrics(
    api, photo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(config.LOG_FORMAT, observability.PLAIN)
    capsys.readouterr()
    with observability.watching() as seen:
        assert api.upload("acme", images.jpeg((64, 64))).status == 201
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert seen.team_id == "acme"  # what the local server's line shows


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "imgpro-GetMedia"}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "imgpro-GetMedia", config.LOG_FORMAT: "plain"}, False),
        ({config.LOG_FORMAT: "JSON"}, True),
    ],
)
def test_json_in_lambda_plain_elsewhere_unless_told(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: bool
) -> None:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", config.LOG_FORMAT):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert observability.structured() is expected


def test_metrics_that_cannot_be_written_do_not_fail_the_request(
    api, captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    def broken(self: Any, **kwargs: Any) -> None:
        raise ValueError("no metrics today")

    monkeypatch.setattr(EphemeralMetrics, "add_metric", broken)
    assert api.upload("acme", images.jpeg((32, 32))).status == 201
    logged = captured()
    assert logged.metric_sets() == []
    (error,) = [line for line in logged.logs() if line["level"] == "ERROR"]
    assert error["message"] == "could not write the summary or metrics of POST /v1/upload"


def test_a_worker_that_raises_is_summed_up_as_an_error(
    aws, captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgpro import processing

    def broken(uid: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(processing, "process_incoming", broken)
    event = {"Records": [{"s3": {"object": {"key": "incoming/abc123"}}}]}
    with pytest.raises(RuntimeError):
        handler_module("process_upload").handler(event, FakeContext())
    (summary,) = captured().logs()
    assert summary["message"].startswith("process_upload error ")
    assert summary["status"] == "error" and summary["records"] == 1
