"""Fixtures shared by every tier: moto-backed AWS, teams, tokens, a gateway client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import settings

from imgpro import config

# Timing is noisy on shared 2-core machines: a property test is about what it finds, never
# how long one example took, so Hypothesis's per-example deadline is off for every test.
settings.register_profile("imgpro", deadline=None)
settings.load_profile("imgpro")

TABLE = "imgpro-test"
BUCKET = "imgpro-test"
CDN = "https://cdn.example.test"

SIGNING_KEY_ID = "K2TESTKEYID"


def signing_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair (PEM private, PEM public) for CloudFront-style signed URLs."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


TOKENS = {
    "acme": "acme-full-secret",
    "acme-read": "acme-read-secret",
    "acme-write": "acme-write-secret",
    "globex": "globex-full-secret",
}


@pytest.fixture(scope="session")
def aws_settings() -> Iterator[None]:
    """The environment a deployed function sees, once per session, so that clients and
    connections are built once (as in a warm container) rather than per test."""
    from moto import mock_aws  # noqa: F401 - moto must hook botocore before any client exists

    from imgpro import clients

    private_pem, public_pem = signing_key_pair()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            config.SIGNING_KEY_ID: SIGNING_KEY_ID,
            config.SIGNING_PRIVATE_KEY: private_pem,
            config.SIGNING_PUBLIC_KEY: public_pem,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            config.TABLE_NAME: TABLE,
            config.BUCKET_NAME: BUCKET,
            config.CDN_BASE_URL: CDN,
            # Generous, so no test trips it by accident; tests/handlers/test_rate_limits.py
            # sets small ones.
            config.RATE_LIMIT: "10000/100000",
        }.items():
            patch.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", config.SHARE_BASE_URL):
            patch.delenv(key, raising=False)
        clients.reset()
        yield
        clients.reset()


@pytest.fixture
def aws(aws_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto account per test, with the table and bucket provisioned as deployed."""
    from moto import mock_aws

    from imgpro import clients, provision
    from imgpro.http import adapter

    monkeypatch.setattr(adapter, "raise_server_errors", True)
    with mock_aws():
        provision.ensure_table(TABLE)
        provision.ensure_bucket(BUCKET)
        clients.bind_table()
        yield


@pytest.fixture
def tokens(aws: None) -> dict[str, str]:
    """Two teams: acme (private by default) with full, read-only and write-only tokens,
    and globex with a full token. Values are the `id|secret` Sanctum forms."""
    from imgpro import teams

    teams.put_team("acme", plan="growth")
    teams.put_team("globex", plan="free")
    issued = {
        "acme": teams.issue_token("acme", abilities=["*"], secret=TOKENS["acme"]),
        "acme-read": teams.issue_token("acme", abilities=["read"], secret=TOKENS["acme-read"]),
        "acme-write": teams.issue_token("acme", abilities=["write"], secret=TOKENS["acme-write"]),
        "globex": teams.issue_token("globex", abilities=["*"], secret=TOKENS["globex"]),
    }
    return {name: token.sanctum for name, token in issued.items()}


@pytest.fixture
def api(tokens: dict[str, str]):
    from tests.support.gateway import Gateway

    return Gateway(tokens)


class FrozenClock:
    """`imgpro.clock.now` held still: it moves only when a test moves it."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, timestamp: float) -> None:
        """Jump to `timestamp` (epoch seconds)."""
        self._now = timestamp

    def advance(self, seconds: float) -> None:
        self._now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Freezes the domain's clock (`imgpro.clock.now`, which every expiry and timestamp
    reads); `clock.set(ts)` and `clock.advance(seconds)` move it. It starts at the real
    time, so AWS (moto, botocore's presigning), which keeps its own, agrees until moved."""
    from imgpro import clock as domain_clock

    frozen = FrozenClock(domain_clock.now())
    monkeypatch.setattr(domain_clock, "now", frozen.now)
    return frozen


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts every DynamoDB operation made through botocore, by name."""
    import botocore.client

    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls
