"""The hostile corpus builds, and each file is what its magic bytes should say.

What the pipeline does with each file is tested with the pipeline; this only keeps the
corpus itself sound, and cheap enough to build in any test run.
"""

from __future__ import annotations

import pytest

from imgpro.imaging import formats
from tests.support.hostile import CORPUS, Hostile


# A hang guard, not a speed test: each builder takes milliseconds (written by hand, not
# by encoding huge images); one that takes seconds has started allocating pixels.
@pytest.mark.timeout(20)
@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.name)
def test_entry_builds_with_its_formats_magic_bytes(entry: Hostile) -> None:
    data = entry.build()
    assert data
    assert formats.detect(data[: formats.HEAD_BYTES]) is entry.format


def test_entries_have_unique_names() -> None:
    names = [entry.name for entry in CORPUS]
    assert len(set(names)) == len(names)
