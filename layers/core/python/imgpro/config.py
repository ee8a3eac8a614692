"""Settings, read once per container from the environment (or a mapping in tests).

Every setting a handler reads is named here, so the CDK stack and the local stack
can set exactly these variables and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpro.ratelimit import Limits

# Names of the environment variables. The CDK stack and the local stack import these.
TABLE_NAME = "IMGPRO_TABLE_NAME"
BUCKET_NAME = "IMGPRO_BUCKET_NAME"
CDN_BASE_URL = "IMGPRO_CDN_BASE_URL"
SHARE_BASE_URL = "IMGPRO_SHARE_BASE_URL"
MAX_DIRECT_UPLOAD_BYTES = "IMGPRO_MAX_DIRECT_UPLOAD_BYTES"
IDEMPOTENCY_TTL_SECONDS = "IMGPRO_IDEMPOTENCY_TTL_SECONDS"
# CloudFront: invalidations when public media is deleted or changes visibility (unset
# locally, where nothing caches), and signed URLs for private media.
DISTRIBUTION_ID = "IMGPRO_DISTRIBUTION_ID"
"""The distribution the invalidation worker invalidates (imgpro.invalidation)."""
INVALIDATION_QUEUE_URL = "IMGPRO_INVALIDATION_QUEUE_URL"
"""The SQS queue the API and the expiry worker put CDN invalidations on (imgpro.cdn);
unset on the local stack, where nothing caches."""
SIGNING_KEY_ID = "IMGPRO_SIGNING_KEY_ID"
"""The CloudFront public key's id: the `Key-Pair-Id` of every signed URL."""
SIGNING_KEY_IDS = "IMGPRO_SIGNING_KEY_IDS"
"""Every key of the CloudFront key group, `id=fingerprint,...` (imgpro.signing.fingerprint):
the signer uses the id whose public key is the half of the private key in use, so keys
can be rotated without redeploying in lockstep. Unset: IMGPRO_SIGNING_KEY_ID."""
SIGNING_KEY_PARAMETER = "IMGPRO_SIGNING_KEY_PARAMETER"
"""Name of the SSM SecureString holding the private key (PEM), in AWS."""
SIGNING_PRIVATE_KEY = "IMGPRO_SIGNING_PRIVATE_KEY"
"""The private key itself (PEM), where there is no SSM: the local stack and tests."""
SIGNING_PUBLIC_KEY = "IMGPRO_SIGNING_PUBLIC_KEY"
"""The public key (PEM), for the local stack's CDN to verify signatures as CloudFront does."""
SIGNED_URL_TTL_SECONDS = "IMGPRO_SIGNED_URL_TTL_SECONDS"
CORS_ORIGINS = "IMGPRO_CORS_ORIGINS"
"""Comma-separated origins browsers may call the API from (or `*`); unset: no CORS."""
# Read by the rate-limit and URL-import features; the local stack sets them from
# --rate-limit and --allow-import-from.
RATE_LIMIT = "IMGPRO_RATE_LIMIT"
IMPORT_ALLOW_CIDRS = "IMGPRO_IMPORT_ALLOW_CIDRS"
IMPORT_DEADLINE_SECONDS = "IMGPRO_IMPORT_DEADLINE_SECONDS"
"""The whole fetch of an import (20 s by default; docs/import.md says how it fits)."""
CLOCK_OFFSET_SECONDS = "IMGPRO_CLOCK_OFFSET_SECONDS"
"""A local and testing aid, never set in AWS: seconds `imgpro.clock` adds to the wall
clock, read once at import (the local stack also moves it at run time: README)."""
LOG_FORMAT = "IMGPRO_LOG_FORMAT"
"""`json` (Powertools JSON logs and EMF metrics) or `plain` (neither: the local stack);
unset, `json` in Lambda and `plain` elsewhere (imgpro.observability)."""

# API Gateway hands a Lambda at most 6 MB of event, and a binary body arrives
# base64-encoded (4/3 larger) inside it, so about 4.4 MB of raw body is the most
# a synchronous upload can carry. Bigger files take the direct-to-S3 flow.
DEFAULT_MAX_DIRECT_UPLOAD_BYTES = 4_400_000


