"""A team's metadata privacy setting: what its originals lose of their metadata.

Pure and dependency-free, so the team's item can be read (imgpro.quotas) and set
(imgpro.teams, the `imgpro` CLI) without loading the image code that applies it
(imgpro.imaging.metadata).
"""

from __future__ import annotations

from typing import Literal, TypeGuard

StripPolicy = Literal["gps", "all"]
""""gps": location removed from EXIF, XMP and text chunks, the rest kept (the default).
"all": every EXIF, XMP, IPTC and comment block removed, but orientation and the colour
profile."""
STRIP_POLICIES: tuple[StripPolicy, ...] = ("gps", "all")
DEFAULT_STRIP: StripPolicy = "gps"


def is_strip_policy(value: object) -> TypeGuard[StripPolicy]:
    return value in STRIP_POLICIES


def strip_policy(value: object) -> StripPolicy:
    """The policy a stored value names; the default for anything else (an item written
    before the setting existed has none)."""
    return value if is_strip_policy(value) else DEFAULT_STRIP


__all__ = ["DEFAULT_STRIP", "STRIP_POLICIES", "StripPolicy", "is_strip_policy", "strip_policy"]
