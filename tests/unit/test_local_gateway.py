"""The local stack's dispatcher: routes, limits, handler invocation and the CDN paths.

Handlers here are small files written to a temporary `functions/` folder, loaded the
way the local stack loads the real ones; no AWS, no sockets.
"""

from __future__ import annotations

import json
import logging
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from imgpro.local.events import HttpRequest
from imgpro.local.gateway import MAX_BODY_BYTES, MAX_EVENT_BYTES, Gateway
from imgpro.local.lambdas import Functions, LambdaContext
from imgpro.routes import Route

ECHO = """
import json

def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({
            "resource": event["resource"],
            "pathParameters": event["pathParameters"],
            "function": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "arn": context.invoked_function_arn,
            "request_id": context.aws_request_id,
        }),
    }
"""
COUNTING = """
loads = globals().get("loads", 0) + 1

def handler(event, context):
    return {"statusCode": 200, "body": str(loads)}
"""
FAILING = """
def handler(event, context):
    raise RuntimeError("boom in the handler")
"""
MALFORMED = """
def handler(event, context):
    return {"body": "no status"}
"""
BROKEN_IMPORT = """
raise ImportError("cannot import this handler")
"""
WORKER = """
seen = []

def handler(event, context):
    seen.append((event, context.memory_limit_in_mb, context.get_remaining_time_in_millis()))
"""
# API Gateway's own 413s, which no gateway response can change (imgpro.routes).
BODY_TOO_LARGE = ("text; charset=utf-8", b"HTTP content length exceeded 10485760 bytes.")
EVENT_TOO_LARGE = ("application/json", {"message": "Request Too Long"})

ROUTES = (
    Route("GET", "/", "echo"),
    Route("GET", "/v1/media/{uid}", "echo"),
    Route("GET", "/count", "counting"),
    Route("GET", "/fail", "failing"),
    Route("GET", "/malformed", "malformed"),
    Route("GET", "/broken", "broken_import"),
    Route("GET", "/missing", "missing"),
)


@dataclass
class Delivered:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@pytest.fixture
def functions_dir(tmp_path: Path) -> Path:
    for name, source in {
        "echo": ECHO,
        "counting": COUNTING,
        "failing": FAILING,
        "malformed": MALFORMED,
        "broken_import": BROKEN_IMPORT,
        "worker": WORKER,
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "handler.py").write_text(textwrap.dedent(source))
    return tmp_path


@pytest.fixture
def gateway(functions_dir: Path) -> Gateway:
    return Gateway(Functions(functions_dir), routes=ROUTES, deliver=_no_delivery)


def _no_delivery(path: str, query: dict[str, str], headers: dict[str, str]) -> Delivered:
    raise AssertionError("an API path reached the CDN")


def get(target: str) -> HttpRequest:
    return HttpRequest(method="GET", target=target, headers=(("Host", "h"),))


def test_handler_gets_the_event_of_its_route(gateway: Gateway) -> None:
    response = gateway.dispatch(get("/v1/media/abc"))
    assert response.status == 200
    body = json.loads(response.body)
    assert body["resource"] == "/v1/media/{uid}"
    assert body["pathParameters"] == {"uid": "abc"}


def test_handler_gets_a_lambda_context(gateway: Gateway) -> None:
    body = json.loads(gateway.dispatch(get("/")).body)
    assert body["function"] == "imgpro-local-echo"
    assert body["arn"].endswith(":function:imgpro-local-echo")
    assert body["request_id"]
    assert 28_000 < body["remaining_ms"] <= 29_000


def test_handler_module_is_loaded_once(gateway: Gateway) -> None:
    first = gateway.dispatch(get("/count")).body
    second = gateway.dispatch(get("/count")).body
    assert first == second == b"1"


def test_unknown_path_is_the_gateways_json_404(gateway: Gateway) -> None:
    response = gateway.dispatch(get("/nowhere/at/all"))
    assert response.status == 404
    assert response.header("Content-Type") == "application/json"
    assert json.loads(response.body) == {"error": "Not found", "code": "not_found"}


def test_method_not_on_the_route_is_the_gateways_json_404(gateway: Gateway) -> None:
    response = gateway.dispatch(HttpRequest(method="POST", target="/count"))
    assert response.status == 404


def test_api_responses_carry_a_request_id(gateway: Gateway) -> None:
    assert gateway.dispatch(get("/")).header("x-amzn-RequestId")
    assert gateway.dispatch(get("/nowhere/at/all")).header("x-amzn-RequestId")


def test_handler_exception_is_a_logged_502(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="imgpro.local"):
        response = gateway.dispatch(get("/fail"))
    assert response.status == 502
    assert json.loads(response.body) == {"error": "Internal server error", "code": "internal_error"}
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "boom in the handler" in str(record.exc_info[1])


def test_handler_exception_surfaces_when_asked(functions_dir: Path) -> None:
    gateway = Gateway(Functions(functions_dir), routes=ROUTES, raise_server_exceptions=True)
    with pytest.raises(RuntimeError, match="boom in the handler"):
        gateway.dispatch(get("/fail"))


