from __future__ import annotations

import pytest

from imgpro import config
from imgpro.config import ConfigError, Settings

BASE = {config.TABLE_NAME: "t", config.BUCKET_NAME: "b", config.CDN_BASE_URL: "https://c/"}


def test_settings_read_from_a_mapping() -> None:
    settings = Settings.from_mapping(BASE)
    assert (settings.table_name, settings.cdn_base_url) == ("t", "https://c")
    assert settings.max_direct_upload_bytes == config.DEFAULT_MAX_DIRECT_UPLOAD_BYTES


@pytest.mark.parametrize("key", [config.TABLE_NAME, config.BUCKET_NAME])
def test_a_missing_setting_names_its_variable(key) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_mapping({k: v for k, v in BASE.items() if k != key})


@pytest.mark.parametrize("value", ["ten", "0", "-5"])
def test_a_bad_integer_setting_names_its_variable(value) -> None:
    with pytest.raises(ConfigError, match=config.MAX_DIRECT_UPLOAD_BYTES):
        Settings.from_mapping({**BASE, config.MAX_DIRECT_UPLOAD_BYTES: value})


def test_the_cdn_base_is_optional_until_a_url_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    # The resize function runs without it (CloudFront's origin cannot know CloudFront).
    assert Settings.from_mapping({**BASE, config.CDN_BASE_URL: ""}).cdn_base_url is None
    monkeypatch.setattr(
        config, "settings", lambda: Settings.from_mapping({**BASE, config.CDN_BASE_URL: ""})
    )
    with pytest.raises(ConfigError, match=config.CDN_BASE_URL):
        config.cdn_base_url()


def test_rate_limits_default_to_100_a_minute_and_1000_an_hour() -> None:
    from imgpro.ratelimit import Limits

    assert Settings.from_mapping(BASE).rate_limit == Limits(per_minute=100, per_hour=1000)


def test_rate_limits_are_read_as_per_minute_slash_per_hour() -> None:
    from imgpro.ratelimit import Limits

    settings = Settings.from_mapping({**BASE, config.RATE_LIMIT: "5/50"})
    assert settings.rate_limit == Limits(per_minute=5, per_hour=50)


def test_rate_limits_can_be_off() -> None:
    assert Settings.from_mapping({**BASE, config.RATE_LIMIT: "off"}).rate_limit is None


@pytest.mark.parametrize("value", ["100", "0/10", "fast"])
def test_a_bad_rate_limit_names_its_variable(value) -> None:
    with pytest.raises(ConfigError, match=config.RATE_LIMIT):
        Settings.from_mapping({**BASE, config.RATE_LIMIT: value})