class ConfigError(RuntimeError):
    """A setting is missing or malformed: a deployment bug, never a client error."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    cdn_base_url: str | None
    """Base of every `src`: CloudFront's domain when deployed, the local stack's /cdn.
    None only for the resize function: CloudFront's origin cannot also know CloudFront
    (a dependency cycle), and it builds no URLs."""
    share_base_url: str | None
    """Base of every `url`; None means "this API's own base URL" (GET /{uid})."""
    max_direct_upload_bytes: int
    idempotency_ttl_seconds: int
    distribution_id: str | None = None
    invalidation_queue_url: str | None = None
    signing_key_id: str | None = None
    signing_key_ids: str | None = None
    signing_key_parameter: str | None = None
    signing_private_key: str | None = None
    signing_public_key: str | None = None
    signed_url_ttl_seconds: int = 3600
    import_deadline_seconds: int = 20
    import_allow_cidrs: tuple[str, ...] = ()
    """Networks an import may reach on any port, private ones included: the local stack's
    --allow-import-from, for tests and developers. Empty in AWS: only the public internet."""
    rate_limit: Limits | None = None
    """Per-token limits (imgpro.ratelimit), None for `off`. `from_mapping` reads
    `PER_MIN/PER_HOUR` or `off`, and takes the seed's 100/1000 when the variable is unset."""

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            table_name=_required(env, TABLE_NAME),
            bucket_name=_required(env, BUCKET_NAME),
            cdn_base_url=(env.get(CDN_BASE_URL) or "").strip().rstrip("/") or None,
            share_base_url=(env.get(SHARE_BASE_URL) or "").rstrip("/") or None,
            max_direct_upload_bytes=_integer(
                env, MAX_DIRECT_UPLOAD_BYTES, DEFAULT_MAX_DIRECT_UPLOAD_BYTES
            ),
            idempotency_ttl_seconds=_integer(env, IDEMPOTENCY_TTL_SECONDS, 24 * 3600),
            distribution_id=env.get(DISTRIBUTION_ID) or None,
            invalidation_queue_url=(env.get(INVALIDATION_QUEUE_URL) or "").strip() or None,
            signing_key_id=env.get(SIGNING_KEY_ID) or None,
            signing_key_ids=(env.get(SIGNING_KEY_IDS) or "").strip() or None,
            signing_key_parameter=env.get(SIGNING_KEY_PARAMETER) or None,
            signing_private_key=env.get(SIGNING_PRIVATE_KEY) or None,
            signing_public_key=env.get(SIGNING_PUBLIC_KEY) or None,
            signed_url_ttl_seconds=_integer(env, SIGNED_URL_TTL_SECONDS, 3600),
            import_deadline_seconds=_integer(env, IMPORT_DEADLINE_SECONDS, 20),
            import_allow_cidrs=_networks(env, IMPORT_ALLOW_CIDRS),
            rate_limit=_rate_limit(env, RATE_LIMIT),
        )


def _required(env: Mapping[str, str], key: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigError(f"environment variable {key} is required")
    return value


def _networks(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    import ipaddress

    raw = [part.strip() for part in env.get(key, "").split(",") if part.strip()]
    try:
        return tuple(str(ipaddress.ip_network(part, strict=False)) for part in raw)
    except ValueError as error:
        raise ConfigError(f"environment variable {key}: {error}") from None


def _rate_limit(env: Mapping[str, str], key: str) -> Limits | None:
    from imgpro.ratelimit import DEFAULT_LIMITS, parse_limits

    raw = env.get(key, "").strip()
    if not raw:
        return DEFAULT_LIMITS
    try:
        return parse_limits(raw)
    except ValueError as error:
        raise ConfigError(f"environment variable {key}: {error}") from None


def _integer(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {key} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"environment variable {key} must be positive, got {value}")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings, read on first use. Tests call `settings.cache_clear()`."""
    return Settings.from_mapping(os.environ)


def cdn_base_url() -> str:
    """The CDN base for `src` URLs; a deployment without it cannot describe media."""
    base = settings().cdn_base_url
    if not base:
        raise ConfigError(f"environment variable {CDN_BASE_URL} is required")
    return base
