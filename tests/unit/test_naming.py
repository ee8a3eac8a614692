from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpro.imaging.formats import GIF, JPEG, PNG, STORED_AS_IS, WEBP, ImageFormat
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
        ("photo (1).jpg", JPEG, "photo (1).jpg"),
        ("Mom's café & co.jpg", JPEG, "Mom's café & co.jpg"),
    ],
)
def test_stored_name_keeps_the_base_name_with_the_real_extension(filename, fmt, expected) -> None:
    assert stored_name(filename, fmt) == expected


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ('"x.png', "x.png"),
        ('a"; filename="evil.png', "a; filename=evil.png"),
        ("x\r\nSet-Cookie: a=b.png", "xSet-Cookie a=b.png"),
        ("x%0d%0a.png", "x.png"),
        ("x%0D%0A%22.png", "x.png"),
        ("x%0%0aa%\x0022.png", "x.png"),
        ("a\\b.png", "b.png"),
        ("$(reboot)`id`.png", "(reboot)id.png"),
        ("a|b>c<d*e?f:g.png", "abcdefg.png"),
        ("-rf.png", "rf.png"),
        (".bashrc.png", "bashrc.png"),
        ("  spaced \t  out   .png", "spaced out.png"),
        ("line\u2028break\u2029.png", "line break.png"),
        ("right\u202eto\u200bleft.png", "righttoleft.png"),
        ('"""".png', "image.png"),
        ("\x00\x01.png", "image.png"),
    ],
)
def test_stored_name_drops_what_breaks_a_header_a_shell_or_a_file_system(
    filename, expected
) -> None:
    assert stored_name(filename, PNG) == expected


def test_stored_name_is_capped_at_255_characters_keeping_the_extension() -> None:
    name = stored_name("n" * 400 + ".png", PNG)
    assert len(name) == 255
    assert name.endswith(".png")


def test_a_cut_never_leaves_a_trailing_space_before_the_extension() -> None:
    name = stored_name("n" * 250 + " " + "m" * 100 + ".png", PNG)
    assert name == "n" * 250 + ".png"


_TRICKY = st.text(
    alphabet=st.sampled_from(list('"\\/.%0aAdD2 \r\n\t-$`:*?<>|\u2028\u202e\x00xé😀')), max_size=40
)


@given(
    filename=st.one_of(st.none(), st.text(), _TRICKY, st.text(min_size=250, max_size=400)),
    fmt=st.sampled_from([*STORED_AS_IS, ImageFormat("HEIC", "HEIF", "heic", "image/heic")]),
)
def test_any_filename_gives_a_safe_name_with_the_real_extension(
    filename: str | None, fmt: ImageFormat
) -> None:
    name = stored_name(filename, fmt)
    stem, _, ext = name.rpartition(".")
    assert 0 < len(name) <= 255
    assert ext.lower() in fmt.extensions
    assert stem and stem == stem.strip() and "  " not in stem
    assert not stem.startswith((".", "-"))
    assert not any(unicodedata.category(ch)[0] == "C" for ch in name)
    assert not set(name) & set('"\\/:*?<>|$`')
    assert not set(name) & {"\u2028", "\u2029"}
    assert name.lower().count("%0a") == name.lower().count("%0d") == name.count("%22") == 0


def test_stored_name_covers_every_stored_format() -> None:
    assert {stored_name("x", fmt) for fmt in (JPEG, PNG, GIF, WEBP)} == {
        "x.jpg",
        "x.png",
        "x.gif",
        "x.webp",
    }
