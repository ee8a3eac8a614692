"""Originals stored as sent: no location in EXIF, XMP or PNG text, no megabytes of hidden
metadata, and pixels exactly as uploaded."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from xml.sax.saxutils import escape, quoteattr

import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

from imgpro.imaging.containers import inspect_container
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat
from imgpro.imaging.metadata import scrub
from imgpro.imaging.xmp import without_location

EXIF_NS = "http://ns.adobe.com/exif/1.0/"
CIPA_NS = "http://cipa.jp/exif/1.0/"
IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
XMP_NOTE = "http://ns.adobe.com/xmp/note/"
XMP_BASIC = "http://ns.adobe.com/xap/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# What we plant, and then look for in the stored bytes.
LATITUDE = "48,51.4917N"
LONGITUDE = "2,17.6667E"
CITY = "Lutetia"
SUBLOCATION = "Quai des Orfevres"
EXIF_LATITUDE = (48.0, 51.0, 29.5)
EXIF_LATITUDE_BYTES = b"".join(
    struct.pack(">II", r.numerator, r.denominator) for r in map(Fraction, EXIF_LATITUDE)
)
PLANTED = (
    b"GPSLatitude",
    LATITUDE.encode(),
    LONGITUDE.encode(),
    CITY.encode(),
    EXIF_LATITUDE_BYTES,
)

# Location in attribute form under `exif:`, in element form under another prefix bound to the
# same namespace, in the CIPA namespace, and in the IPTC and Photoshop fields; a creator tool
# and a title that must survive.
XMP = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="{RDF}">
  <rdf:Description rdf:about=""
    xmlns:exif="{EXIF_NS}"
    xmlns:xmp="{XMP_BASIC}"
    xmlns:photoshop="{PHOTOSHOP}"
    xmlns:Iptc4xmpCore="{IPTC_CORE}"
    exif:GPSLatitude="{LATITUDE}"
    exif:GPSLongitude="{LONGITUDE}"
    exif:ExposureTime="1/250"
    photoshop:City="{CITY}"
    Iptc4xmpCore:Location="{SUBLOCATION}"
    xmp:CreatorTool="imgpro tests"/>
  <rdf:Description rdf:about=""
    xmlns:loc="{EXIF_NS}"
    xmlns:cipa="{CIPA_NS}"
    xmlns:ext="{IPTC_EXT}"
    xmlns:dc="{DC}">
   <loc:GPSLatitude>{LATITUDE}</loc:GPSLatitude>
   <loc:GPSLongitude>{LONGITUDE}</loc:GPSLongitude>
   <cipa:GPSHPositioningError>5/1</cipa:GPSHPositioningError>
   <ext:LocationCreated>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource"><ext:City>{CITY}</ext:City></rdf:li>
    </rdf:Bag>
   </ext:LocationCreated>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Kept title</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def _encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def _picture(mode: str = "RGB") -> Image.Image:
    """A small image whose every pixel differs from its neighbours, so any change shows."""
    image = Image.frombytes("RGB", (32, 24), bytes(range(256)) * 9)
    return image.convert(mode)


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: EXIF_LATITUDE, 3: "E"})
    return exif


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _png_chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def _with_png_chunk(data: bytes, chunk: bytes) -> bytes:
    """`data` with `chunk` inserted just before IEND (the last 12 bytes)."""
    return data[:-12] + chunk + data[-12:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _scrub(fmt: ImageFormat, data: bytes) -> bytes:
    return scrub(fmt, data, inspect_container(fmt, data))


def decoded(data: bytes) -> list[tuple[tuple[int, int], str, bytes]]:
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append((image.size, image.mode, image.tobytes()))
        return frames


def located_original(fmt: ImageFormat) -> bytes:
    """An original with location in EXIF and XMP, and for PNG in text chunks too."""
    picture = _picture()
    if fmt is PNG:
        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP)
        info.add_text("Location", f"{CITY} {LATITUDE} {LONGITUDE}")
        info.add_text("Comment", f"taken in {CITY}", zip=True)
        info.add_itxt("Description", f"GPSLatitude {LATITUDE}", zip=True)
        return _encode(picture, "PNG", pnginfo=info, exif=_exif_with_gps())
    return _encode(picture, fmt.pillow, exif=_exif_with_gps(), xmp=XMP.encode())


def _gif_xmp_extension(packet: bytes) -> bytes:
    """The XMP application extension: the packet raw, then the "magic trailer" that walks a
    sub-block reader to the terminator (XMP specification, part 3)."""
    trailer = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    return b"\x21\xff\x0bXMP DataXMP" + packet + trailer


def _gif_with_xmp() -> tuple[bytes, bytes]:
    """(a 3-frame GIF with a comment, the same with an XMP extension before its frames)."""
    frames = [Image.new("RGB", (24, 16), (40 * i, 90, 200 - 30 * i)) for i in range(3)]
    gif = _encode(
        frames[0], "GIF", save_all=True, append_images=frames[1:], comment=b"kept comment"
    )
    screen_end = 13 + (3 << ((gif[10] & 0x07) + 1) if gif[10] & 0x80 else 0)
    return gif, gif[:screen_end] + _gif_xmp_extension(XMP.encode()) + gif[screen_end:]


LOCATED = {"jpeg": JPEG, "png": PNG, "webp": WEBP}


@pytest.fixture(params=list(LOCATED))
def located(request: pytest.FixtureRequest) -> tuple[ImageFormat, bytes]:
    fmt = LOCATED[request.param]
    data = located_original(fmt)
    for planted in PLANTED:
        assert planted in data, planted
    with Image.open(io.BytesIO(data)) as image:
        assert LATITUDE in repr(image.getxmp())
    return fmt, data


# --- location -----------------------------------------------------------------------------


def test_no_planted_location_is_left_in_the_stored_bytes(
    located: tuple[ImageFormat, bytes],
) -> None:
    fmt, data = located
    scrubbed = _scrub(fmt, data)
    for planted in (*PLANTED, SUBLOCATION.encode(), b"GPSLongitude", b"LocationCreated"):
        assert planted not in scrubbed, planted


def test_scrubbing_leaves_pixels_size_and_mode_identical(
    located: tuple[ImageFormat, bytes],
) -> None:
    fmt, data = located
    assert decoded(_scrub(fmt, data)) == decoded(data)


def test_scrubbed_file_passes_our_own_container_walk(located: tuple[ImageFormat, bytes]) -> None:
    fmt, data = located
    scrubbed = _scrub(fmt, data)
    container = inspect_container(fmt, scrubbed)
    assert container.end == len(scrubbed)
    assert container.frames == 1


def test_what_remains_of_the_xmp_is_read_by_pillow(located: tuple[ImageFormat, bytes]) -> None:
    fmt, data = located
    scrubbed = _scrub(fmt, data)
    with Image.open(io.BytesIO(scrubbed)) as image:
        kept = repr(image.getxmp())
    assert "imgpro tests" in kept
    assert "Kept title" in kept
    assert "1/250" in kept  # an EXIF property that is not location
    assert "GPS" not in kept
    # The packet's own prefixes, not ElementTree's.
    assert b'xmlns:loc="http://ns.adobe.com/exif/1.0/"' in scrubbed
    assert b"ns0:" not in scrubbed
    assert b'<?xpacket end="w"?>' in scrubbed


def test_png_keeps_no_text_chunk_but_the_xmp() -> None:
    data = located_original(PNG)
    assert _png_chunk_types(data).count(b"iTXt") == 2
    types = _png_chunk_types(_scrub(PNG, data))
    assert b"tEXt" not in types
    assert b"zTXt" not in types
    assert types.count(b"iTXt") == 1


def test_compressed_png_xmp_is_scrubbed_and_stored_uncompressed() -> None:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP, zip=True)
    data = _encode(_picture(), "PNG", pnginfo=info)
    assert b"GPSLatitude" not in data  # compressed
    scrubbed = _scrub(PNG, data)
    assert b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<?xpacket" in scrubbed
    assert b"GPSLatitude" not in scrubbed
    with Image.open(io.BytesIO(scrubbed)) as image:
        assert "imgpro tests" in repr(image.getxmp())


def test_png_xmp_that_inflates_past_1_mib_is_dropped() -> None:
    bomb = zlib.compress(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>" + b" " * (64 << 20), 9)
    chunk = _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb)
    clean = _encode(_picture(), "PNG")
    # Pillow itself gives up on this file (MAX_TEXT_CHUNK); the scrubbed one is the clean one.
    assert _scrub(PNG, _with_png_chunk(clean, chunk)) == clean


def test_webp_xmp_that_cannot_be_parsed_is_dropped_with_its_flag() -> None:
    data = _encode(_picture(), "WEBP", xmp=b"<not xml", exif=_exif_with_gps())
    assert data[20] & 0x04
    scrubbed = _scrub(WEBP, data)
    assert b"XMP " not in scrubbed
    assert not scrubbed[20] & 0x04
    assert struct.unpack_from("<I", scrubbed, 4)[0] == len(scrubbed) - 8
    assert inspect_container(WEBP, scrubbed).end == len(scrubbed)
    assert decoded(scrubbed) == decoded(data)


@pytest.mark.parametrize("spaces", [0, 1])
def test_webp_sizes_and_padding_are_recomputed_after_scrubbing(spaces: int) -> None:
    data = _encode(_picture(), "WEBP", xmp=XMP.encode() + b" " * spaces)
    scrubbed = _scrub(WEBP, data)
    assert struct.unpack_from("<I", scrubbed, 4)[0] == len(scrubbed) - 8
    assert len(scrubbed) % 2 == 0
    assert inspect_container(WEBP, scrubbed).end == len(scrubbed)
    with Image.open(io.BytesIO(scrubbed)) as image:
        assert "imgpro tests" in repr(image.getxmp())


def test_jpeg_xmp_that_cannot_be_parsed_is_dropped() -> None:
    data = _encode(_picture(), "JPEG", xmp=b'<!DOCTYPE x [<!ENTITY a "GPSLatitude">]><x>&a;</x>')
    scrubbed = _scrub(JPEG, data)
    assert b"http://ns.adobe.com/xap/1.0/" not in scrubbed
    assert decoded(scrubbed) == decoded(data)


@pytest.mark.parametrize("fmt", [JPEG, PNG, GIF, WEBP])
def test_a_file_with_nothing_to_remove_is_returned_as_it_is(fmt: ImageFormat) -> None:
    data = _encode(_picture(), fmt.pillow)
    assert _scrub(fmt, data) is data


def test_only_the_first_xmp_packet_is_kept() -> None:
    second = _jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP.encode())
    data = _encode(_picture(), "JPEG", xmp=XMP.encode(), extra=second)
    assert data.count(b"http://ns.adobe.com/xap/1.0/\x00") == 2
    scrubbed = _scrub(JPEG, data)
    assert scrubbed.count(b"http://ns.adobe.com/xap/1.0/\x00") == 1
    assert b"GPS" not in scrubbed


def test_png_iccp_after_the_first_is_dropped() -> None:
    data = _encode(_picture(), "PNG", icc_profile=bytes(1000))
    second = _png_chunk(b"iCCP", b"second\x00\x00" + zlib.compress(bytes(2 << 20)))
    scrubbed = _scrub(PNG, _with_png_chunk(data, second))
    assert scrubbed == data


_ORIGINALS = [(fmt, located_original(fmt)) for fmt in (JPEG, PNG, WEBP)]
_ORIGINALS.append((GIF, _gif_with_xmp()[1]))


@settings(max_examples=400, deadline=None)
@given(
    original=st.sampled_from(_ORIGINALS),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1),
)
def test_damaged_files_are_scrubbed_or_refused(
    original: tuple[ImageFormat, bytes], flips: list[tuple[int, int]]
) -> None:
    fmt, data = original
    damaged = bytearray(data)
    for at, mask in flips:
        damaged[at % len(damaged)] ^= mask
    try:
        container = inspect_container(fmt, bytes(damaged))
        scrubbed = scrub(fmt, bytes(damaged), container)
    except ImageRejected:
        return
    # Whole segments, chunks or blocks go or are rewritten: the structure stays walkable.
    inspect_container(fmt, scrubbed)


# --- JPEG: extended XMP, ICC, segments no decoder reads -----------------------------------


def _extended_xmp(guid: bytes, packet: bytes) -> bytes:
    """Extended XMP split over 60 KB APP1 segments, as Photoshop writes it."""
    segments = b""
    for offset in range(0, len(packet), 60_000):
        header = b"http://ns.adobe.com/xmp/extension/\x00" + guid
        header += struct.pack(">II", len(packet), offset)
        segments += _jpeg_segment(0xE1, header + packet[offset : offset + 60_000])
    return segments


def test_jpeg_extended_xmp_is_dropped_and_the_main_packet_no_longer_points_to_it() -> None:
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main = XMP.replace(
        'xmp:CreatorTool="imgpro tests"',
        f'xmp:CreatorTool="imgpro tests" xmlns:xmpNote="{XMP_NOTE}" '
        f'xmpNote:HasExtendedXMP="{guid.decode()}"',
    )
    depth_map = f"<x:xmpmeta xmlns:x='adobe:ns:meta/'>{LATITUDE}</x:xmpmeta>".encode()
    extended = _extended_xmp(guid, depth_map + b" " * 150_000)
    data = _encode(_picture(), "JPEG", xmp=main.encode(), extra=extended)
    scrubbed = _scrub(JPEG, data)
    assert b"http://ns.adobe.com/xmp/extension/" not in scrubbed
    assert b"HasExtendedXMP" not in scrubbed
    assert LATITUDE.encode() not in scrubbed
    assert len(scrubbed) < len(data) - 150_000
    with Image.open(io.BytesIO(scrubbed)) as image:
        assert "imgpro tests" in repr(image.getxmp())
    assert decoded(scrubbed) == decoded(data)


def test_jpeg_icc_profile_over_1_mib_split_over_app2_segments_is_refused() -> None:
    data = _encode(_picture(), "JPEG", icc_profile=bytes(2 << 20))
    assert data.count(b"ICC_PROFILE\x00") > 30
    with pytest.raises(ImageRejected, match=r"colour profile is 2,097,152 bytes; at most 1 MiB"):
        _scrub(JPEG, data)


def test_jpeg_icc_profile_under_1_mib_is_kept() -> None:
    data = _encode(_picture(), "JPEG", icc_profile=bytes(1000 << 10), xmp=XMP.encode())
    scrubbed = _scrub(JPEG, data)
    with Image.open(io.BytesIO(scrubbed)) as image:
        assert image.info["icc_profile"] == bytes(1000 << 10)


def test_jpeg_app13_segments_over_256_kib_are_all_cut() -> None:
    photoshop = b"Photoshop 3.0\x00" + CITY.encode() * 5_000  # 35 KB each
    comment = _jpeg_segment(0xFE, b"small comment")
    data = _encode(_picture(), "JPEG", extra=_jpeg_segment(0xED, photoshop) * 9 + comment)
    scrubbed = _scrub(JPEG, data)
    assert CITY.encode() not in scrubbed
    assert b"small comment" not in scrubbed  # cut with the rest
    assert len(scrubbed) < len(data) - (300 << 10)
    assert decoded(scrubbed) == decoded(data)
    assert inspect_container(JPEG, scrubbed).end == len(scrubbed)


def test_jpeg_app13_and_comments_under_256_kib_are_kept() -> None:
    extra = _jpeg_segment(0xED, b"Photoshop 3.0\x00" + bytes(60_000)) * 3
    extra += _jpeg_segment(0xFE, b"small comment")
    data = _encode(_picture(), "JPEG", extra=extra)
    assert _scrub(JPEG, data) is data


@pytest.mark.parametrize(("mode", "marker"), [("RGB", 0xE0), ("CMYK", 0xEE)])
def test_jpeg_app0_app14_and_everything_from_the_first_scan_on_are_kept(
    mode: str, marker: int
) -> None:
    # RGB opens with APP0 (JFIF); CMYK with the Adobe APP14, which says how to decode colours.
    extra = _jpeg_segment(0xED, bytes(60_000)) * 5
    data = _encode(_picture(mode), "JPEG", extra=extra, xmp=XMP.encode(), progressive=True)
    scrubbed = _scrub(JPEG, data)
    assert len(scrubbed) < len(data) - 300_000
    first_scan = data.index(b"\xff\xda")
    assert scrubbed.endswith(data[first_scan:])
    assert data[3] == marker
    first_segment = 4 + struct.unpack_from(">H", data, 4)[0]
    assert scrubbed.startswith(data[:first_segment])
    assert decoded(scrubbed) == decoded(data)


# --- ICC in PNG and WebP ------------------------------------------------------------------


def test_png_icc_profile_inflating_past_1_mib_is_refused() -> None:
    data = _encode(_picture(), "PNG", icc_profile=bytes(2 << 20))
    assert len(data) < 100_000  # the profile is zeros, so it compresses to almost nothing
    with pytest.raises(ImageRejected, match=r"PNG's colour profile is more than 1,048,576 bytes"):
        _scrub(PNG, data)


def test_webp_icc_profile_over_1_mib_is_refused() -> None:
    data = _encode(_picture(), "WEBP", icc_profile=bytes(2 << 20))
    with pytest.raises(ImageRejected, match=r"colour profile is 2,097,152 bytes; at most 1 MiB"):
        _scrub(WEBP, data)


# --- GIF ----------------------------------------------------------------------------------


def test_gif_xmp_extension_is_dropped_and_frames_stay_identical() -> None:
    gif, data = _gif_with_xmp()
    assert inspect_container(GIF, data).frames == 3
    scrubbed = _scrub(GIF, data)
    assert scrubbed == gif
    assert b"XMP DataXMP" not in scrubbed
    assert b"kept comment" in scrubbed
    assert decoded(scrubbed) == decoded(data)


# --- XMP packets --------------------------------------------------------------------------


def test_xmp_without_location_is_returned_as_it_is() -> None:
    packet = f'<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:exif="{EXIF_NS}" exif:Flash="1"/>'
    data = packet.encode()
    assert without_location(data) is data


def test_xmp_keeps_its_prefixes_wrapper_and_other_properties() -> None:
    scrubbed = without_location(XMP.encode())
    assert scrubbed is not None
    text = scrubbed.decode()
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert text.endswith('<?xpacket end="w"?>')
    assert 'xmp:CreatorTool="imgpro tests"' in text
    assert '<rdf:li xml:lang="x-default">Kept title</rdf:li>' in text
    assert "GPS" not in text
    assert CITY not in text


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"not xml at all",
        b"<a><b></a>",
        b"<!DOCTYPE x><x/>",
        b'<!DOCTYPE x [<!ENTITY e "GPSLatitude">]><x>&e;</x>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        b"<x>&undefined;</x>",
        b"<p:x/>",  # unbound prefix
        "<x>\u00e9</x>".encode("latin-1"),
        b"<a>" * 100 + b"</a>" * 100,
        b"<r>" + b"<a/>" * 20_000 + b"</r>",
        b"<r " + b" ".join(b'a%d="1"' % i for i in range(20_000)) + b"/>",
        b"<x>" + b" " * (2 << 20) + b"</x>",
    ],
    ids=[
        "empty",
        "text",
        "mismatched",
        "doctype",
        "internal-entity",
        "external-dtd",
        "undefined-entity",
        "unbound-prefix",
        "not-utf8",
        "deep",
        "many-nodes",
        "many-attributes",
        "over-1-mib",
    ],
)
def test_xmp_that_cannot_be_parsed_safely_is_none(packet: bytes) -> None:
    assert without_location(packet) is None


def test_xmp_with_trailing_nuls_is_parsed() -> None:
    scrubbed = without_location(XMP.encode() + b"\x00\x00")
    assert scrubbed is not None and b"GPS" not in scrubbed


def _is_location(namespace: str, name: str) -> bool:
    if name.lower().startswith("gps"):  # any namespace: DJI writes drone-dji:GpsLatitude
        return True
    return (namespace, name) in {
        (IPTC_CORE, "Location"),
        (IPTC_EXT, "LocationCreated"),
        (IPTC_EXT, "LocationShown"),
        (PHOTOSHOP, "City"),
        (PHOTOSHOP, "State"),
        (PHOTOSHOP, "Country"),
        (XMP_NOTE, "HasExtendedXMP"),
    }


def _qualified(name: str) -> tuple[str, str]:
    namespace, _, local = name[1:].partition("}")
    return (namespace, local) if name.startswith("{") else ("", name)


def _properties(packet: bytes, *, pruned: bool = False) -> list[tuple[str, str]]:
    """Every (namespace, name) of an element or attribute in the packet, in document order;
    `pruned` leaves out location properties and everything inside them."""
    found: list[tuple[str, str]] = []
    # Trailing NULs (C strings) are padding the scrubber ignores too (imgpro.imaging.xmp).
    pending = [ElementTree.fromstring(packet.rstrip(b"\x00"), forbid_dtd=True)]
    while pending:
        element = pending.pop()
        tag = _qualified(element.tag)
        if pruned and _is_location(*tag):
            continue
        found.append(tag)
        for name in element.attrib:
            if not (pruned and _is_location(*_qualified(name))):
                found.append(_qualified(name))
        pending += reversed(list(element))
    return found


_NAMESPACES = [EXIF_NS, CIPA_NS, IPTC_CORE, IPTC_EXT, PHOTOSHOP, XMP_NOTE, XMP_BASIC, DC]
_NAMES = ["GPSLatitude", "GPSAltitude", "GPS", "Gps", "Location", "LocationCreated"]
_NAMES += ["LocationShown", "City", "State", "Country", "HasExtendedXMP", "Rating", "title"]


@st.composite
def _property(draw: st.DrawFn) -> str:
    """One property in attribute, element or struct form, under a drawn prefix."""
    prefix = draw(st.from_regex(r"[a-wyz][a-z0-9]{0,4}", fullmatch=True))
    namespace = draw(st.sampled_from(_NAMESPACES))
    name = draw(st.sampled_from(_NAMES))
    # XML has no room for control characters, surrogates or U+FFFE/U+FFFF (Cn).
    value = draw(st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn"))))
    form = draw(st.sampled_from(["attribute", "element", "struct"]))
    declaration = f"xmlns:{prefix}={quoteattr(namespace)}"
    if form == "attribute":
        return f'<rdf:Description rdf:about="" {declaration} {prefix}:{name}={quoteattr(value)}/>'
    inner = escape(value)
    if form == "struct":
        inner = f"<rdf:Bag><rdf:li>{inner}</rdf:li></rdf:Bag>"
    body = f"<{prefix}:{name} {declaration}>{inner}</{prefix}:{name}>"
    return f'<rdf:Description rdf:about="">{body}</rdf:Description>'


@settings(max_examples=300, deadline=None)
@given(properties=st.lists(_property(), max_size=8), wrapped=st.booleans())
def test_xmp_output_parses_and_holds_no_location(properties: list[str], wrapped: bool) -> None:
    packet = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
    packet += "".join(properties) + "</rdf:RDF></x:xmpmeta>"
    if wrapped:
        packet = f'<?xpacket begin="\ufeff" id="x"?>{packet}<?xpacket end="w"?>'
    data = packet.encode()
    scrubbed = without_location(data)
    assert scrubbed is not None
    after = _properties(scrubbed)
    assert not [found for found in after if _is_location(*found)]
    # Nothing else is lost: what remains is the packet with location pruned.
    assert after == _properties(data, pruned=True)
    if after == _properties(data):
        assert scrubbed is data


@settings(max_examples=300, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1))
def test_xmp_output_of_a_damaged_packet_is_none_or_holds_no_location(
    flips: list[tuple[int, int]],
) -> None:
    packet = bytearray(XMP.encode())
    for at, mask in flips:
        packet[at % len(packet)] ^= mask
    scrubbed = without_location(bytes(packet))
    if scrubbed is not None:
        assert not [found for found in _dom_properties(scrubbed) if _is_location(*found)]


def _dom_properties(packet: bytes) -> list[tuple[str, str]]:
    """(namespace, name) of every element and attribute, read as the scrubber reads (DOM):
    ElementTree cannot read a damaged namespace URI holding `}`, which DOM keeps as is."""
    from defusedxml.minidom import parseString

    found: list[tuple[str, str]] = []
    pending = [parseString(packet.rstrip(b"\x00"), forbid_dtd=True).documentElement]
    while pending:
        element = pending.pop()
        found.append((element.namespaceURI or "", element.localName))
        found += [(a.namespaceURI or "", a.localName) for a in element.attributes.values()]
        pending += [c for c in element.childNodes if c.nodeType == c.ELEMENT_NODE]
    return found


@settings(max_examples=300, deadline=None)
@given(packet=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_xmp_output_of_arbitrary_input_is_none_or_parses(packet: bytes) -> None:
    scrubbed = without_location(packet)
    if scrubbed is not None:
        assert not [found for found in _properties(scrubbed) if _is_location(*found)]


# --- module structure ---------------------------------------------------------------------


def test_exif_parsing_does_not_import_the_containers() -> None:
    # The two imported each other; `metadata` now puts them together.
    code = "import sys, imgpro.imaging.exif; print('imgpro.imaging.containers' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- strip_metadata "all": nothing but orientation and the colour profile ----------------

from PIL import ImageCms, ImageOps  # noqa: E402

from imgpro.imaging.exif import orientation_of, orientation_only  # noqa: E402

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
_IPTC = (
    b"Photoshop 3.0\x00"
    + b"8BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x78\x00\x07"
    + CITY.encode()
)
_COMMENT = b"shot by a camera in " + CITY.encode()


def _everything_exif(orientation: int) -> Image.Exif:
    exif = _exif_with_gps()
    exif[0x0112] = orientation
    exif[0x0110] = "Model X"
    exif.get_ifd(ExifTags.IFD.Exif)[0x9003] = "2026:01:02 03:04:05"
    return exif


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the first scan, and the SOS itself."""
    found, pos = [], 2
    while True:
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        found.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:
            return found
        pos += 2 + length


