"""SVG sanitizing: hostile input is refused or comes out inert, real drawings keep what
they draw, sizes are measured as browsers do, and a second pass changes nothing."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.svg import SVG_CSP, SanitizedSvg, sanitize_svg
from tests.support.svg_payloads import KEEP, PAYLOADS, PNG_BASE64, SVG_NS, XLINK_NS, assert_inert

SVG = f"{{{SVG_NS}}}"
DOCTYPE_MESSAGE = "The SVG contains DTD or entity declarations, which are not allowed"


def _svg(body: str = "", attributes: str = "") -> bytes:
    return (f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"{attributes}>{body}</svg>').encode()


def _clean(body: str = "", attributes: str = "") -> str:
    return sanitize_svg(_svg(body, attributes)).data.decode()


def _refusal(data: bytes) -> str:
    with pytest.raises(ImageRejected) as info:
        sanitize_svg(data)
    return str(info.value)


# The hostile corpus


@pytest.mark.parametrize(("name", "payload"), PAYLOADS, ids=[name for name, _ in PAYLOADS])
def test_hostile_svg_is_refused_or_inert(name: str, payload: bytes) -> None:
    try:
        result = sanitize_svg(payload)
    except ImageRejected as exc:
        assert str(exc)
        return
    assert_inert(result.data)


_KEEPING = [(name, payload) for name, payload in PAYLOADS if KEEP.encode() in payload]


@pytest.mark.parametrize(("name", "payload"), _KEEPING, ids=[name for name, _ in _KEEPING])
def test_hostile_svg_keeps_its_harmless_drawing(name: str, payload: bytes) -> None:
    # Only the active parts go: a sanitizer that returned an empty <svg> would pass the
    # inertness test above.
    assert KEEP in sanitize_svg(payload).data.decode()


@pytest.mark.parametrize(
    "active",
    [
        "<script>alert(1)</script>",
        '<g onload="alert(1)"/>',
        '<use href="#a"/>',
        '<a href="javascript:alert(1)"/>',
        '<a xlink:href="https://e.example/"/>',
        '<image href="data:image/svg+xml;base64,PHN2Zy8+"/>',
        '<rect href="data:image/png;base64,AAAA"/>',
        '<rect fill="url(https://e.example/#p)"/>',
        "<rect style=\"fill:url( '//e.example/#p')\"/>",
        "<style>@import url(#x);</style>",
        "<style>rect{width:expression(alert(1))}</style>",
        "<style>rect{fill:\\75 rl(x)}</style>",
        '<feImage href="#a"/>',
        '<set attributeName="x" to="1"/>',
        '<h:div xmlns:h="http://www.w3.org/1999/xhtml"/>',
        '<rect xml:base="https://e.example/"/>',
        '<rect x:y="1" xmlns:x="https://e.example/ns"/>',
        "<!-- comment -->",
    ],
)
def test_the_checker_itself_catches_active_content(active: str) -> None:
    with pytest.raises(AssertionError):
        assert_inert(_svg(active))


def test_corpus_covers_at_least_25_payloads_with_unique_names() -> None:
    names = [name for name, _ in PAYLOADS]
    assert len(names) >= 25
    assert len(set(names)) == len(names)


# Refusals, with messages for the `file` field


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs",
        "xxe_file",
        "xxe_parameter_entity",
        "standard_doctype_with_internal_entities",
    ],
)
def test_entity_and_dtd_declarations_are_refused(name: str) -> None:
    assert _refusal(dict(PAYLOADS)[name]) == DOCTYPE_MESSAGE


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">',
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.0//EN" '
        b'"http://www.w3.org/TR/2001/PR-SVG-20010719/DTD/svg10.dtd">',
        b"<!DOCTYPE svg>",
        b'<!DOCTYPE svg SYSTEM "https://evil.example/x.dtd">',
    ],
)
def test_a_doctype_without_declarations_is_accepted_and_not_kept(doctype: bytes) -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        + doctype
        + b'\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4"><rect width="8"/></svg>'
    )
    assert sanitize_svg(data) == SanitizedSvg(
        data=f'<svg xmlns="{SVG_NS}" width="8" height="4"><rect width="8"/></svg>'.encode(),
        width=8,
        height=4,
    )


def test_an_external_dtd_is_never_loaded(tmp_path) -> None:
    dtd = tmp_path / "x.dtd"
    dtd.write_text('<!ENTITY secret "LEAKED">')
    data = (
        f'<!DOCTYPE svg SYSTEM "{dtd.as_uri()}"><svg xmlns="{SVG_NS}"><text>&secret;</text></svg>'
    ).encode()
    assert "undefined entity &secret;" in _refusal(data)


def test_an_undeclared_entity_is_refused_as_not_well_formed() -> None:
    assert "not well-formed" in _refusal(_svg("<text>&nbsp;</text>"))


def test_malformed_xml_is_refused() -> None:
    assert "not well-formed" in _refusal(b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>")


def test_empty_file_is_refused() -> None:
    assert _refusal(b"  \n") == "The SVG is empty"


def test_bytes_that_are_not_utf8_are_refused() -> None:
    data = '<svg xmlns="http://www.w3.org/2000/svg"><title>café</title></svg>'.encode("latin-1")
    assert _refusal(data) == "The SVG must be encoded as UTF-8"


def test_utf16_is_refused() -> None:
    assert _refusal(dict(PAYLOADS)["utf16_encoded"]) == "The SVG must be encoded as UTF-8"


def test_a_declared_encoding_other_than_utf8_is_refused() -> None:
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg"/>'
    assert "ISO-8859-1" in _refusal(data)


@pytest.mark.parametrize("name", ["html_root", "svg_root_in_foreign_namespace"])
def test_root_must_be_svg_in_the_svg_namespace(name: str) -> None:
    assert "root element" in _refusal(dict(PAYLOADS)[name])


def test_a_file_over_5_mb_is_refused_before_parsing() -> None:
    # Not even well-formed: the size check comes first.
    data = b"<svg>" + b" " * (5 * 1024 * 1024)
    assert _refusal(data) == "The SVG is larger than 5 MB"


def test_more_than_20000_elements_are_refused() -> None:
    assert _refusal(_svg("<g/>" * 20_000)) == "The SVG has more than 20,000 elements"


def test_20000_elements_are_accepted() -> None:
    assert sanitize_svg(_svg("<g/>" * 19_999)).data.count(b"<g/>") == 19_999


def test_nesting_deeper_than_200_is_refused() -> None:
    message = _refusal(_svg("<g>" * 200 + "</g>" * 200))
    assert message == "The SVG nests elements more than 200 levels deep"


def test_nesting_200_deep_is_accepted() -> None:
    assert sanitize_svg(_svg("<g>" * 199 + "</g>" * 199)).data.count(b"<g") == 199


# Elements and attributes


def test_script_is_dropped_with_its_content() -> None:
    out = _clean("<script>alert(1)</script><rect/>")
    assert out == f'<svg xmlns="{SVG_NS}"><rect/></svg>'


def test_text_after_a_dropped_element_is_kept() -> None:
    assert "<text>Hello world</text>" in _clean("<text>Hello <script>x</script>world</text>")


def test_event_handlers_are_dropped_and_the_element_kept() -> None:
    out = _clean('<rect onclick="a()" OnMouseOver="b()" width="3"/>', ' onload="c()"')
    assert out == f'<svg xmlns="{SVG_NS}"><rect width="3"/></svg>'


def test_fragment_links_survive_in_both_spellings() -> None:
    out = _clean('<a href="#x"><text id="x">t</text></a><a xlink:href=" #x"><text>u</text></a>')
    assert '<a href="#x">' in out
    assert '<a xlink:href="#x">' in out
    assert f'xmlns:xlink="{XLINK_NS}"' in out


def test_mixed_case_xlink_href_is_dropped_while_the_exact_spelling_is_kept() -> None:
    out = _clean(
        f'<a xmlns:XLINK="{XLINK_NS}" XLINK:HrEf="javascript:alert(1)" xlink:href="#k">'
        "<text>x</text></a>"
    )
    assert '<a xlink:href="#k"><text>x</text></a>' in out


def test_xlink_namespace_is_declared_only_when_used() -> None:
    assert "xmlns:xlink" not in _clean('<a href="#k"><text>x</text></a>')


def test_a_raster_data_uri_on_image_survives() -> None:
    out = _clean(f'<image width="1" height="1" xlink:href="data:image/png;base64,{PNG_BASE64}"/>')
    assert f'xlink:href="data:image/png;base64,{PNG_BASE64}"' in out


def test_a_jpg_data_uri_is_spelled_jpeg() -> None:
    out = _clean(f'<image href=" DATA:image/JPG;base64,{PNG_BASE64[:8]}"/>')
    assert f'href="data:image/jpeg;base64,{PNG_BASE64[:8]}"' in out


@pytest.mark.parametrize(
    "href",
    [
        "data:image/svg+xml;base64,PHN2Zy8+",
        "data:text/html,hi",
        "data:image/png,raw",
        "#keep",
        "https://example.com/x.png",
    ],
)
def test_image_keeps_only_raster_data_uris(href: str) -> None:
    assert _clean(f'<image href="{href}"/>') == f'<svg xmlns="{SVG_NS}"><image/></svg>'


@pytest.mark.parametrize(
    "element",
    ["use", "animate", "set", "foreignObject", "feImage", "metadata", "font", "unknownThing"],
)
def test_elements_off_the_allow_list_are_dropped_with_their_children(element: str) -> None:
    out = _clean(f'<{element}><rect id="child"/></{element}>')
    assert out == f'<svg xmlns="{SVG_NS}"/>'


def test_elements_of_another_namespace_are_dropped_even_with_svg_names() -> None:
    out = _clean('<x:rect xmlns:x="https://example.com/ns"/><rect/>')
    assert out == f'<svg xmlns="{SVG_NS}"><rect/></svg>'


def test_attributes_off_the_allow_list_are_dropped() -> None:
    out = _clean('<rect width="1" data-x="1" xml:base="https://e.example/" target="_top"/>')
    assert out == f'<svg xmlns="{SVG_NS}"><rect width="1"/></svg>'


def test_comments_and_processing_instructions_are_dropped() -> None:
    data = b'<?xml version="1.0"?><!-- made by hand --><?pi x?><svg><!-- c --><rect/></svg>'
    assert sanitize_svg(data).data == f'<svg xmlns="{SVG_NS}"><rect/></svg>'.encode()


def test_a_missing_xmlns_is_treated_as_svg() -> None:
    result = sanitize_svg(b'<svg width="4" height="2"><circle r="1"/></svg>')
    assert (
        result.data == f'<svg xmlns="{SVG_NS}" width="4" height="2"><circle r="1"/></svg>'.encode()
    )


def test_prefixed_svg_comes_out_in_the_default_namespace() -> None:
    data = f'<s:svg xmlns:s="{SVG_NS}"><s:g><s:rect/></s:g></s:svg>'.encode()
    out = sanitize_svg(data).data.decode()
    assert out == f'<svg xmlns="{SVG_NS}"><g><rect/></g></svg>'
    assert "ns0" not in out


def test_special_characters_are_escaped_and_survive_a_second_parse() -> None:
    out = _clean('<text x="1" class="a&amp;b&#10;c">1 &lt; 2 &amp; 3 &gt; 2 &#13;</text>')
    text = fromstring(out).find(f"{SVG}text")
    assert text.text == "1 < 2 & 3 > 2 \r"
    assert text.get("class") == "a&b\nc"


# CSS


def test_style_attribute_keeps_allowed_declarations_only() -> None:
    out = _clean(
        '<rect style="fill: #ff0000; stroke:blue !important; background:url(x); '
        'cursor:pointer; -inkscape-font-specification:Sans; opacity:.5"/>'
    )
    assert 'style="fill:#ff0000;stroke:blue !important;opacity:.5"' in out


def test_style_attribute_with_nothing_left_is_dropped() -> None:
    assert _clean('<rect style="behavior:url(x.htc)"/>') == f'<svg xmlns="{SVG_NS}"><rect/></svg>'


def test_fragment_urls_in_css_survive_and_are_written_plainly() -> None:
    out = _clean(
        "<style>.a{fill:url( '#grad' )}</style>"
        '<rect style="clip-path:url(&quot;#c&quot;);mask:url(#m)"/>'
    )
    assert "<style>.a{fill:url(#grad)}</style>" in out
    assert 'style="clip-path:url(#c);mask:url(#m)"' in out


@pytest.mark.parametrize(
    "css",
    [
        "fill:url(https://e.example/p#p)",
        "fill:url(#a b)",
        "fill:url('#x'),url(/y)",
        "fill:url(#x:y)",
        "fill:var(--x)",
        "fill:attr(x)",
        "transform:expression(1)",
    ],
)
def test_css_values_with_anything_doubtful_are_dropped(css: str) -> None:
    assert _clean(f'<rect style="{css}"/>') == f'<svg xmlns="{SVG_NS}"><rect/></svg>'


def test_css_escapes_are_resolved_before_checking_and_not_written_back() -> None:
    out = _clean('<rect style="f\\69ll:\\75 rl(#x);stroke:\\75 rl(https://e.example/#x)"/>')
    assert '<rect style="fill:url(#x)"/>' in out


def test_stylesheet_drops_at_rules_and_keeps_rules() -> None:
    out = _clean(
        "<style>@import url(x.css); @media print{.a{fill:red}} @font-face{font-family:x}"
        ".st0{fill:#FFF;} .st1 , g > .st2:not(.x)[data-a='b']{stroke-width:2px;color:red}"
        "@charset 'x'; .st3{}</style>"
    )
    assert (
        "<style>.st0{fill:#FFF}\n"
        '.st1 , g &gt; .st2:not(.x)[data-a="b"]{stroke-width:2px;color:red}</style>'
    ) in out


def test_stylesheet_drops_nested_rules_and_doubtful_selectors() -> None:
    out = _clean(
        "<style>.a{fill:red;.b{fill:url(https://e.example)}} .c\\:d{fill:red} "
        "a:url(x){fill:red} .e{fill:blue}</style>"
    )
    assert "<style>.a{fill:red}\n.e{fill:blue}</style>" in out


def test_stylesheet_with_nothing_left_stays_as_an_empty_element() -> None:
    assert "<style/>" in _clean("<style>@import url(https://e.example/x.css);</style>")


def test_a_css_nesting_bomb_is_dropped_not_crashed_on() -> None:
    bomb = "calc(" * 50_000
    out = _clean(f'<rect style="fill:{bomb}" stroke="{bomb}"/><style>{":not(" * 50_000}</style>')
    assert out == f'<svg xmlns="{SVG_NS}"><rect/><style/></svg>'


def test_more_than_2_million_characters_of_css_are_refused_before_parsing_it() -> None:
    message = _refusal(_svg('<rect style="' + "fill:red;" * 250_000 + '"/>'))
    assert message == (
        "The SVG has more than 2,000,000 characters of CSS "
        "(style sheets, style and presentation attributes)"
    )


def test_repeated_css_counts_once_towards_the_css_limit() -> None:
    rect = '<rect style="fill:red;stroke:blue;stroke-width:2px;opacity:.5" fill="#000"/>'
    assert sanitize_svg(_svg(rect * 19_999)).data.count(b"<rect") == 19_999


def test_presentation_attributes_are_kept_verbatim_when_safe() -> None:
    out = _clean(
        '<g transform="translate(10-5) rotate(45 1 1)" fill="url(#g) #fff" '
        "font-family=\"'Open Sans', Arial\" filter=\"url('#f')\"/>"
    )
    assert (
        '<g transform="translate(10-5) rotate(45 1 1)" fill="url(#g) #fff" '
        "font-family=\"'Open Sans', Arial\" filter=\"url('#f')\"/>"
    ) in out


@pytest.mark.parametrize(
    "attribute",
    [
        'fill="url(https://e.example/p#p)"',
        'stroke="url(//e.example/p#p)"',
        'mask="url(data:image/png;base64,AAAA)"',
        "marker-start=\"url('https://e.example/m#m')\"",
        'fill="\\75 rl(#x)"',
        'transform="expression(alert(1))"',
        'font-family="javascript:alert(1)"',
    ],
)
def test_presentation_attributes_with_external_or_doubtful_values_are_dropped(
    attribute: str,
) -> None:
    assert _clean(f"<rect {attribute}/>") == f'<svg xmlns="{SVG_NS}"><rect/></svg>'


# Real drawings

ILLUSTRATOR = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- Generator: Adobe Illustrator 27.0.0, SVG Export Plug-In . SVG Version: 6.00 Build 0)  -->
<svg version="1.1" id="Layer_1" xmlns="http://www.w3.org/2000/svg"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:i="http://ns.adobe.com/AdobeIllustrator/10.0/"
  x="0px" y="0px" width="200px" height="100px" viewBox="0 0 200 100"
  style="enable-background:new 0 0 200 100;" xml:space="preserve">
<style type="text/css">
  .st0{fill:url(#SVGID_1_);}
  .st1{fill:none;stroke:#1D1D1B;stroke-width:2;stroke-miterlimit:10;}
  .st2{font-family:'MyriadPro-Regular';font-size:12px;}
</style>
<switch>
  <foreignObject requiredExtensions="http://ns.adobe.com/AdobeIllustrator/10.0/"
    x="0" y="0" width="1" height="1"><i:pgfRef xlink:href="#adobe_illustrator_pgf"/>
  </foreignObject>
  <g i:extraneous="self">
    <linearGradient id="SVGID_1_" gradientUnits="userSpaceOnUse" x1="0" y1="50" x2="200" y2="50">
      <stop offset="0" style="stop-color:#E30613"/>
      <stop offset="1" style="stop-color:#312783"/>
    </linearGradient>
    <rect class="st0" width="200" height="100"/>
    <path class="st1" d="M10,10 L190,90"/>
    <a xlink:href="#label"><text id="label" transform="matrix(1 0 0 1 20 50)"
      class="st2">Hello</text></a>
  </g>
</switch>
<i:pgf id="adobe_illustrator_pgf"><![CDATA[eJzs...]]></i:pgf>
</svg>
"""