def test_malformed_proxy_response_is_a_502(gateway: Gateway) -> None:
    assert gateway.dispatch(get("/malformed")).status == 502


def test_missing_handler_file_is_a_502(gateway: Gateway) -> None:
    assert gateway.dispatch(get("/missing")).status == 502


def test_failed_handler_import_is_retried_on_the_next_request(
    gateway: Gateway, functions_dir: Path
) -> None:
    assert gateway.dispatch(get("/broken")).status == 502
    (functions_dir / "broken_import" / "handler.py").write_text(textwrap.dedent(COUNTING))
    assert gateway.dispatch(get("/broken")).status == 200


def test_body_over_the_gateway_limit_is_refused_before_the_handler(gateway: Gateway) -> None:
    request = HttpRequest(method="GET", target="/fail", body=b"x" * (MAX_BODY_BYTES + 1))
    response = gateway.dispatch(request)
    assert response.status == 413
    assert (response.header("Content-Type"), response.body) == BODY_TOO_LARGE


def binary(size: int, target: str) -> HttpRequest:
    return HttpRequest(
        method="GET", target=target, headers=(("Content-Type", "image/png"),), body=b"x" * size
    )


def test_event_over_lambdas_payload_limit_is_the_gateways_413(gateway: Gateway) -> None:
    # 5 MB is under API Gateway's limit, but not once base64-encoded into the event.
    response = gateway.dispatch(binary(5 * 1024 * 1024, "/fail"))
    assert response.status == 413  # not 502: the failing handler never ran
    assert (response.header("Content-Type"), json.loads(response.body)) == EVENT_TOO_LARGE


def test_event_within_lambdas_payload_limit_reaches_the_handler(gateway: Gateway) -> None:
    assert gateway.dispatch(binary(4 * 1024 * 1024, "/count")).status == 200


def test_text_body_counts_once_against_lambdas_payload_limit(gateway: Gateway) -> None:
    fits = MAX_EVENT_BYTES - 10_000  # room for the rest of the event
    request = HttpRequest(method="GET", target="/count", body=b"x" * fits)
    assert gateway.dispatch(request).status == 200
    request = HttpRequest(method="GET", target="/count", body=b"x" * MAX_EVENT_BYTES)
    assert gateway.dispatch(request).status == 413


def test_cdn_paths_are_delivered_not_routed(functions_dir: Path) -> None:
    calls = []

    def deliver(path: str, query: dict[str, str], headers: dict[str, str]) -> Delivered:
        calls.append((path, query, headers))
        return Delivered(200, {"Content-Type": "image/png"}, b"\x89PNG")

    gateway = Gateway(Functions(functions_dir), routes=ROUTES, deliver=deliver)
    request = HttpRequest(
        method="GET",
        target="/cdn/abc.png?size=s&size=m&Expires=1",
        headers=(("Host", "h"), ("If-None-Match", '"a"'), ("if-none-match", '"b"')),
    )
    response = gateway.dispatch(request)
    assert (response.status, response.body) == (200, b"\x89PNG")
    assert response.header("Content-Type") == "image/png"
    assert calls == [
        ("/abc.png", {"size": "m", "Expires": "1"}, {"host": "h", "if-none-match": '"a","b"'})
    ]


def test_cdn_refuses_methods_other_than_get_and_head(gateway: Gateway) -> None:
    response = gateway.dispatch(HttpRequest(method="POST", target="/cdn/abc.png"))
    assert response.status == 405


def test_cdn_failure_is_a_logged_502(functions_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    def deliver(path: str, query: dict[str, str], headers: dict[str, str]) -> Delivered:
        raise RuntimeError("boom in delivery")

    gateway = Gateway(Functions(functions_dir), routes=ROUTES, deliver=deliver)
    with caplog.at_level(logging.ERROR, logger="imgpro.local"):
        assert gateway.dispatch(get("/cdn/abc.png")).status == 502
    assert caplog.records and caplog.records[0].exc_info is not None


def test_two_functions_with_the_same_file_name_do_not_share_a_module(
    functions_dir: Path,
) -> None:
    functions = Functions(functions_dir)
    assert functions.handler("echo").__module__ != functions.handler("counting").__module__


def test_remaining_time_counts_down_from_the_integration_timeout() -> None:
    context = LambdaContext("f", aws_request_id="r", timeout_ms=1_000)
    assert 0 < context.get_remaining_time_in_millis() <= 1_000
    assert LambdaContext("f", aws_request_id="r", timeout_ms=0).get_remaining_time_in_millis() == 0


def test_worker_handler_loads_by_folder_and_gets_a_workers_limits(functions_dir: Path) -> None:
    functions = Functions(functions_dir)
    event = {"Records": []}
    functions.invoke_worker("worker", event)
    seen = functions.handler("worker").__globals__["seen"]
    ((received, memory_mb, remaining_ms),) = seen
    assert received is event
    assert memory_mb == 3008
    assert 299_000 < remaining_ms <= 300_000