def _jpeg_with_everything(orientation: int = 6) -> bytes:
    """A JPEG with EXIF (orientation, GPS, make, model, date), XMP, Photoshop/IPTC, a
    comment, an ICC profile and JFIF."""
    data = _encode(
        _picture(),
        "JPEG",
        exif=_everything_exif(orientation),
        xmp=XMP.encode(),
        icc_profile=_SRGB,
        comment=_COMMENT,
    )
    # Photoshop's IPTC block goes right after SOI and JFIF, where Photoshop puts it.
    return data[:2] + _jpeg_segment(0xED, _IPTC) + data[2:]


def _assert_only_orientation(exif: bytes | None, orientation: int) -> None:
    assert exif is not None
    parsed = Image.Exif()
    parsed.load(exif if exif.startswith(b"Exif") else b"Exif\x00\x00" + exif)
    assert dict(parsed) == {0x0112: orientation}
    assert parsed.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert parsed.get_ifd(ExifTags.IFD.Exif) == {}


def _shown_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return (ImageOps.exif_transpose(image) or image).size


def _strip_all(fmt: ImageFormat, data: bytes) -> bytes:
    return scrub(fmt, data, inspect_container(fmt, data), strip="all")


def test_orientation_only_is_a_tiff_that_pillow_and_our_parser_read() -> None:
    for orientation in range(2, 9):
        tiff = orientation_only(orientation)
        assert orientation_of(tiff) == orientation
        _assert_only_orientation(tiff, orientation)
    assert orientation_only(1) is None and orientation_only(0) is None


