from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpro.models import sort_key
from imgpro.pagination import encode_cursor, parse_cursor
from imgpro.validation import InvalidField


@given(
    st.integers(min_value=0, max_value=9_999_999_999_999),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
)
def test_a_cursor_decodes_to_the_sort_key_of_its_item(created_ms: int, uid: str) -> None:
    assert parse_cursor(encode_cursor(created_ms, uid)) == sort_key(created_ms, uid)


@given(st.integers(0, 10**13 - 2), st.integers(0, 10**13 - 2))
def test_sort_keys_order_like_creation_times(a: int, b: int) -> None:
    assert (sort_key(a, "x") < sort_key(b, "x")) == (a < b)


@pytest.mark.parametrize("raw", ["1_a\n", "1_a ", " 1_a"])
def test_a_cursor_with_surrounding_whitespace_is_malformed(raw) -> None:
    with pytest.raises(InvalidField):
        parse_cursor(raw)


def test_absent_cursor_is_none() -> None:
    assert parse_cursor(None) is None
    assert parse_cursor("") is None


@given(st.text(max_size=40))
def test_any_string_is_either_a_cursor_or_a_clean_error(raw: str) -> None:
    try:
        bound = parse_cursor(raw)
    except InvalidField:
        return
    assert (bound is None) == (raw == "")
    assert bound is None or "#" in bound


@pytest.mark.parametrize("raw", ["1704067200_124", "0_a", "1704067200123_k3j4h5g6f7d8"])
def test_seed_style_cursors_parse(raw) -> None:
    assert parse_cursor(raw)
