"""Field parsers: the seed's rules, including property-based checks on open inputs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpro.errors import ValidationFailed
from imgpro.validation import (
    FieldErrors,
    InvalidField,
    parse_description,
    parse_ids,
    parse_limit,
    parse_name,
    parse_offset,
    parse_public,
    parse_tag_filter_mode,
    parse_tag_update_mode,
    parse_tags,
    parse_ttl,
)

# --- ttl ---


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("5m", 300),
        ("2h", 7200),
        ("7d", 604800),
        ("2w", 1209600),
        ("3600", 3600),
        ("86400", 86400),
        ("90d", 7776000),
        ("7776000", 7776000),
        (" 7D ", 604800),
        (600, 600),
    ],
)
def test_ttl_accepts_durations_and_seconds(raw, seconds) -> None:
    assert parse_ttl(raw) == seconds


@pytest.mark.parametrize("raw", [None, ""])
def test_absent_ttl_means_permanent(raw) -> None:
    assert parse_ttl(raw) is None


def test_ttl_under_300_seconds_is_refused_with_the_seed_message() -> None:
    with pytest.raises(InvalidField, match=r"^TTL must be at least 5 minutes \(300 seconds\)$"):
        parse_ttl("4m")


@pytest.mark.parametrize("raw", ["7776001", "91d", "13w"])
def test_ttl_over_90_days_is_refused(raw) -> None:
    with pytest.raises(InvalidField, match="at most 90 days"):
        parse_ttl(raw)


@pytest.mark.parametrize("raw", ["1y", "5 m", "-300", "1.5h", "m", "0x300", True, [300]])
def test_malformed_ttl_is_refused(raw) -> None:
    with pytest.raises(InvalidField):
        parse_ttl(raw)


@given(st.integers(min_value=300, max_value=7_776_000))
def test_every_ttl_in_range_round_trips_as_seconds(seconds: int) -> None:
    assert parse_ttl(str(seconds)) == seconds


@given(st.text(max_size=20))
def test_ttl_parser_never_fails_unexpectedly(raw: str) -> None:
    try:
        value = parse_ttl(raw)
    except InvalidField:
        return
    assert value is None or 300 <= value <= 7_776_000


# --- tags ---


def test_tags_are_split_trimmed_and_empty_ones_dropped() -> None:
    assert parse_tags(" vacation, beach ,,sunset ") == ["vacation", "beach", "sunset"]


def test_duplicate_tags_keep_the_first_spelling() -> None:
    assert parse_tags("Beach,beach,BEACH,sea") == ["Beach", "sea"]


def test_ten_tags_are_allowed_and_eleven_are_not() -> None:
    assert len(parse_tags(",".join(f"t{i}" for i in range(10)))) == 10
    with pytest.raises(InvalidField, match=r"^Maximum 10 tags allowed$"):
        parse_tags(",".join(f"t{i}" for i in range(11)))


def test_duplicates_do_not_count_towards_the_limit() -> None:
    assert len(parse_tags(",".join(["a"] * 30))) == 1


def test_a_fifty_character_tag_is_allowed_and_fifty_one_is_not() -> None:
    assert parse_tags("x" * 50) == ["x" * 50]
    with pytest.raises(InvalidField, match="50 characters"):
        parse_tags("x" * 51)


def test_tags_may_be_an_array_of_strings() -> None:
    assert parse_tags([" a", "b "]) == ["a", "b"]


@pytest.mark.parametrize("raw", [5, ["a", 1], {"a": 1}, "a\x00b"])
def test_tags_of_the_wrong_type_or_with_control_characters_are_refused(raw) -> None:
    with pytest.raises(InvalidField):
        parse_tags(raw)


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)))
def test_parsed_tags_always_obey_the_limits(parts: list[str]) -> None:
    try:
        tags = parse_tags(",".join(parts))
    except InvalidField:
        return
    assert len(tags) <= 10
    assert all(0 < len(t) <= 50 and t == t.strip() and "," not in t for t in tags)
    assert len({t.casefold() for t in tags}) == len(tags)


# --- public, limit, offset, ids, modes, name, description ---


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("0", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("false", False),
        (None, None),
    ],
)
def test_public_accepts_the_seeds_forms(raw, value) -> None:
    assert parse_public(raw) is value


@pytest.mark.parametrize("raw", ["", "  "])
def test_an_empty_public_is_no_choice_so_the_team_default_applies(raw) -> None:
    # A form sends every field; one the user left blank is not a refusal (docs/decisions.md).
    assert parse_public(raw) is None


@pytest.mark.parametrize("raw", ["2", "maybe", 2, [1]])
def test_public_refuses_other_values(raw) -> None:
    with pytest.raises(InvalidField):
        parse_public(raw)


def test_limit_defaults_to_50_and_caps_at_100() -> None:
    assert parse_limit(None) == 50
    assert parse_limit("100") == 100
    with pytest.raises(InvalidField):
        parse_limit("101")


def test_offset_defaults_to_zero_and_refuses_huge_values() -> None:
    assert parse_offset(None) == 0
    with pytest.raises(InvalidField, match="cursor"):
        parse_offset("10001")


def test_ids_are_split_deduplicated_and_capped() -> None:
    assert parse_ids("a, b,a,,c") == ["a", "b", "c"]
    with pytest.raises(InvalidField, match=r"^Maximum 100 ids allowed$"):
        parse_ids(",".join(str(i) for i in range(101)))


@pytest.mark.parametrize("raw", [None, "", " , "])
def test_empty_ids_are_refused(raw) -> None:
    with pytest.raises(InvalidField, match="required"):
        parse_ids(raw)


def test_tag_modes() -> None:
    assert parse_tag_filter_mode(None) == "any"
    assert parse_tag_filter_mode("all") == "all"
    assert parse_tag_update_mode(None) == "replace"
    assert parse_tag_update_mode("remove") == "remove"
    with pytest.raises(InvalidField):
        parse_tag_filter_mode("replace")
    with pytest.raises(InvalidField):
        parse_tag_update_mode("any")


@pytest.mark.parametrize("raw", ["", "  ", "a/b", "a\\b", "x" * 256, "a\nb", 3])
def test_bad_names_are_refused(raw) -> None:
    with pytest.raises(InvalidField):
        parse_name(raw)


def test_description_keeps_newlines_and_refuses_other_control_characters() -> None:
    assert parse_description("line 1\nline 2") == "line 1\nline 2"
    with pytest.raises(InvalidField):
        parse_description("bell\x07")


def test_field_errors_collects_every_field() -> None:
    errors = FieldErrors()
    errors.check("ttl", parse_ttl, "1")
    errors.check("tags", parse_tags, "x" * 51)
    assert errors.check("limit", parse_limit, "5") == 5
    with pytest.raises(ValidationFailed) as caught:
        errors.raise_if_any()
    assert set(caught.value.errors) == {"ttl", "tags"}
    assert caught.value.body()["error"] == "Validation failed"