def test_all_leaves_a_jpeg_only_its_orientation_icc_profile_and_jfif() -> None:
    original = _jpeg_with_everything(6)
    stored = _strip_all(JPEG, original)
    segments = _jpeg_segments(stored)
    apps = [(marker, payload) for marker, payload in segments if 0xE0 <= marker <= 0xFE]
    assert {marker for marker, _ in apps} == {0xE0, 0xE1, 0xE2}, [hex(m) for m, _ in apps]
    (exif,) = [payload for marker, payload in apps if marker == 0xE1]
    _assert_only_orientation(exif, 6)
    for planted in (
        *PLANTED,
        b"Camera Maker",
        b"Model X",
        b"2026:01:02",
        b"Photoshop 3.0",
        _COMMENT,
        b"http://ns.adobe.com/xap/1.0/",
        b"xmpmeta",
    ):
        assert planted not in stored, planted
    with Image.open(io.BytesIO(stored)) as image:
        assert image.info.get("icc_profile") == _SRGB
        assert "comment" not in image.info and "xmp" not in image.info
        assert image.getexif().get(0x0112) == 6
    # Everything from the first scan on is the original's, byte for byte.
    assert stored[stored.index(b"\xff\xda") :] == original[original.index(b"\xff\xda") :]
    assert decoded(stored) == decoded(original)
    assert _shown_size(stored) == _shown_size(original) == (24, 32)
    assert inspect_container(JPEG, stored).orientation == 6


