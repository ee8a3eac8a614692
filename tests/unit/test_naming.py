from __future__ import annotations

import pytest

from imgpro.imaging.formats import JPEG, PNG
from imgpro.naming import stored_name


@pytest.mark.parametrize(
    ("filename", "fmt", "expected"),
    [
        ("photo.jpg", JPEG, "photo.jpg"),
        ("photo.JPEG", JPEG, "photo.JPEG"),
        ("photo.png", JPEG, "photo.jpg"),
        ("photo", PNG, "photo.png"),
        ("archive.tar.gz", PNG, "archive.tar.png"),
        ("/home/me/x.png", PNG, "x.png"),
        ("C:\\pics\\y.png", PNG, "y.png"),
        ("", PNG, "image.png"),
        (None, JPEG, "image.jpg"),
        (".jpg", JPEG, "image.jpg"),
        ("bad\x00na\nme.png", PNG, "badname.png"),
    ],
)
def test_stored_name_keeps_the_base_name_with_the_real_extension(filename, fmt, expected) -> None:
    assert stored_name(filename, fmt) == expected


def test_stored_name_is_capped_at_255_characters_keeping_the_extension() -> None:
    name = stored_name("n" * 400 + ".png", PNG)
    assert len(name) == 255
    assert name.endswith(".png")
