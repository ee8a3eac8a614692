from __future__ import annotations

import pytest

from imgpro import teams
from imgpro.auth import (
    Caller,
    authenticate,
    hash_secret,
    new_secret,
    parse_authorization,
    record_use,
)
from imgpro.errors import Forbidden, Unauthorized
from imgpro.models import META, TokenItem, token_pk
from tests.conftest import TOKENS


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


# Last use, and revocation (against moto: the `tokens` fixture's teams and tokens)


def _item(secret: str) -> TokenItem:
    return TokenItem.get(token_pk(hash_secret(secret)), META, consistent_read=True)


def _authenticate(sanctum: str) -> Caller:
    return authenticate(parse_authorization(f"Bearer {sanctum}"))


def test_a_token_records_its_first_use(tokens, clock) -> None:
    assert _item(TOKENS["acme"]).last_used_ms is None
    _authenticate(tokens["acme"])
    assert _item(TOKENS["acme"]).last_used_ms == int(clock.now() * 1000)
    assert _item(TOKENS["acme-read"]).last_used_ms is None


def test_last_use_is_written_at_most_once_a_minute(tokens, clock, dynamodb_calls) -> None:
    _authenticate(tokens["acme"])
    first = _item(TOKENS["acme"]).last_used_ms
    dynamodb_calls.clear()
    clock.advance(59)
    _authenticate(tokens["acme"])
    _authenticate(tokens["acme"])
    assert dynamodb_calls == {"GetItem": 2}
    assert _item(TOKENS["acme"]).last_used_ms == first
    clock.advance(1)
    _authenticate(tokens["acme"])
    assert dynamodb_calls["UpdateItem"] == 1
    assert _item(TOKENS["acme"]).last_used_ms == first + 60_000


def test_a_stale_read_does_not_write_last_use_again(tokens, clock) -> None:
    stale = _item(TOKENS["acme"])  # as a concurrent request read it: never used
    _authenticate(tokens["acme"])
    recorded = _item(TOKENS["acme"]).last_used_ms
    clock.advance(5)
    record_use(stale)  # its condition fails, quietly
    assert _item(TOKENS["acme"]).last_used_ms == recorded


def test_recording_use_does_not_bring_back_a_revoked_token(tokens) -> None:
    read_before_revoke = _item(TOKENS["acme"])
    teams.revoke_token("acme", read_before_revoke.token_id)
    record_use(read_before_revoke)
    with pytest.raises(TokenItem.DoesNotExist):
        _item(TOKENS["acme"])


def test_a_revoked_token_is_refused_at_once(tokens) -> None:
    assert _authenticate(tokens["acme-read"]).team_id == "acme"
    teams.revoke_token("acme", int(tokens["acme-read"].split("|")[0]))
    with pytest.raises(Unauthorized):
        _authenticate(tokens["acme-read"])
    assert _authenticate(tokens["acme"]).team_id == "acme"


def test_revoking_a_token_of_another_team_or_no_token_is_unknown(tokens) -> None:
    with pytest.raises(teams.UnknownToken):
        teams.revoke_token("acme", int(tokens["globex"].split("|")[0]))
    with pytest.raises(teams.UnknownToken):
        teams.revoke_token("acme", 999)
    assert _authenticate(tokens["globex"]).team_id == "globex"


def test_listed_tokens_carry_no_secret_and_no_hash(tokens) -> None:
    listed = teams.list_tokens("acme")
    assert [(t.token_id, t.abilities) for t in listed] == [
        (1, ("*",)),
        (2, ("read",)),
        (3, ("write",)),
    ]
    for secret in TOKENS.values():
        assert secret not in repr(listed)
        assert hash_secret(secret) not in repr(listed)


def test_a_failed_write_of_last_use_is_logged_and_the_request_goes_on(
    tokens, monkeypatch, caplog
) -> None:
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")

    def refuse(self, *args, **kwargs):
        raise UpdateError("Failed to update item", throttled)

    monkeypatch.setattr(TokenItem, "update", refuse)
    assert _authenticate(tokens["acme"]).team_id == "acme"
    assert "could not record the use of token 1: ThrottlingException" in caplog.text