def test_all_drops_the_exif_of_an_upright_jpeg_and_is_idempotent() -> None:
    stored = _strip_all(JPEG, _jpeg_with_everything(1))
    assert {marker for marker, _ in _jpeg_segments(stored)} & {0xE1, 0xED, 0xFE} == set()
    assert _strip_all(JPEG, stored) is stored
    assert _shown_size(stored) == (32, 24)


def test_all_leaves_a_png_only_its_colour_chunks_and_orientation() -> None:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP)
    info.add_text("Comment", f"taken in {CITY}")
    info.add_text("Raw profile type iptc", CITY, zip=True)
    original = _encode(
        _picture(), "PNG", pnginfo=info, exif=_everything_exif(8), icc_profile=_SRGB, dpi=(72, 72)
    )
    original = _with_png_chunk(original, _png_chunk(b"tIME", b"\x07\xea\x01\x02\x03\x04\x05"))
    original = _with_png_chunk(original, _png_chunk(b"prVt", b"private data"))
    stored = _strip_all(PNG, original)
    types = _png_chunk_types(stored)
    assert set(types) == {b"IHDR", b"iCCP", b"pHYs", b"eXIf", b"IDAT", b"IEND"}, types
    for planted in (*PLANTED, b"Camera Maker", CITY.encode(), b"private data"):
        assert planted not in stored, planted
    _assert_only_orientation(inspect_container(PNG, stored).exif, 8)
    assert decoded(stored) == decoded(original)
    assert _shown_size(stored) == _shown_size(original) == (24, 32)


