"""`Idempotency-Key` for creates, on Powertools' idempotency utility.

A retry with the same key and the same request returns the first response and
stores nothing twice; the same key with a different request is a 422; a retry
while the first attempt still runs is a 409. Keys are scoped to the team and the
endpoint, and records live in the main table (removed by its TTL on
`expires_at`) under one static partition `IDEMPOTENCY`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from imgpro.config import settings
from imgpro.errors import BadRequest, Conflict, IdempotencyKeyReused

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class _Deadline:
    """What Powertools asks of a Lambda context: time left, so that an attempt that
    dies mid-way stops blocking retries once its invocation would have timed out."""

    remaining_ms: Callable[[], int]

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


def validate_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise BadRequest(f"{HEADER} must be 1-255 printable ASCII characters")
    return raw


def run_once(
    produce: Callable[[], dict[str, Any]],
    *,
    scope: str,
    team_id: str,
    key: str | None,
    fingerprint: str,
    remaining_ms: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Run `produce` once per (scope, team, key); replay its JSON result on retries.

    `fingerprint` identifies the request's content (not its encoding, so a client
    that re-encodes the same multipart form with a new boundary still matches).
    """
    if key is None:
        return produce()
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config, run = _idempotent_runner()
    if remaining_ms is not None:
        config.register_lambda_context(_Deadline(remaining_ms))
    try:
        return run(
            request={"scope": scope, "team": team_id, "key": key, "fingerprint": fingerprint},
            produce=produce,
        )
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict() from None


@lru_cache(maxsize=1)
def _idempotent_runner() -> tuple[Any, Callable[..., dict[str, Any]]]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY",
        expiry_attr="expires_at",
    )
    config = IdempotencyConfig(
        event_key_jmespath="[scope, team, key]",
        payload_validation_jmespath="fingerprint",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings().idempotency_ttl_seconds,
        hash_function="sha256",
    )

    # Powertools types the decorator factory's result as Any; `run` keeps its signature.
    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="request", persistence_store=persistence, config=config
    )
    def run(*, request: dict[str, Any], produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return produce()

    return config, run
