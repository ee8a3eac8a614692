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
