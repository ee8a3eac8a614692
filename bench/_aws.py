"""The moto account the benchmarks run handlers in: the environment a deployed function
sees, the table and bucket provisioned as deployed, one team and its token."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "core" / "python"), str(ROOT)]

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "IMGPRO_TABLE_NAME": "bench-table",
    "IMGPRO_BUCKET_NAME": "bench-bucket",
    "IMGPRO_CDN_BASE_URL": "https://cdn.bench.test",
    "IMGPRO_RATE_LIMIT": "1000000/1000000",
}
TEAM = "bench"


@contextmanager
def account(*, plan: str = "business") -> Iterator[str]:
    """A fresh moto account with the table, the bucket, a signing key for private media,
    and team `bench` (public by default); yields the team's full-ability token."""
    from tests.conftest import SIGNING_KEY_ID, signing_key_pair

    private_pem, public_pem = signing_key_pair()
    os.environ.update(
        ENVIRONMENT,
        IMGPRO_SIGNING_KEY_ID=SIGNING_KEY_ID,
        IMGPRO_SIGNING_PRIVATE_KEY=private_pem,
        IMGPRO_SIGNING_PUBLIC_KEY=public_pem,
    )
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    from moto import mock_aws

    with mock_aws():
        from imgpro import clients, config, provision, teams

        config.settings.cache_clear()
        clients.reset()
        provision.ensure_table(ENVIRONMENT["IMGPRO_TABLE_NAME"])
        provision.ensure_bucket(ENVIRONMENT["IMGPRO_BUCKET_NAME"])
        clients.bind_table()
        teams.put_team(TEAM, plan=plan, public_default=True)
        yield teams.issue_token(TEAM, abilities=["*"]).sanctum