def test_all_leaves_a_webp_only_its_profile_and_orientation_with_flags_to_match() -> None:
    original = _encode(
        _picture(),
        "WEBP",
        exif=_everything_exif(5),
        xmp=XMP.encode(),
        icc_profile=_SRGB,
        lossless=True,
    )
    stored = _strip_all(WEBP, original)
    for planted in (*PLANTED, b"Camera Maker", b"XMP ", b"xmpmeta"):
        assert planted not in stored, planted
    _assert_only_orientation(inspect_container(WEBP, stored).exif, 5)
    flags = stored[20]
    assert flags & 0x04 == 0 and flags & 0x08 and flags & 0x20
    assert struct.unpack_from("<I", stored, 4)[0] == len(stored) - 8
    with Image.open(io.BytesIO(stored)) as image:
        assert image.info.get("icc_profile") == _SRGB and not image.info.get("xmp")
    assert decoded(stored) == decoded(original)
    assert _shown_size(stored) == _shown_size(original) == (24, 32)

    upright = _strip_all(WEBP, _encode(_picture(), "WEBP", exif=_exif_with_gps(), lossless=True))
    assert b"EXIF" not in upright and b"Camera Maker" not in upright
    assert upright[20] & 0x08 == 0


def test_all_leaves_a_gif_its_frames_and_loop_but_no_comment_or_xmp() -> None:
    frames = [Image.new("RGB", (24, 16), (40 * i, 90, 200 - 30 * i)) for i in range(3)]
    gif = _encode(
        frames[0], "GIF", save_all=True, append_images=frames[1:], loop=0, comment=b"kept comment"
    )
    screen_end = 13 + (3 << ((gif[10] & 0x07) + 1) if gif[10] & 0x80 else 0)
    original = gif[:screen_end] + _gif_xmp_extension(XMP.encode()) + gif[screen_end:-1]
    original += b"\x21\xfe\x05hello\x00;"
    assert b"NETSCAPE2.0" in original
    stored = _strip_all(GIF, original)
    for planted in (b"kept comment", b"hello", b"XMP DataXMP", LATITUDE.encode()):
        assert planted not in stored, planted
    assert b"NETSCAPE2.0" in stored
    assert decoded(stored) == decoded(original)
    assert inspect_container(GIF, stored).frames == 3


def test_gps_stays_the_default_and_keeps_the_rest() -> None:
    original = _jpeg_with_everything(6)
    stored = scrub(JPEG, original, inspect_container(JPEG, original))
    assert b"Camera Maker" in stored and _COMMENT in stored and b"Photoshop 3.0" in stored
    assert EXIF_LATITUDE_BYTES not in stored
