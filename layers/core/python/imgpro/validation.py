"""Parsers for every request field, with the seed's rules and messages.

Each parser takes the raw value (None when absent) and returns the clean value or
raises `InvalidField`. `FieldErrors` runs several of them and reports every bad
field at once, in the seed's `{"errors": {field: [messages]}}` shape.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

from imgpro.errors import ValidationFailed
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.limits import MAX_UPLOAD_BYTES

T = TypeVar("T")

MAX_TAGS = 10
MAX_TAG_LENGTH = 50
TTL_MIN_SECONDS = 300
TTL_MAX_SECONDS = 90 * 24 * 3600
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_IDS = 100
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 2_000

_TTL_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TTL = re.compile(r"^(\d{1,12})([mhdw]?)$")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INTEGER = re.compile(r"^\d{1,9}$")

TagFilterMode = Literal["any", "all"]
TagUpdateMode = Literal["replace", "add", "remove"]


class InvalidField(ValueError):
    """A single field's value is unusable; the message is shown to the client."""


class FieldErrors:
    """Collects the errors of several fields so that a client learns all of them at once."""

    def __init__(self) -> None:
        self._errors: dict[str, list[str]] = {}

    def check(self, field: str, parser: Callable[[Any], T], raw: Any) -> T | None:
        try:
            return parser(raw)
        except (InvalidField, ImageRejected) as exc:
            self.add(field, str(exc))
            return None

    def add(self, field: str, message: str) -> None:
        self._errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self._errors:
            raise ValidationFailed(self._errors)

    @staticmethod
    def single(field: str, parser: Callable[[Any], T], raw: Any) -> T:
        """Run one parser; its InvalidField becomes a validation error on `field`."""
        try:
            return parser(raw)
        except (InvalidField, ImageRejected) as exc:
            raise ValidationFailed.field(field, str(exc)) from None


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, str):
        raise InvalidField(f"{what} must be a string")
    _require_unicode(raw, what)
    return raw


def _require_unicode(value: str, what: str) -> None:
    # JSON may carry lone surrogates ("\ud800"): Python keeps them, DynamoDB refuses them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(f"{what} is not valid Unicode text") from None


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def parse_tags(raw: Any) -> list[str]:
    """Comma-separated string (or a JSON array of strings): trimmed, empties dropped,
    duplicates dropped case-insensitively keeping the first spelling."""
    if raw is None:
        return []
    if isinstance(raw, str):
        parts = raw.split(",")
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        parts = raw
    else:
        raise InvalidField("Tags must be a comma-separated string or an array of strings")
    tags: dict[str, str] = {}
    for part in parts:
        _require_unicode(part, "Tags")
        tag = part.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidField(f"Each tag must be at most {MAX_TAG_LENGTH} characters")
        if _has_control_characters(tag):
            raise InvalidField("Tags must not contain control characters")
        tags.setdefault(tag_key(tag), tag)
    if len(tags) > MAX_TAGS:
        raise InvalidField(f"Maximum {MAX_TAGS} tags allowed")
    return list(tags.values())


def tag_key(tag: str) -> str:
    """Tags match case-insensitively, as a hosted service on a `_ci` collation does."""
    return tag.casefold()


