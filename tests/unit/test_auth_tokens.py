from __future__ import annotations

import pytest

from imgpro.auth import Caller, hash_secret, new_secret, parse_authorization
from imgpro.errors import Forbidden, Unauthorized


def test_no_header_is_anonymous() -> None:
    assert parse_authorization(None) is None
    assert parse_authorization("  ") is None


def test_sanctum_form_splits_id_and_secret() -> None:
    token = parse_authorization("Bearer 3|abc123def456")
    assert (token.token_id, token.secret) == (3, "abc123def456")


def test_plain_form_has_no_id() -> None:
    token = parse_authorization("Bearer abc123def456")
    assert (token.token_id, token.secret) == (None, "abc123def456")


def test_only_the_first_bar_separates_the_id() -> None:
    assert parse_authorization("Bearer 3|a|b").secret == "a|b"


@pytest.mark.parametrize(
    "header", ["Basic abc", "Bearer", "Bearer a b", "Bearer x|abc", "Bearer 0|abc", "Bearer 3|"]
)
def test_malformed_headers_are_unauthorized(header) -> None:
    with pytest.raises(Unauthorized):
        parse_authorization(header)


def test_secrets_are_hashed_with_sha256() -> None:
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_new_secrets_are_long_random_and_bar_free() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and len(a) == 40 and "|" not in a


@pytest.mark.parametrize(
    ("abilities", "read", "write"),
    [
        ({"*"}, True, True),
        ({"read"}, True, False),
        ({"write"}, False, True),
        ({"read", "write"}, True, True),
    ],
)
def test_abilities(abilities, read, write) -> None:
    caller = Caller(team_id="t", token_id=1, abilities=frozenset(abilities))
    assert (caller.can("read"), caller.can("write")) == (read, write)


def test_require_raises_forbidden_naming_the_ability() -> None:
    with pytest.raises(Forbidden, match="write"):
        Caller(team_id="t", token_id=1, abilities=frozenset({"read"})).require("write")
