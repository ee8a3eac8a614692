"""Logs and metrics of every function, with AWS Lambda Powertools.

Each invocation (an API request through `imgpro.http.adapter`, a CDN origin request
through `imgpro.http.function_url`, a worker's batch through `worker_handler`) runs inside
`invocation()`, which:

- binds the keys every log line of the invocation carries: the Lambda request id
  (`function_request_id`), the API Gateway request id (`correlation_id`, the
  `x-amzn-RequestId` a client sees), the `route` (`GET /v1/media/{uid}`) and, once a
  token authenticates (`bind_team`, from `imgpro.auth`), the `team_id`;
- ends with one summary line: the route or worker, its `status` and `duration_ms`;
- flushes the metrics the code added meanwhile (`add_metric`) as CloudWatch embedded
  metric format (EMF): one log line, no CloudWatch API call. Every metric of the
  invocation shares one metric set (dimension `service`), except `Errors`, whose `code`
  dimension would apply to every metric of its set: each code is a set of its own.

The `imgpro` logger is the Powertools Logger's, so the code's existing
`logging.getLogger("imgpro")` calls write the same JSON lines with the same keys. Nothing
here logs a header, a query string, a body or a token: the keys above are all there is.

Outside Lambda (the local stack, the tests) the format is `plain` unless
`IMGPRO_LOG_FORMAT` says `json`: nothing is configured, no summary line and no EMF is
written (the local server prints its own line per request, `imgpro.local.server`), and
Powertools is not even imported. In Lambda it is imported when a handler is built (the
init phase), never by a module the handlers import: about 10 ms on top of the 150-200 ms
of boto3 and pynamodb.

Traces: Powertools' Tracer is not used. It needs aws-xray-sdk, whose import alone takes
about as long as boto3 and pynamodb together (it would double every cold start) and whose
patching of botocore adds work to every AWS call. Lambda's active tracing (set by the
stack) records each invocation's segment without it, with the API Gateway segment in
front; every log line carries its `xray_trace_id` (Powertools reads `_X_AMZN_TRACE_ID`),
which joins the logs to the trace.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar

from imgpro.config import LOG_FORMAT

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

JSON: Final = "json"
PLAIN: Final = "plain"
SERVICE: Final = "imgpro"
"""The logger Powertools configures (the package's own), and the default service name
and metric namespace when POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE are
unset (the stack sets both to this)."""
SERVICE_NAME_ENV: Final = "POWERTOOLS_SERVICE_NAME"
NAMESPACE_ENV: Final = "POWERTOOLS_METRICS_NAMESPACE"
_LAMBDA_FUNCTION_ENV: Final = "AWS_LAMBDA_FUNCTION_NAME"

# Metric names (namespace `imgpro`, dimension `service`; `Errors` also `code`).
UPLOADS: Final = "Uploads"
"""Media stored from an upload: POST /v1/upload, or a large upload the worker finished."""
IMPORTS: Final = "Imports"
"""Media stored from POST /v1/import."""
BYTES_STORED: Final = "BytesStored"
"""Bytes of the originals stored by those (Bytes): what counts against a team's storage."""
VARIANTS_MADE: Final = "VariantsMade"
"""Size variants rendered and stored by the resize function."""
VARIANT_RENDER_TIME: Final = "VariantRenderTime"
"""Milliseconds one variant took to render (decode, resize, encode)."""
ERRORS: Final = "Errors"
"""Error responses, by `code`: every ApiError code, and `internal_error` for a 500."""
RATE_LIMITED: Final = "RateLimited"
"""Requests refused with 429 `rate_limited`."""
QUOTA_REFUSED: Final = "QuotaRefused"
"""Requests refused with 403 `quota_exceeded`."""
INVALIDATIONS_RETRIED: Final = "InvalidationsRetried"
"""CDN invalidations CloudFront did not take, left on the queue to be tried again."""

COUNT: Final = "Count"
BYTES: Final = "Bytes"
MILLISECONDS: Final = "Milliseconds"

logger = logging.getLogger(SERVICE)

R = TypeVar("R")
Worker = Callable[[Any, Any], R]


@dataclass
class Invocation:
    """What one invocation has said about itself so far."""

    name: str
    """The route (`GET /v1/media/{uid}`), or the function for a worker."""
    started: float = field(default_factory=time.perf_counter)
    team_id: str | None = None
    status: int | str | None = None
    """The HTTP status answered, or `ok` / `error` for a worker."""
    summary: dict[str, Any] = field(default_factory=dict)
    """More keys for the summary line only: `error_code`, a worker's record counts."""
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def duration_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)


@dataclass
class Seen:
    """What the invocations run inside `watching()` told, for the local server's line."""

    team_id: str | None = None


_current: ContextVar[Invocation | None] = ContextVar("imgpro_invocation", default=None)
_watching: ContextVar[Seen | None] = ContextVar("imgpro_watching", default=None)
_powertools: Logger | None = None
_cold_start = True


def structured() -> bool:
    """Whether this process writes JSON logs and EMF: `IMGPRO_LOG_FORMAT` if set, else
    whether it runs in Lambda."""
    chosen = os.environ.get(LOG_FORMAT, "").strip().lower()
    if chosen:
        return chosen == JSON
    return bool(os.environ.get(_LAMBDA_FUNCTION_ENV))