def parse_ttl(raw: Any) -> int | None:
    """`5m`, `2h`, `7d`, `2w` or plain seconds, between 5 minutes and 90 days."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise InvalidField("TTL must be a duration like 5m, 2h, 7d or 2w, or a number of seconds")
    if isinstance(raw, int):
        raw = str(raw)
    value = _text(raw, "TTL").strip().lower()
    if value == "":
        return None
    match = _TTL.fullmatch(value)
    if not match:
        raise InvalidField("TTL must be a duration like 5m, 2h, 7d or 2w, or a number of seconds")
    seconds = int(match.group(1)) * _TTL_UNITS.get(match.group(2), 1)
    if seconds < TTL_MIN_SECONDS:
        raise InvalidField("TTL must be at least 5 minutes (300 seconds)")
    if seconds > TTL_MAX_SECONDS:
        raise InvalidField("TTL must be at most 90 days (7,776,000 seconds)")
    return seconds


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_public(raw: Any) -> bool | None:
    """`"1"`/`"0"`, booleans, 1/0, and the usual true/false words; None when absent or
    empty (a form sends every field, an unset one empty: the team's default applies)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise InvalidField('Public must be "1" or "0" (or true/false)')


def parse_limit(raw: Any) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    value = _integer(raw, "Limit")
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidField(f"Limit must be between 1 and {MAX_LIMIT}")
    return value


def parse_offset(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    value = _integer(raw, "Offset")
    if value > MAX_OFFSET:
        raise InvalidField(
            f"Offset must be at most {MAX_OFFSET}; use cursor pagination for deeper pages"
        )
    return value


def _integer(raw: Any, what: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise InvalidField(f"{what} must be a whole number")
    if value < 0:
        raise InvalidField(f"{what} must not be negative")
    return value


MAX_FILESIZE = MAX_UPLOAD_BYTES


def parse_filesize(raw: Any) -> int:
    """The size a large upload announces: 1 byte to 100 MB."""
    if raw is None:
        raise InvalidField("Filesize is required")
    value = _integer(raw, "Filesize")
    if not 1 <= value <= MAX_FILESIZE:
        raise InvalidField(f"Filesize must be between 1 and {MAX_FILESIZE:,} bytes (100 MB)")
    return value


def parse_ids(raw: Any) -> list[str]:
    """Comma-separated UIDs, at most 100, duplicates dropped, order kept."""
    if raw is None:
        raise InvalidField("The ids parameter is required")
    value = _text(raw, "Ids")
    ids = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not ids:
        raise InvalidField("The ids parameter is required")
    if len(ids) > MAX_IDS:
        raise InvalidField(f"Maximum {MAX_IDS} ids allowed")
    return ids


def is_wellformed_uid(uid: str) -> bool:
    """Whether a string could be a media id at all; anything else is simply not found."""
    return bool(_UID.fullmatch(uid))


def parse_tag_filter_mode(raw: Any) -> TagFilterMode:
    if raw is None or raw == "":
        return "any"
    if raw in ("any", "all"):
        return cast(TagFilterMode, raw)
    raise InvalidField('Tag mode must be "any" or "all"')


def parse_tag_update_mode(raw: Any) -> TagUpdateMode:
    if raw is None or raw == "":
        return "replace"
    if raw in ("replace", "add", "remove"):
        return cast(TagUpdateMode, raw)
    raise InvalidField('Tag mode must be "replace", "add" or "remove"')


def parse_name(raw: Any) -> str:
    value = _text(raw, "Name").strip()
    if not value:
        raise InvalidField("Name must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidField(f"Name must be at most {MAX_NAME_LENGTH} characters")
    if _has_control_characters(value) or "/" in value or "\\" in value:
        raise InvalidField("Name must not contain slashes or control characters")
    return value


def parse_description(raw: Any) -> str | None:
    """A description; an empty one clears it."""
    if raw is None:
        return None
    value = _text(raw, "Description").strip()
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidField(f"Description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise InvalidField("Description must not contain control characters")
    return value


MAX_URL_LENGTH = 2_048
"""What browsers and CDNs reliably carry; a longer import URL is a mistake or an attack."""


def parse_import_url(raw: Any) -> str:
    """The shape of an import URL; whether it may be fetched is `imgpro.fetching`'s call."""
    value = _text(raw, "URL").strip()
    if not value:
        raise InvalidField("URL is required")
    if len(value) > MAX_URL_LENGTH:
        raise InvalidField(f"URL must be at most {MAX_URL_LENGTH:,} characters")
    if not value.lower().startswith(("http://", "https://")):
        raise InvalidField("URL must start with http:// or https://")
    return value
