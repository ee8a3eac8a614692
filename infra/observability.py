"""Logs, metrics and traces: what every function is told, in one place.

Every function of the stack runs with the same Powertools settings (`handler_function`
adds them), so the code's Logger, Metrics and Tracer need no arguments:

- `POWERTOOLS_SERVICE_NAME=imgpro`: the `service` key of every log line, the `service`
  dimension Powertools adds to every metric, and the service of every trace segment.
- `POWERTOOLS_METRICS_NAMESPACE=imgpro`: the CloudWatch namespace of the custom metrics
  (named below; the dashboard and the 5xx alarm read them).
- `POWERTOOLS_LOG_LEVEL=INFO`: `imgpro:logLevel` changes it for a deploy.
- `POWERTOOLS_TRACE_DISABLED=true` only when `imgpro:tracing=false`: no X-Ray then.

X-Ray active tracing is on for every function and the API stage unless
`imgpro:tracing=false` (docs/observability.md weighs its cost).
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.options import OptionError, flag

SERVICE_NAME = "imgpro"
METRICS_NAMESPACE = "imgpro"
DEFAULT_LOG_LEVEL = "INFO"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The environment variables Powertools reads.
SERVICE_NAME_VARIABLE = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"
LOG_LEVEL_VARIABLE = "POWERTOOLS_LOG_LEVEL"
TRACE_DISABLED_VARIABLE = "POWERTOOLS_TRACE_DISABLED"

LOG_LEVEL_CONTEXT_KEY = "imgpro:logLevel"
"""The functions' log level (default INFO): DEBUG, INFO, WARNING, ERROR or CRITICAL."""
TRACING_CONTEXT_KEY = "imgpro:tracing"
"""X-Ray active tracing of every function and of the API stage (default on)."""

# --- the custom metrics the code emits (namespace METRICS_NAMESPACE) ---------------------
SERVICE_DIMENSION = "service"
"""Powertools adds `service=<POWERTOOLS_SERVICE_NAME>` to every metric it emits."""
ERROR_CODE_DIMENSION = "code"
"""`Errors` carries the error response's `code` (imgpro.errors) as a second dimension."""
UPLOADS = "Uploads"
"""Uploads stored (Count)."""
BYTES_STORED = "BytesStored"
"""Bytes of originals stored (Bytes)."""
IMPORTS = "Imports"
"""Media created from a URL (Count)."""
VARIANTS_MADE = "VariantsMade"
"""Size variants rendered by the resize function (Count)."""
VARIANT_RENDER_TIME = "VariantRenderTime"
"""Time to render one variant (Milliseconds)."""
ERRORS = "Errors"
"""Error responses, by `code` (Count): 4xx and 5xx alike."""
RATE_LIMITED = "RateLimited"
"""Requests refused by the per-token rate limits (Count)."""
QUOTA_REFUSED = "QuotaRefused"
"""Uploads or imports refused by the team's plan quota (Count)."""
INVALIDATIONS_RETRIED = "InvalidationsRetried"
"""CloudFront invalidations the worker failed and left for SQS to offer again (Count)."""
INVALIDATIONS_NOT_QUEUED = "InvalidationsNotQueued"
"""Not emitted by the code: a metric filter counts its `CDN INVALIDATION NOT QUEUED` log
lines (infra.monitoring), without dimensions."""
CUSTOM_METRICS = (
    UPLOADS,
    BYTES_STORED,
    IMPORTS,
    VARIANTS_MADE,
    VARIANT_RENDER_TIME,
    ERRORS,
    RATE_LIMITED,
    QUOTA_REFUSED,
    INVALIDATIONS_RETRIED,
)
# Error codes of responses that are 5xx by the img.pro wire format, yet not the server's
# fault: the URL an import fetched answered an error, or took too long (imgpro.errors).
CLIENT_CAUSED_5XX_CODES = ("import_failed", "fetch_timeout")


def tracing_enabled(scope: Construct) -> bool:
    """`imgpro:tracing` (default true)."""
    return flag(scope, TRACING_CONTEXT_KEY, default=True)


def lambda_tracing(scope: Construct) -> lambda_.Tracing:
    """ACTIVE (CDK then grants the role xray:PutTraceSegments and PutTelemetryRecords),
    or DISABLED, which leaves the function's tracing at Lambda's PassThrough."""
    return lambda_.Tracing.ACTIVE if tracing_enabled(scope) else lambda_.Tracing.DISABLED


def log_level(scope: Construct) -> str:
    """`imgpro:logLevel` (default INFO), checked at synth."""
    raw = scope.node.try_get_context(LOG_LEVEL_CONTEXT_KEY)
    value = DEFAULT_LOG_LEVEL if raw is None else str(raw).strip().upper() or DEFAULT_LOG_LEVEL
    value = {"WARN": "WARNING"}.get(value, value)
    if value not in LOG_LEVELS:
        raise OptionError(
            f"CDK context {LOG_LEVEL_CONTEXT_KEY}: expected one of {', '.join(LOG_LEVELS)},"
            f" got {raw!r}"
        )
    return value


def powertools_environment(scope: Construct) -> dict[str, str]:
    """The Powertools settings every function of the stack runs with."""
    environment = {
        SERVICE_NAME_VARIABLE: SERVICE_NAME,
        METRICS_NAMESPACE_VARIABLE: METRICS_NAMESPACE,
        LOG_LEVEL_VARIABLE: log_level(scope),
    }
    if not tracing_enabled(scope):
        # Tracer then records nothing (and needs no X-Ray permission).
        environment[TRACE_DISABLED_VARIABLE] = "true"
    return environment