def setup() -> None:
    """Make the `imgpro` logger write Powertools' JSON lines to stdout, once per process,
    in JSON mode only. Handler factories call it, so it runs in Lambda's init phase."""
    global _powertools
    if _powertools is not None or not structured():
        return
    from aws_lambda_powertools import Logger

    _powertools = Logger(service=SERVICE, logger_handler=_StdoutHandler(), utc=True)
    service = os.environ.get(SERVICE_NAME_ENV)
    if service and service != SERVICE:
        _powertools.append_keys(service=service)


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to `sys.stdout` as it is at each line: Lambda's never changes, a test's
    capture does (a stream kept from set-up would be one a later test closed)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stdout)
        super().emit(record)


# --- an invocation -----------------------------------------------------------------------


@contextmanager
def invocation(name: str, context: Any, **keys: str | None) -> Iterator[Invocation]:
    """Run one invocation: its keys bound to every log line, then its summary line and
    its metrics. `keys` None are left out. Not nested: an invocation inside another
    (one handler calling another in-process) replaces it until it ends."""
    global _cold_start
    current = Invocation(name)
    token = _current.set(current)
    cold, _cold_start = _cold_start, False
    json_mode = structured()
    if json_mode:
        setup()
        bound = {
            "function_name": getattr(context, "function_name", None),
            "function_request_id": getattr(context, "aws_request_id", None),
            "cold_start": cold,
            **keys,
        }
        _bind({key: value for key, value in bound.items() if value is not None})
    try:
        yield current
    finally:
        _current.reset(token)
        seen = _watching.get()
        if seen is not None and current.team_id is not None:
            seen.team_id = current.team_id
        if json_mode:
            try:
                _log_summary(current)
                _flush_metrics(current)
            except Exception:
                # The invocation's own answer matters more than its metrics.
                logger.exception("could not write the summary or metrics of %s", current.name)
            finally:
                _unbind()


def bind_team(team_id: str) -> None:
    """The authenticated team of the current invocation: on its summary, and on every
    log line it writes from now on."""
    current = _current.get()
    if current is None:
        return
    current.team_id = team_id
    if _powertools is not None and structured():
        _powertools.thread_safe_append_keys(team_id=team_id)


def add_metric(name: str, value: float = 1, unit: str = COUNT) -> None:
    """Count `value` of metric `name` for the current invocation, written when it ends.
    Outside an invocation (the CLI, a test calling the domain directly) it goes nowhere."""
    current = _current.get()
    if current is not None:
        current.metrics.append((name, unit, float(value)))


def add_error(code: str) -> None:
    """One `Errors` with dimension `code` for the current invocation, whose summary line
    names the code (`error_code`)."""
    current = _current.get()
    if current is not None:
        current.errors[code] += 1
        current.summary["error_code"] = code


@contextmanager
def watching() -> Iterator[Seen]:
    """What the invocations run inside this block tell about themselves (their team),
    for a caller in the same thread: the local server's per-request line."""
    seen = Seen()
    token = _watching.set(seen)
    try:
        yield seen
    finally:
        _watching.reset(token)


def worker_handler(name: str, function: Worker[R]) -> Worker[R]:
    """A worker's Lambda handler: `function(event, context)` inside an invocation, which
    logs its record counts, failures (`batchItemFailures`) and duration."""
    setup()

    def handler(event: Any, context: Any) -> R:
        records = event.get("Records") if isinstance(event, Mapping) else None
        with invocation(name, context) as current:
            if isinstance(records, list):
                current.summary["records"] = len(records)
            result = function(event, context)
            failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
            if isinstance(failures, list):
                current.summary["failed_records"] = len(failures)
            current.status = "ok"
            return result

    handler.__name__ = f"{name}_handler"
    handler.__doc__ = function.__doc__
    return handler


# --- what an invocation writes at its end ---------------------------------------------------


def _bind(keys: Mapping[str, object]) -> None:
    if _powertools is not None:
        _powertools.thread_safe_clear_keys()
        _powertools.thread_safe_append_keys(**keys)


def _unbind() -> None:
    if _powertools is not None:
        _powertools.thread_safe_clear_keys()


def _log_summary(current: Invocation) -> None:
    # No status: the invocation raised (Lambda logs the exception itself).
    status = current.status if current.status is not None else "error"
    duration = current.duration_ms
    logger.info(
        "%s %s %.1fms",
        current.name,
        status,
        duration,
        extra={"status": status, "duration_ms": duration, **current.summary},
    )


def _flush_metrics(current: Invocation) -> None:
    if not current.metrics and not current.errors:
        return
    from aws_lambda_powertools.metrics import EphemeralMetrics

    namespace = os.environ.get(NAMESPACE_ENV) or SERVICE
    service = os.environ.get(SERVICE_NAME_ENV) or SERVICE
    if current.metrics:
        # Ephemeral: this invocation's set alone, whatever another thread adds meanwhile.
        metrics = EphemeralMetrics(namespace=namespace, service=service)
        for name, unit, value in current.metrics:
            metrics.add_metric(name=name, unit=unit, value=value)
        metrics.flush_metrics()
    for code, count in sorted(current.errors.items()):
        # A single-metric set: the `code` dimension applies to every metric of its set.
        errors = EphemeralMetrics(namespace=namespace, service=service)
        errors.add_dimension(name="service", value=service)
        errors.add_dimension(name="code", value=code)
        errors.add_metric(name=ERRORS, unit=COUNT, value=count)
        errors.flush_metrics()