INKSCAPE = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg width="210mm" height="297mm" viewBox="0 0 210 297" version="1.1" id="svg5"
   inkscape:version="1.2 (dc2aedaf03, 2022-05-15)" sodipodi:docname="drawing.svg"
   xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
   xmlns="http://www.w3.org/2000/svg" xmlns:svg="http://www.w3.org/2000/svg"
   xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cc="http://creativecommons.org/ns#">
  <sodipodi:namedview id="namedview7" pagecolor="#ffffff" inkscape:zoom="0.7"/>
  <defs id="defs2">
    <radialGradient inkscape:collect="always" xlink:href="#linearGradient1" id="radial1"
       cx="50" cy="50" fx="50" fy="50" r="40" gradientUnits="userSpaceOnUse"
       xmlns:xlink="http://www.w3.org/1999/xlink"/>
    <linearGradient id="linearGradient1"><stop style="stop-color:#ff0000;stop-opacity:1"
       offset="0" id="stop1"/></linearGradient>
  </defs>
  <metadata><rdf:RDF><cc:Work rdf:about=""/></rdf:RDF></metadata>
  <g inkscape:label="Layer 1" inkscape:groupmode="layer" id="layer1">
    <circle style="fill:url(#radial1);stroke:#000000;stroke-width:0.264583"
       id="path1" cx="50" cy="50" r="40"/>
    <text xml:space="preserve" x="20" y="120" id="text1"
       style="font-size:10.5833px;line-height:1.25;font-family:sans-serif;
       -inkscape-font-specification:'sans-serif'"
       ><tspan sodipodi:role="line" id="tspan1" x="20" y="120">Hi</tspan></text>
  </g>
