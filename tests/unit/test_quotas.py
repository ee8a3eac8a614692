"""The plan table, sizes and months of imgpro.quotas, and the `imgpro team put` quota flags."""

from __future__ import annotations

import calendar

import pytest

from imgpro import quotas
from imgpro.cli import build_parser
from imgpro.teams import PLANS


def test_the_plans_are_the_seeds() -> None:
    assert PLANS == ("free", "launch", "growth", "business")
    assert {
        plan: (limits.images_per_month, limits.storage_bytes)
        for plan, limits in quotas.PLAN_LIMITS.items()
    } == {
        "free": (1_000, 1_000_000_000),
        "launch": (10_000, 10_000_000_000),
        "growth": (100_000, 100_000_000_000),
        "business": (1_000_000, 1_000_000_000_000),
    }


def test_an_override_replaces_one_limit_and_says_so() -> None:
    limits = quotas.limits_for("launch", max_storage_bytes=5)
    assert (limits.images_per_month, limits.storage_bytes) == (10_000, 5)
    assert (limits.images_source, limits.storage_source) == ("the launch plan", "an override")
    assert quotas.limits_for("growth", max_images_per_month=0).images_per_month == 0


def test_an_unknown_plan_has_the_free_plans_limits() -> None:
    assert quotas.limits_for("platinum") == quotas.PLAN_LIMITS["free"]


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("0", 0),
        ("1234", 1234),
        ("500MB", 500 * 10**6),
        ("10GB", 10 * 10**9),
        ("10 gb", 10 * 10**9),
        ("1.5GB", 1_500_000_000),
        ("1TB", 10**12),
        ("4GiB", 4 * 2**30),
        ("512KiB", 512 * 1024),
    ],
)
def test_sizes_are_bytes_or_decimal_or_binary_units(text: str, nbytes: int) -> None:
    assert quotas.parse_bytes(text) == nbytes


@pytest.mark.parametrize("text", ["", "GB", "-1", "10XB", "1.5", "ten"])
def test_other_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        quotas.parse_bytes(text)


def test_sizes_read_in_decimal_units() -> None:
    assert quotas.format_bytes(10**9) == "1 GB"
    assert quotas.format_bytes(2_500_000) == "2.5 MB"
    assert quotas.format_bytes(999) == "999 bytes"


def test_months_are_utc_calendar_months() -> None:
    last_second = calendar.timegm((2026, 12, 31, 23, 59, 59))
    assert quotas.month_of(last_second) == "2026_12"
    assert quotas.month_of(last_second + 1) == "2027_01"
    assert quotas.images_attribute("2027_01") == "images_2027_01"


def test_what_an_item_holds_depends_on_its_status() -> None:
    assert quotas.held("ready", filesize=100, declared_size=None) == (100, 0)
    assert quotas.held("processing", filesize=None, declared_size=5000) == (5000, 1)
    assert quotas.held("failed", filesize=None, declared_size=5000) == (0, 0)


def test_a_standing_refuses_what_does_not_fit() -> None:
    standing = quotas.Standing(
        team_id="t",
        plan="free",
        public_default=False,
        limits=quotas.limits_for("free", max_storage_bytes=1000),
        month="2026_12",
        images_this_month=10,
        stored_bytes=900,
    )
    standing.check(100)
    with pytest.raises(quotas.QuotaExceeded) as refused:
        standing.admission(101)
    assert refused.value.status == 403 and refused.value.code == "quota_exceeded"
    assert "stores 900 of the 1,000 bytes" in refused.value.message
    assert "needs 101 more" in refused.value.message
    assert standing.admission(100) == quotas.Change(
        team_id="t", images=1, nbytes=100, limits=standing.limits
    )


def test_team_put_takes_quota_overrides() -> None:
    args = build_parser().parse_args(
        ["team", "put", "acme", "--max-images", "50", "--max-storage", "10GB"]
    )
    assert (args.max_images, args.max_storage) == (50, 10 * 10**9)
    plain = build_parser().parse_args(["team", "put", "acme"])
    assert (plain.max_images, plain.max_storage) == (None, None)


@pytest.mark.parametrize(("flag", "value"), [("--max-images", "-1"), ("--max-storage", "lots")])
def test_team_put_refuses_bad_overrides(capsys, flag: str, value: str) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["team", "put", "acme", flag, value])
    assert exited.value.code == 2
    assert flag in capsys.readouterr().err
