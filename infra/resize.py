"""The resize function: the CDN's fallback origin, which makes a size variant the bucket
does not have yet, stores it and returns it (`functions/resize`, imgpro.delivery).

`-c imgpro:resizeReservedConcurrency=N` reserves N concurrent executions for it, which
is also its ceiling: a scan of ids or a burst of first requests cannot take the account's
whole concurrency from the API's functions (uploads). Unset by default, since reserving
takes N from the account's unreserved pool for good (docs/cdn.md weighs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.functions import handler_function
from infra.paths import FUNCTIONS_DIR

RESIZE_FUNCTION = "resize"
"""Its folder under `functions/`, and its name in `ImgProStack.functions`."""
RESERVED_CONCURRENCY_CONTEXT_KEY = "imgpro:resizeReservedConcurrency"
"""A positive number of concurrent executions to reserve (and cap it at); unset: none."""

# One decode and one resample of an original of up to 48 MP; CPU grows with memory.
_MEMORY_MB = 1536
# A viewer is waiting (CloudFront's origin read timeout is set from this, see infra.cdn).
TIMEOUT = cdk.Duration.seconds(30)


def reserved_concurrency(scope: Construct) -> int | None:
    """The `imgpro:resizeReservedConcurrency` context value, checked at synth."""
    raw = scope.node.try_get_context(RESERVED_CONCURRENCY_CONTEXT_KEY)
    if raw is None or str(raw).strip().lower() in ("", "none", "off"):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(
            f"CDK context {RESERVED_CONCURRENCY_CONTEXT_KEY}: expected a positive number of "
            f"concurrent executions, got {raw!r}"
        )
    return value


class Resizer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        imaging_layer: lambda_.ILayerVersion,
        reserved_concurrency: int | None = None,
        functions_dir: Path = FUNCTIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = handler_function(
            self,
            "Function",
            folder=functions_dir / RESIZE_FUNCTION,
            description="imgpro: makes a size variant on its first CDN request",
            memory_size=_MEMORY_MB,
            timeout=TIMEOUT,
            layers=[core_layer, imaging_layer],
            environment=environment,
            reserved_concurrent_executions=reserved_concurrency,
        )
        # AWS_IAM: only a SigV4-signed request gets through, and the distribution's origin
        # access control is the only signer the function's resource policy allows.
        self.function_url = self.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
