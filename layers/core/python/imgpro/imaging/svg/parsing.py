"""Bytes to an element tree, refusing before any expensive work what we will not process:
oversized files, other encodings, DTD and entity declarations, too many or too deeply nested
elements, and roots that are not `<svg>`."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.svg.allowlists import SVG_NS

MAX_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 20_000
MAX_DEPTH = 200

_DOCTYPE_REFUSED = "The SVG contains DTD or entity declarations, which are not allowed"
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class _CountingTreeBuilder(TreeBuilder):
    """Refuses a document as soon as it passes the element or depth limit, while expat is
    still reading it, rather than after building the whole tree."""

    def __init__(self) -> None:
        super().__init__()
        self._elements = 0
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._elements += 1
        self._depth += 1
        if self._elements > MAX_ELEMENTS:
            raise ImageRejected(f"The SVG has more than {MAX_ELEMENTS:,} elements")
        if self._depth > MAX_DEPTH:
            raise ImageRejected(f"The SVG nests elements more than {MAX_DEPTH} levels deep")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return super().end(tag)


def parse_svg(data: bytes) -> Element:
    """The document's root `<svg>` element; raises ImageRejected for anything else."""
    if len(data) > MAX_BYTES:
        raise ImageRejected(f"The SVG is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise ImageRejected("The SVG is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImageRejected("The SVG must be encoded as UTF-8") from None
    parser = DefusedXMLParser(
        target=_CountingTreeBuilder(),
        forbid_dtd=False,  # checked below: a DOCTYPE without internal subset is harmless
        forbid_entities=True,
        forbid_external=True,
    )
    parser.parser.StartDoctypeDeclHandler = _check_doctype
    parser.parser.XmlDeclHandler = _check_xml_declaration
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException:
        raise ImageRejected(_DOCTYPE_REFUSED) from None
    except ParseError as exc:
        raise ImageRejected(f"The SVG is not well-formed XML ({exc})") from None
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        raise ImageRejected("The file's root element is not an <svg> element in the SVG namespace")
    return root


def _check_doctype(
    name: str, system_id: str | None, public_id: str | None, has_internal_subset: bool
) -> None:
    # Entities (billion laughs, XXE) can only be declared in the internal subset, so that
    # is what we refuse. A bare `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "...">`,
    # which Illustrator and many icon sets still write, is let through: expat never loads
    # the external DTD (defusedxml would refuse it if asked), so any entity it might
    # define stays undefined and the document is refused as not well-formed. The DOCTYPE
    # itself is not part of the output.
    if has_internal_subset:
        raise ImageRejected(_DOCTYPE_REFUSED)


def _check_xml_declaration(version: str, encoding: str | None, standalone: int) -> None:
    # The bytes decoded as UTF-8 above; a declaration naming another encoding would make
    # expat read them differently from us.
    if encoding is not None and encoding.lower() not in _UTF8_NAMES:
        raise ImageRejected(
            f"The SVG must be encoded as UTF-8, but its XML declaration says {encoding[:40]}"
        )
