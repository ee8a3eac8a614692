"""Reading `imgpro:*` CDK context options, checked at synth so a typo fails there.

`cdk -c key=value` passes strings, cdk.json and cdk.context.json pass JSON values: each
reader accepts both.
"""

from __future__ import annotations

import json
from pathlib import Path

from constructs import Construct

from infra.paths import PROJECT_ROOT

_TRUE = ("true", "on", "yes", "1")
_FALSE = ("false", "off", "no", "0")


DEV_CONTEXT_KEY = "imgpro:dev"
"""A throwaway stack: data, logs and log buckets are deleted with it."""


class OptionError(ValueError):
    """A context option has a value it cannot have."""


def flag(scope: Construct, key: str, *, default: bool) -> bool:
    raw = scope.node.try_get_context(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    value = str(raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise OptionError(f"CDK context {key}: expected true or false, got {raw!r}")


def integer(scope: Construct, key: str, *, default: int, minimum: int = 0) -> int:
    raw = scope.node.try_get_context(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise OptionError(f"CDK context {key}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise OptionError(f"CDK context {key}: expected at least {minimum}, got {value}")
    return value


def text(scope: Construct, key: str) -> str | None:
    raw = scope.node.try_get_context(key)
    value = "" if raw is None else str(raw).strip()
    return value or None


def string_list(scope: Construct, key: str) -> list[str]:
    """A list from cdk.json (`["a", "b"]`), or from `-c key=a,b` / `-c 'key=["a","b"]'`."""
    raw = scope.node.try_get_context(key)
    if raw is None:
        return []
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                raw = json.loads(stripped)
            except ValueError:
                raise OptionError(f"CDK context {key}: not a JSON list: {raw!r}") from None
        else:
            raw = [part for part in stripped.split(",")]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise OptionError(f"CDK context {key}: expected a list of strings, got {raw!r}")
    return [item.strip() for item in raw if item.strip()]


def read_file(key: str, path: str) -> str:
    """A file named by a context option, relative to the project (where cdk.json is)."""
    file = Path(path).expanduser()
    if not file.is_absolute():
        file = PROJECT_ROOT / file
    try:
        return file.read_text()
    except OSError as error:
        raise OptionError(f"CDK context {key}: cannot read {file}: {error.strerror}") from None


def is_dev(scope: Construct) -> bool:
    return flag(scope, DEV_CONTEXT_KEY, default=False)
