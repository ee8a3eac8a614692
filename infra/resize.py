"""The resize function: the CDN's fallback origin, which makes a size variant the bucket
does not have yet, stores it and returns it (`functions/resize`, imgpro.delivery)."""

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

# One decode and one resample of an original of up to 48 MP; CPU grows with memory.
_MEMORY_MB = 1536
# A viewer is waiting (CloudFront's origin read timeout is set from this, see infra.cdn).
TIMEOUT = cdk.Duration.seconds(30)


class Resizer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Mapping[str, str],
        core_layer: lambda_.ILayerVersion,
        imaging_layer: lambda_.ILayerVersion,
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
        )
        # AWS_IAM: only a SigV4-signed request gets through, and the distribution's origin
        # access control is the only signer the function's resource policy allows.
        self.function_url = self.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
