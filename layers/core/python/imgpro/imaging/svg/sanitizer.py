"""An uploaded SVG rebuilt from an allow list: what is not known to be inert is dropped.

The output is a new document, not the input with parts removed: only allow-listed
elements (in the SVG namespace), attributes and CSS are copied, and it is serialized here
rather than by ElementTree, so that namespaces, escaping and attribute order are ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import IMAGE_CSP
from imgpro.imaging.svg.allowlists import (
    CSS_PROPERTIES,
    ELEMENTS,
    FRAGMENT_HREF_ELEMENTS,
    HREF_KEYS,
    PLAIN_ATTRIBUTES,
    RASTER_HREF_ELEMENTS,
    SVG_NS,
    XLINK_HREF,
    XLINK_NS,
    XML_NS,
)
from imgpro.imaging.svg.css import (
    clean_declarations,
    clean_stylesheet,
    is_safe_plain_value,
    is_safe_presentation_value,
)
from imgpro.imaging.svg.dimensions import pixel_size
from imgpro.imaging.svg.parsing import parse_svg
from imgpro.imaging.svg.references import clean_reference

# Serve sanitized SVG with this header (and `X-Content-Type-Options: nosniff`), so that
# anything that slips through still cannot run or fetch: imgproxy's current headers.
SVG_CSP = IMAGE_CSP

MAX_CSS_CHARACTERS = 2_000_000

_PREFIXES = {XLINK_NS: "xlink", XML_NS: "xml"}
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
# Tabs and newlines as character references, or the next parse would fold them to spaces.
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;",
     "\t": "&#9;"}
)  # fmt: skip


@dataclass(frozen=True)
class SanitizedSvg:
    data: bytes
    """The cleaned document: UTF-8, no XML declaration, SVG as the default namespace."""
    width: int
    """Pixel width a browser gives it as an image, >= 1."""
    height: int
    """Pixel height a browser gives it as an image, >= 1."""


def sanitize_svg(data: bytes) -> SanitizedSvg:
    """Parse an uploaded SVG and rebuild it from allow-listed parts only.

    Raises ImageRejected, with a message for the `file` field, when the upload is not an
    SVG we accept (too large, not UTF-8, not well-formed, DTD or entities, too many or too
    deeply nested elements, too much CSS, absurd dimensions). Idempotent on its own output.
    """
    source = parse_svg(data)
    _check_css_volume(source)
    root = _Rebuilder().copy("svg", source)
    # Measured on what we keep, so that a second pass over our output agrees.
    width, height = pixel_size(root.attrib)
    return SanitizedSvg(data=_serialize(root).encode("utf-8"), width=width, height=height)


def _check_css_volume(root: Element) -> None:
    """tinycss2 is pure Python (about 2 s per million characters here), so the CSS we
    would parse is bounded before parsing it. Only distinct strings count: editors repeat
    the same `style` on thousands of elements, and those are parsed once."""
    distinct: set[str] = set()
    for element in root.iter():
        if _local_name(element.tag) == "style":
            distinct.add(_child_text(element))
        distinct.update(
            value
            for key, value in element.attrib.items()
            if key == "style" or key in CSS_PROPERTIES
        )
    if sum(map(len, distinct)) > MAX_CSS_CHARACTERS:
        raise ImageRejected(
            f"The SVG has more than {MAX_CSS_CHARACTERS:,} characters of CSS "
            "(style sheets, style and presentation attributes)"
        )


def _local_name(tag: str) -> str | None:
    """The SVG element name, or None for any other namespace. Elements without a namespace
    count as SVG, since many files omit `xmlns` on the root."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name if namespace == SVG_NS else None
    return tag


def _child_text(element: Element) -> str:
    """A stylesheet is its element's own text; children (always dropped) do not count."""
    return (element.text or "") + "".join(child.tail or "" for child in element)


class _Rebuilder:
    """Copies the allow-listed parts of one document, remembering each CSS string's
    verdict, since the same ones recur on thousands of elements."""

    def __init__(self) -> None:
        self._css: dict[tuple[Callable[[str], str | None], str], str | None] = {}

    def element(self, source: Element) -> Element | None:
        name = _local_name(source.tag)
        return self.copy(name, source) if name in ELEMENTS else None

    def copy(self, name: str, source: Element) -> Element:
        element = Element(name, self._attributes(name, source.attrib))
        if name == "style":
            element.text = self._memo(clean_stylesheet, _child_text(source))
            return element
        element.text = source.text
        for child in source:
            cleaned = self.element(child)
            if cleaned is not None:
                cleaned.tail = child.tail
                element.append(cleaned)
            elif child.tail:
                # Text after a dropped element still belongs to the drawing's text.
                _append_text(element, child.tail)
        return element

    def _attributes(self, element: str, attributes: dict[str, str]) -> dict[str, str]:
        cleaned = {}
        for key, value in attributes.items():
            kept = self._attribute(element, key, value)
            if kept is not None:
                cleaned[key] = kept
        return cleaned

    def _attribute(self, element: str, key: str, value: str) -> str | None:
        """The value to keep for one attribute, or None to drop it. Keys are compared
        exactly as parsed (`{namespace}local`), so `XLINK:HrEf`, `HREF` or `onLoad` never
        match."""
        if key in HREF_KEYS:
            if element in FRAGMENT_HREF_ELEMENTS:
                return clean_reference(value, raster=False)
            if element in RASTER_HREF_ELEMENTS:
                return clean_reference(value, raster=True)
            return None
        if key == "style":
            return self._memo(clean_declarations, value) or None
        if key in CSS_PROPERTIES:
            return self._memo(_keep_presentation_value, value)
        if key in PLAIN_ATTRIBUTES:
            return value if is_safe_plain_value(value) else None
        return None

    def _memo(self, clean: Callable[[str], str | None], text: str) -> str | None:
        key = (clean, text)
        if key not in self._css:
            self._css[key] = clean(text)
        return self._css[key]


def _keep_presentation_value(value: str) -> str | None:
    return value if is_safe_presentation_value(value) else None


def _append_text(element: Element, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _serialize(root: Element) -> str:
    uses_xlink = any(XLINK_HREF in element.attrib for element in root.iter())
    declarations = f' xmlns="{SVG_NS}"'
    if uses_xlink:
        declarations += f' xmlns:xlink="{XLINK_NS}"'
    parts: list[str] = []
    _write(root, parts, declarations)
    return "".join(parts)


def _write(element: Element, parts: list[str], declarations: str = "") -> None:
    parts.append(f"<{element.tag}{declarations}")
    for key, value in element.attrib.items():
        parts.append(f' {_attribute_name(key)}="{value.translate(_ATTRIBUTE_ESCAPES)}"')
    if element.text or len(element):
        parts.append(">")
        parts.append((element.text or "").translate(_TEXT_ESCAPES))
        for child in element:
            _write(child, parts)
        parts.append(f"</{element.tag}>")
    else:
        parts.append("/>")
    parts.append((element.tail or "").translate(_TEXT_ESCAPES))


def _attribute_name(key: str) -> str:
    if key.startswith("{"):
        namespace, _, name = key[1:].partition("}")
        return f"{_PREFIXES[namespace]}:{name}"
    return key