</svg>
"""


def test_illustrator_export_keeps_its_drawing_and_styles() -> None:
    result = sanitize_svg(ILLUSTRATOR)
    out = result.data.decode()
    assert (result.width, result.height) == (200, 100)
    assert_inert(result.data)
    assert ".st0{fill:url(#SVGID_1_)}" in out
    assert ".st1{fill:none;stroke:#1D1D1B;stroke-width:2;stroke-miterlimit:10}" in out
    assert '.st2{font-family:"MyriadPro-Regular";font-size:12px}' in out
    assert '<stop offset="0" style="stop-color:#E30613"/>' in out
    assert '<rect class="st0" width="200" height="100"/>' in out
    assert '<path class="st1" d="M10,10 L190,90"/>' in out
    assert '<a xlink:href="#label"><text id="label" transform="matrix(1 0 0 1 20 50)"' in out
    assert 'style="enable-background:new 0 0 200 100"' in out
    assert 'xml:space="preserve"' in out
    assert "foreignObject" not in out
    assert "pgf" not in out
    assert "ns.adobe.com" not in out


def test_inkscape_drawing_keeps_gradients_and_text_and_loses_editor_data() -> None:
    result = sanitize_svg(INKSCAPE)
    out = result.data.decode()
    assert (result.width, result.height) == (794, 1123)
    assert_inert(result.data)
    assert '<radialGradient xlink:href="#linearGradient1" id="radial1"' in out
    assert 'style="fill:url(#radial1);stroke:#000000;stroke-width:0.264583"' in out
    assert 'style="font-size:10.5833px;line-height:1.25;font-family:sans-serif"' in out
    assert '<tspan id="tspan1" x="20" y="120">Hi</tspan>' in out
    for gone in ("inkscape", "sodipodi", "metadata", "rdf", "xmlns:svg"):
        assert gone not in out


# Dimensions


@pytest.mark.parametrize(
    ("attributes", "size"),
    [
        (' width="120" height="80"', (120, 80)),
        (' width="120px" height="80PX"', (120, 80)),
        (' width="72pt" height="36pt"', (96, 48)),
        (' width="1in" height="2.54cm"', (96, 96)),
        (' width="10mm" height="6pc"', (38, 96)),
        (' width="40Q" height="1e2"', (38, 100)),
        (' width="10.5" height="10.49"', (11, 10)),
        (' width="0.2" height="0"', (1, 1)),
        (' width="100%" height="100%" viewBox="0 0 640 480"', (640, 480)),
        (' width="10em" height="5ex" viewBox="0,0,20.4,10.6"', (20, 11)),
        (' viewBox="-10 -10 24 24"', (24, 24)),
        (' viewBox="0 0 24"', (300, 150)),
        (' viewBox="0 0 0 10"', (300, 150)),
        ("", (300, 150)),
        (' width="200" viewBox="0 0 100 50"', (200, 100)),
        (' height="100" viewBox="0 0 100 50"', (200, 100)),
        (' width="200"', (200, 150)),
        (' height="20"', (300, 20)),
        (' width="-5" height="auto" viewBox="0 0 7 7"', (7, 7)),
        (' width="abc" height="1 2"', (300, 150)),
        (' width="100000" height="1"', (100_000, 1)),
    ],
)
def test_dimensions_follow_browser_rules(attributes: str, size: tuple[int, int]) -> None:
    result = sanitize_svg(_svg(attributes=attributes))
    assert (result.width, result.height) == size


@pytest.mark.parametrize(
    ("attributes", "side"),
    [
        (' width="100001"', "width"),
        (' width="1" height="2000in"', "height"),
        (' viewBox="0 0 1e6 10"', "width"),
        (' width="1e300" height="1"', "width"),
        (' height="10" viewBox="0 0 1e9 1"', "width"),
    ],
)
def test_absurd_dimensions_are_refused(attributes: str, side: str) -> None:
    message = _refusal(_svg(attributes=attributes))
    assert message == f"The SVG's {side} is larger than the maximum of 100,000 pixels"


# Output shape and idempotence


def test_csp_header_forbids_everything_but_inline_style_and_data_images() -> None:
    assert SVG_CSP == "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def test_output_has_no_xml_declaration_and_starts_with_svg() -> None:
    assert sanitize_svg(ILLUSTRATOR).data.startswith(f'<svg xmlns="{SVG_NS}"'.encode())


def _accepted(payload: bytes) -> bool:
    try:
        sanitize_svg(payload)
    except ImageRejected:
        return False
    return True


_DOCUMENTS = [(name, p) for name, p in PAYLOADS if _accepted(p)] + [
    ("illustrator", ILLUSTRATOR),
    ("inkscape", INKSCAPE),
]


@pytest.mark.parametrize(("name", "document"), _DOCUMENTS, ids=[name for name, _ in _DOCUMENTS])
def test_sanitizing_twice_changes_nothing(name: str, document: bytes) -> None:
    once = sanitize_svg(document)
    assert sanitize_svg(once.data) == once


# Random documents from hostile parts: whatever comes out is inert and stable.

_TAGS = [
    "g", "rect", "a", "text", "tspan", "style", "svg", "image", "linearGradient", "filter",
    "feImage", "script", "use", "animate", "set", "foreignObject", "h:iframe", "h:div",
    "title", "switch", "x:thing",
]  # fmt: skip
_ATTRIBUTES = [
    "href", "xlink:href", "XLINK:HrEf", "onload", "OnLoad", "style", "fill", "filter",
    "transform", "id", "class", "width", "height", "viewBox", "attributeName", "to",
    "values", "xml:base", "x:onclick", "mask", "font-family",
]  # fmt: skip
_VALUES = [
    "#a", "javascript:alert(1)", "java&#9;script:alert(1)", "&#106;avascript:x",
    "%6Aavascript:x", " JaVaScRiPt:x", "url(#a)", "url(http://e.example/x)", "url('#a')",
    "url(&quot;//e.example&quot;)", "fill:red;background:url(http://e.example)",
    "\\75 rl(http://e.example)", "fill:\\75 rl(#a)", f"data:image/png;base64,{PNG_BASE64}",
    "data:text/html,&lt;script&gt;", "data:image/svg+xml,&lt;svg/&gt;", "rotate(45 1 1)",
    "10", "50%", "0 0 10 10", "expression(alert(1))", "a{fill:red}", "@import url(x)",
    "-moz-binding:url(x)", "", "a&#10;b",
]  # fmt: skip
_TEXTS = [
    "hi", " ", "a{fill:url(http://e.example)}", ".a{fill:url(#a)} @import url(x);",
    "<![CDATA[rect{fill:red}]]>", "&#106;avascript:", "1 &lt; 2", "<!-- c -->", "<?pi x?>",
]  # fmt: skip
_ROOT = (
    f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" xmlns:XLINK="{XLINK_NS}" '
    'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:x="https://e.example/ns">'
)


def _render(tag: str, attributes: dict[str, str], children: list[str]) -> str:
    rendered = "".join(f' {name}="{value}"' for name, value in attributes.items())
    return f"<{tag}{rendered}>{''.join(children)}</{tag}>"


_NODES = st.recursive(
    st.sampled_from(_TEXTS),
    lambda children: st.builds(
        _render,
        st.sampled_from(_TAGS),
        st.dictionaries(st.sampled_from(_ATTRIBUTES), st.sampled_from(_VALUES), max_size=4),
        st.lists(children, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_NODES, max_size=4))
def test_random_hostile_documents_come_out_inert_and_stable(nodes: list[str]) -> None:
    try:
        once = sanitize_svg((_ROOT + "".join(nodes) + "</svg>").encode())
    except ImageRejected:
        return
    assert_inert(once.data)
    assert sanitize_svg(once.data) == once
