"""imgpro.keys: the bucket's key layout, and the CDN paths that map onto it."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from imgpro import keys
from imgpro.media.records import new_uid

UID = "abc123def456"


def test_importing_it_pulls_in_neither_boto3_nor_pillow() -> None:
    """The CDK app and functions without the imaging layer import it."""
    probe = (
        "import sys, imgpro.keys; print(sorted({'boto3', 'botocore', 'PIL'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_layout() -> None:
    assert keys.original_key(UID, "jpg") == f"o/{UID}.jpg"
    assert keys.original_key(UID, "jpg", private=True) == f"private/o/{UID}.jpg"
    assert keys.variant_key(UID, "m", "webp") == f"v/{UID}/m.webp"
    assert keys.variant_key(UID, "m", "webp", private=True) == f"private/v/{UID}/m.webp"
    assert keys.variants_prefix(UID) == f"v/{UID}/"
    assert keys.incoming_key(UID) == f"incoming/{UID}"
    assert keys.viewer_path(UID, "png", private=False) == f"/{UID}.png"
    assert keys.viewer_path(UID, "png", private=True) == f"/private/{UID}.png"


def test_what_is_served_and_as_what() -> None:
    assert keys.CONTENT_TYPES == {
        "jpg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "webp": "image/webp",
        "svg": "image/svg+xml",
    }


@pytest.mark.parametrize("private", [False, True])
def test_a_key_moves_between_sides_and_back(private: bool) -> None:
    key = keys.variant_key(UID, "s", "png", private=private)
    other = keys.on_side(key, private=not private)
    assert keys.is_private(other) is not private
    assert keys.on_side(other, private=private) == key
    assert keys.on_side(key, private=private) == key


def test_every_new_uid_is_a_path_the_cdn_serves() -> None:
    for _ in range(100):
        assert keys.VIEWER_PATH.fullmatch(f"/{new_uid()}.jpg")


def test_the_origin_parses_every_key_the_cdn_maps_a_viewer_url_to() -> None:
    for ext, private, size, webp in itertools.product(
        keys.EXTENSIONS, (False, True), (None, *keys.SIZES), (False, True)
    ):
        path = keys.cdn_key_path(uid=UID, ext=ext, private=private, size=size, accepts_webp=webp)
        match = keys.ORIGIN_PATH.fullmatch(path)
        assert match, path
        assert bool(match["private"]) is private
        assert UID in (match["uid"], match["vuid"])
        if match["vuid"]:
            assert match["size"] == size and match["fmt"] in keys.variant_formats(ext)


def test_svg_has_no_variants() -> None:
    assert keys.variant_formats("svg") == ()
    path = keys.cdn_key_path(uid=UID, ext="svg", private=False, size="m", accepts_webp=True)
    assert path == f"/o/{UID}.svg"


# --- what an invalidation names -------------------------------------------------------


@pytest.mark.parametrize(("ext", "count"), [("jpg", 12), ("png", 12), ("gif", 12), ("webp", 7)])
def test_cdn_paths_of_a_raster_item_are_its_viewer_path_original_and_every_variant(
    ext: str, count: int
) -> None:
    for private in (False, True):
        side = "/private" if private else ""
        paths = keys.cdn_paths(UID, ext, private=private)
        assert len(paths) == len(set(paths)) == count
        assert paths[:2] == [f"{side}/{UID}.{ext}", f"{side}/o/{UID}.{ext}"]
        assert not any("*" in path for path in paths)  # exact paths only


def test_cdn_paths_of_svg_and_of_media_never_processed() -> None:
    assert keys.cdn_paths(UID, "svg", private=False) == [f"/{UID}.svg", f"/o/{UID}.svg"]
    assert keys.cdn_paths(UID, None, private=False) == []


@pytest.mark.parametrize("ext", keys.EXTENSIONS)
def test_cdn_paths_hold_every_cache_key_a_viewer_url_maps_to(ext: str) -> None:
    """The cache key is the rewritten path: every size (or none) and both Accept answers
    of both sides land on a path the invalidation names."""
    for private, size, accepts_webp in itertools.product(
        (False, True), (None, *keys.SIZES), (False, True)
    ):
        key_path = keys.cdn_key_path(
            uid=UID, ext=ext, private=private, size=size, accepts_webp=accepts_webp
        )
        assert key_path in keys.cdn_paths(UID, ext, private=private)
