"""XMP packets: removing where a photo was taken, and keeping the rest readable.

An EXIF-only GPS strip leaves location in XMP, where cameras, phones and photo editors copy
it (`exif:GPSLatitude`, the IPTC location fields), so every XMP packet we store goes through
`without_location` first.

The packet is parsed with defusedxml into a DOM, which keeps the packet's own prefixes and
processing instructions (ElementTree would rename every prefix `ns0`, `ns1`...), location
properties are taken out, and the DOM is written back. A DOM costs hundreds of bytes per
node, so what it is built from is capped first: a packet beyond the caps, or anything odd
(a DTD, an entity, bytes that are not UTF-8 XML), is not repaired but reported as unsafe,
and the caller drops it whole. Losing XMP never changes how an image looks.
"""

from __future__ import annotations

from xml.dom import Node
from xml.dom.minidom import Element
from xml.parsers.expat import ExpatError

from defusedxml.minidom import parseString

MAX_PACKET_BYTES = 1 << 20
"""Larger packets are dropped, not parsed. Real ones are a few KB; the megabyte ones are
Photoshop's document-ancestor lists, which nobody needs in a hosted image."""
# Every element, comment or PI starts with "<" and every attribute has a "=": counting them
# bounds the DOM before it is built. 20,000 nodes cost at most about 0.3 s and 20 MB; 1 MB
# of "<a/>" would take 100 MB and seconds. Real packets have hundreds (Lightroom's ~300).
_MAX_NODES = 20_000
# XMP nests a few levels (xmpmeta, RDF, Description, a struct, a Bag, an li...). The cap also
# keeps minidom's recursive serializer far from Python's recursion limit.
_MAX_DEPTH = 64

_IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_XMP_NOTE = "http://ns.adobe.com/xmp/note/"
_REMOVED = frozenset(
    {
        (_IPTC_CORE, "Location"),
        (_IPTC_EXT, "LocationCreated"),
        (_IPTC_EXT, "LocationShown"),
        (_PHOTOSHOP, "City"),
        (_PHOTOSHOP, "State"),
        (_PHOTOSHOP, "Country"),
        # Points to extended XMP, which the containers drop: a reader would look for it in vain.
        (_XMP_NOTE, "HasExtendedXMP"),
    }
)


def is_removed(namespace: str | None, name: str | None) -> bool:
    """Whether the property `name` in `namespace` is one `without_location` takes out."""
    if namespace is None or name is None:
        return False
    # EXIF's and CIPA's GPSLatitude..., and vendors' own namespaces under the same kind of
    # name (DJI's drone-dji:GpsLatitude, GpsAltitude): any such property, in any namespace.
    if name.lower().startswith("gps"):
        return True
    return (namespace, name) in _REMOVED


def without_location(packet: bytes) -> bytes | None:
    """The packet without location properties, in attribute and element form, whatever
    prefixes it binds to their namespaces; `packet` itself when it has none; None when it
    cannot be parsed safely, and must be dropped whole."""
    if len(packet) > MAX_PACKET_BYTES or packet.count(b"<") + packet.count(b"=") > _MAX_NODES:
        return None
    # Some writers end the packet with NULs (C strings), which XML does not allow.
    body = packet.rstrip(b"\x00")
    try:
        body.decode("utf-8")
        # types-defusedxml says str; like the stdlib's minidom.parseString it takes bytes.
        document = parseString(body, forbid_dtd=True)  # type: ignore[arg-type]
    except (ExpatError, ValueError):  # defusedxml's refusals are ValueErrors, as is bad UTF-8
        return None
    root = document.documentElement
    if root is None or is_removed(root.namespaceURI, root.localName):
        return None
    changed = _prune(root)
    if changed is None:
        return None
    if not changed:
        return packet
    # What surrounds the root is processing instructions (the <?xpacket?> wrapper) and
    # comments; the whitespace between them is padding for in-place editors, not content.
    return "\n".join(node.toxml() for node in document.childNodes).encode()


def _prune(root: Element) -> bool | None:
    """Remove location properties below `root`, depth first without recursion; whether
    anything was removed, or None when the tree nests deeper than any real packet."""
    changed = False
    pending: list[tuple[Element, int]] = [(root, 0)]
    while pending:
        element, depth = pending.pop()
        if depth > _MAX_DEPTH:
            return None
        for attribute in list(element.attributes.values()):
            if is_removed(attribute.namespaceURI, attribute.localName):
                element.removeAttributeNode(attribute)
                changed = True
        for child in list(element.childNodes):
            if child.nodeType != Node.ELEMENT_NODE:
                continue
            if is_removed(child.namespaceURI, child.localName):
                _remove_with_indent(element, child)
                changed = True
            else:
                pending.append((child, depth + 1))
    return changed


def _remove_with_indent(parent: Element, child: Element) -> None:
    """Remove `child`, and the indentation before it, so that no blank line is left."""
    before = child.previousSibling
    if before is not None and before.nodeType == Node.TEXT_NODE and not before.data.strip():
        parent.removeChild(before)
    parent.removeChild(child)


__all__ = ["MAX_PACKET_BYTES", "is_removed", "without_location"]
