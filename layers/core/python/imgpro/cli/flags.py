"""Flag value types: each returns the parsed value or raises ArgumentTypeError, which
argparse reports with the flag's name, on one line, with exit status 2."""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from imgpro.local.stack import TeamSpec, TokenSpec
from imgpro.teams import PLANS, validate_abilities, validate_team_id

_RATE_LIMIT = re.compile(r"^(\d+)/(\d+)$")
_In = TypeVar("_In")
_Out = TypeVar("_Out")


def check(validate: Callable[[_In], _Out], value: _In) -> _Out:
    """`validate(value)`, with its ValueError turned into argparse's usage error."""
    try:
        return validate(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def port_number(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)


def count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (0 or more)")
    return int(value)


def byte_size(value: str) -> int:
    from imgpro.quotas import parse_bytes

    return check(parse_bytes, value)


def team_id(value: str) -> str:
    return check(validate_team_id, value)


def abilities(value: str) -> tuple[str, ...]:
    return check(validate_abilities, value.split(","))


def token_id(value: str) -> int:
    # As a Bearer token's id: a positive 64-bit integer (imgpro.auth).
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) <= 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a token id: the number before '|' in a token, "
            "as `imgpro token list` shows it"
        )
    return int(value)


def endpoint_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an endpoint URL: use http://HOST:PORT, such as the "
            "'aws endpoint (moto)' that `imgpro local` prints"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} has no valid port number") from None
    return value


def public_host(value: str) -> str:
    if not value or any(c in value for c in "/ \t@?#"):
        raise argparse.ArgumentTypeError(
            f"{value!r} must be a bare host name or address, like example.test or 192.0.2.7"
        )
    return value


def team_spec(value: str) -> TeamSpec:
    parts = value.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "public"):
        raise argparse.ArgumentTypeError(f"{value!r} must be TEAM:PLAN or TEAM:PLAN:public")
    team, plan = parts[0], parts[1]
    check(validate_team_id, team)
    if plan not in PLANS:
        raise argparse.ArgumentTypeError(f"plan {plan!r} must be one of {', '.join(PLANS)}")
    return TeamSpec(team_id=team, plan=plan, public_default=len(parts) == 3)


def token_spec(value: str) -> TokenSpec:
    # The secret is last and may itself contain ':'.
    parts = value.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"{value!r} must be TEAM:ABILITIES:SECRET")
    team, granted, secret = parts
    check(validate_team_id, team)
    return TokenSpec(team_id=team, abilities=abilities(granted), secret=secret)


def rate_limit(value: str) -> str:
    match = _RATE_LIMIT.match(value)
    if value != "off" and not (match and all(int(n) > 0 for n in match.groups())):
        raise argparse.ArgumentTypeError(
            f"{value!r} must be PER_MIN/PER_HOUR with two positive integers, or 'off'"
        )
    return value


def network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IP address or CIDR range") from None
