"""Every hostile file of the corpus is refused or processed, and refusals come from headers.

`tests/support/hostile.py` builds the files; `bench/hostile.py` measures what each costs.
Here each class is checked for its decision and for where the decision is made: with
every Pillow decoder blocked, a header-decided refusal must still be an ImageRejected
(an AssertionError from a blocked decoder means a decoder was reached).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from imgpro.imaging import formats, limits
from imgpro.imaging.containers import inspect_container
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.pipeline import prepare
from tests.support.hostile import CORPUS, Hostile

BY_NAME = {hostile.name: hostile for hostile in CORPUS}

STORED = {
    # One small first page is all a multi-page TIFF gives; the other 499 are never read.
    "tiff-500-pages": (64, 64),
    # A 110 MP baseline JPEG: libjpeg decodes it at 1/2 scale, so it costs what a photo does.
    "jpeg-baseline-12000x9200": (7912, 6066),
    # Metadata is cut, not refused, when nothing that renders the image needs it.
    "png-ztxt-50mb": (64, 64),
    "png-ztxt-60-chunks-of-1mb": (64, 64),
    "png-iccp-1mb": (64, 64),
    "jpeg-app13-4mb": (64, 64),
}

# Refused before any decoder runs: by a container walk, or by Pillow's header parse for the
# formats we convert (opening one reads its header only; `load` is what decodes).
OPENED_FOR_THEIR_HEADER = (formats.TIFF, formats.BMP, formats.ICO, formats.PNM, formats.QOI)
HEADER_DECIDED = [
    hostile
    for hostile in CORPUS
    if hostile.name not in STORED and hostile.name != "png-65535x1-huge-palette"
]


def _ids(hostile: Hostile) -> str:
    return hostile.name


def test_the_corpus_covers_every_class_of_the_red_team_table() -> None:
    kinds = {hostile.kind for hostile in CORPUS}
    assert {"animation canvas", "frame count", "progressive scans", "full-decode pixels"} <= kinds
    assert {"header lie", "metadata"} <= kinds
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("hostile", CORPUS, ids=_ids)
def test_each_hostile_file_is_refused_or_processed_within_the_limits(hostile: Hostile) -> None:
    try:
        prepared = prepare(hostile.build())
    except ImageRejected as refused:
        assert hostile.name not in STORED, f"{hostile.name} was refused: {refused}"
        assert str(refused)
        return
    assert hostile.name in STORED, f"{hostile.name} was stored"
    assert (prepared.width, prepared.height) == STORED[hostile.name]
    with Image.open(io.BytesIO(prepared.data)) as stored:
        stored.load()
        assert stored.size == STORED[hostile.name]


@pytest.fixture
def decoders_blocked(monkeypatch: pytest.MonkeyPatch):
    """Every way Pillow decodes pixels raises; opening raises too, unless `allow_open`."""

    def blocked(*args, **kwargs):
        raise AssertionError("a decoder was reached")

    monkeypatch.setattr(ImageFile.ImageFile, "load", blocked)
    monkeypatch.setattr(Image.Image, "load", blocked)

    def block_open(allow_open: bool) -> None:
        if not allow_open:
            monkeypatch.setattr(Image, "open", blocked)

    return block_open


@pytest.mark.parametrize("hostile", HEADER_DECIDED, ids=_ids)
def test_each_refusal_is_decided_from_the_header(hostile: Hostile, decoders_blocked) -> None:
    decoders_blocked(hostile.format in OPENED_FOR_THEIR_HEADER)
    with pytest.raises(ImageRejected):
        prepare(hostile.build())


def test_a_large_baseline_jpeg_asks_libjpeg_for_no_more_than_the_stored_size(monkeypatch) -> None:
    """The one pixel class processed rather than refused: JPEG's DCT scaling decodes at the
    smallest 1/2^n scale still at least the stored size, so the decode never exceeds what
    the stored image needs by more than 2x a side."""
    from PIL import JpegImagePlugin

    drafts: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def recording(self, mode, size):
        drafts.append(size)
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording)
    prepare(BY_NAME["jpeg-baseline-12000x9200"].build())
    assert drafts == [limits.fitted(12000, 9200)]


def test_progressive_scans_are_counted_by_the_walk() -> None:
    data = BY_NAME["jpeg-progressive-8000x6000-999-scans"].build()
    layout = inspect_container(formats.JPEG, data)
    assert (layout.width, layout.height, layout.scans) == (8000, 6000, 999)


def test_an_animation_canvas_is_read_from_the_container_not_the_frames() -> None:
    gif = inspect_container(formats.GIF, BY_NAME["gif-screen-10000x12000-two-16x16-frames"].build())
    assert (gif.width, gif.height, gif.frames) == (10000, 12000, 2)
    grown = inspect_container(formats.GIF, BY_NAME["gif-frame-outside-16x16-screen"].build())
    assert (grown.width, grown.height) == (10000, 12000)  # as Pillow grows its canvas
    webp = inspect_container(formats.WEBP, BY_NAME["webp-anim-canvas-10000x12000-two-1x1"].build())
    assert (webp.width, webp.height, webp.frames) == (10000, 12000, 2)


def test_cut_metadata_leaves_no_text_chunks_in_the_stored_png() -> None:
    stored = prepare(BY_NAME["png-ztxt-60-chunks-of-1mb"].build()).data
    assert b"zTXt" not in stored and b"tEXt" not in stored
