from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgpro import config, signing
from imgpro.local.stack import SIGNING_KEY_ID, SigningKeys, environment

FAR = 4_102_444_800


def _environment(keys: SigningKeys | None = None) -> dict[str, str]:
    return environment(
        base_url="http://127.0.0.1:9000",
        aws_endpoint="http://127.0.0.1:5000",
        rate_limit="off",
        import_cidrs=(),
        signing=keys,
    )


@pytest.fixture(autouse=True)
def _forget_settings() -> Iterator[None]:
    yield
    config.settings.cache_clear()
    signing.reset()


def test_the_local_environment_signs_and_verifies_its_own_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _environment()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(config.SIGNING_KEY_PARAMETER, raising=False)
    config.settings.cache_clear()
    url = f"{env[config.CDN_BASE_URL]}/ab12cd34.jpg?size=m"
    signed = signing.sign(url, expires_at=FAR)
    assert signed.endswith(f"&Key-Pair-Id={SIGNING_KEY_ID}")
    assert signing.verify(signed)


def test_each_local_environment_gets_a_fresh_key_pair() -> None:
    first, second = _environment(), _environment()
    assert first[config.SIGNING_PRIVATE_KEY] != second[config.SIGNING_PRIVATE_KEY]
    assert first[config.SIGNING_PUBLIC_KEY] != second[config.SIGNING_PUBLIC_KEY]


def test_the_local_environment_uses_the_keys_it_is_given() -> None:
    keys = SigningKeys.generate()
    env = _environment(keys)
    assert env[config.SIGNING_KEY_ID] == SIGNING_KEY_ID
    assert env[config.SIGNING_PRIVATE_KEY] == keys.private_pem
    assert env[config.SIGNING_PUBLIC_KEY] == keys.public_pem


def test_the_local_key_pair_is_rsa_2048() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(SigningKeys.generate().private_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048


def test_the_private_key_stays_out_of_repr() -> None:
    keys = SigningKeys.generate()
    assert "PRIVATE KEY" not in repr(keys)
