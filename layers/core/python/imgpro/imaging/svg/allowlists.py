"""What a sanitized SVG may contain: element, attribute, CSS property and CSS function
names, modelled on DOMPurify's SVG profile (`svg`, `svgFilters`, `svg` attributes) minus
everything that can run script, fetch, or change other elements over time.

Names are exact: XML is case-sensitive, so `XLINK:HrEf` or `onLoad` simply never match.
"""

from __future__ import annotations

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

XLINK_HREF = f"{{{XLINK_NS}}}href"
HREF_KEYS = frozenset({"href", XLINK_HREF})

# Left out on purpose, with their whole subtree: script, foreignObject, use (imgproxy's
# CVE-2023-1496: it pulls in and renders another document), animate, animateMotion,
# animateTransform, animateColor, set (they rewrite attributes such as href after we
# checked them), feImage (fetches), tref/altGlyph/font/glyph (fetch by reference),
# handler/listener (SVG Tiny script), metadata (RDF noise), and every unknown element.
ELEMENTS = frozenset(
    {
        "svg", "g", "defs", "title", "desc", "symbol", "switch", "a", "style",
        "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
        "text", "tspan", "textPath",
        "linearGradient", "radialGradient", "stop", "pattern",
        "clipPath", "mask", "marker", "image",
        "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite",
        "feConvolveMatrix", "feDiffuseLighting", "feDisplacementMap", "feDistantLight",
        "feDropShadow", "feFlood", "feFuncA", "feFuncB", "feFuncG", "feFuncR",
        "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology", "feOffset",
        "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
    }
)  # fmt: skip

# Elements whose href means something. Only `#id` survives on them; `image` takes only a
# raster data URI (a fragment there would render the document inside itself).
FRAGMENT_HREF_ELEMENTS = frozenset(
    {"a", "textPath", "linearGradient", "radialGradient", "pattern", "filter"}
)
RASTER_HREF_ELEMENTS = frozenset({"image"})

# CSS properties, allowed both in CSS and as presentation attributes. No `cursor`,
# `background*`, `content`, `behavior`, `-moz-binding`, `mask-image` or custom properties.
CSS_PROPERTIES = frozenset(
    {
        "alignment-baseline", "baseline-shift", "clip-path", "clip-rule", "color",
        "color-interpolation", "color-interpolation-filters", "color-rendering",
        "direction", "display", "dominant-baseline", "enable-background",
        "fill", "fill-opacity", "fill-rule", "filter", "flood-color", "flood-opacity",
        "font", "font-family", "font-feature-settings", "font-kerning", "font-size",
        "font-size-adjust", "font-stretch", "font-style", "font-variant",
        "font-variant-caps", "font-variant-ligatures", "font-variant-numeric", "font-weight",
        "image-rendering", "isolation", "letter-spacing", "lighting-color", "line-height",
        "marker", "marker-end", "marker-mid", "marker-start", "mask", "mask-type",
        "mix-blend-mode", "opacity", "overflow", "paint-order", "pointer-events",
        "shape-rendering", "solid-color", "solid-opacity", "stop-color", "stop-opacity",
        "stroke", "stroke-dasharray", "stroke-dashoffset", "stroke-linecap",
        "stroke-linejoin", "stroke-miterlimit", "stroke-opacity", "stroke-width",
        "text-align", "text-anchor", "text-decoration", "text-rendering", "text-transform",
        "transform", "transform-box", "transform-origin", "unicode-bidi", "vector-effect",
        "visibility", "white-space", "word-spacing", "writing-mode",
    }
)  # fmt: skip

# Everything else an allowed element may carry, besides `style`, the hrefs and the
# properties above. No `on*`, no animation timing, no `xml:base`, `src` or `target`.
PLAIN_ATTRIBUTES = frozenset(
    {
        "id", "class", "lang", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang",
        "width", "height", "x", "y", "viewBox", "preserveAspectRatio", "version",
        "baseProfile",
        "d", "pathLength", "points", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry",
        "fx", "fy", "fr",
        "dx", "dy", "rotate", "textLength", "lengthAdjust", "startOffset", "method",
        "spacing", "side", "path",
        "gradientUnits", "gradientTransform", "spreadMethod", "offset",
        "patternUnits", "patternContentUnits", "patternTransform",
        "clipPathUnits", "maskUnits", "maskContentUnits",
        "markerUnits", "markerWidth", "markerHeight", "refX", "refY", "orient",
        "filterUnits", "primitiveUnits", "in", "in2", "result", "mode", "type", "values",
        "tableValues", "slope", "intercept", "amplitude", "exponent", "operator",
        "k1", "k2", "k3", "k4", "order", "kernelMatrix", "divisor", "bias",
        "targetX", "targetY", "edgeMode", "kernelUnitLength", "preserveAlpha",
        "surfaceScale", "diffuseConstant", "specularConstant", "specularExponent", "scale",
        "xChannelSelector", "yChannelSelector", "stdDeviation", "radius",
        "baseFrequency", "numOctaves", "seed", "stitchTiles", "azimuth", "elevation",
        "pointsAtX", "pointsAtY", "pointsAtZ", "limitingConeAngle", "z",
        "systemLanguage", "requiredFeatures", "requiredExtensions",
    }
)  # fmt: skip

# CSS functions a value may call, lower-case. `url` is checked separately; `var`, `attr`,
# `image`, `image-set`, `cross-fade`, `element`, `env`, `expression` are absent.
CSS_FUNCTIONS = frozenset(
    {
        "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color",
        "calc", "min", "max", "clamp",
        "matrix", "matrix3d", "translate", "translatex", "translatey", "translatez",
        "translate3d", "scale", "scalex", "scaley", "scalez", "scale3d", "rotate",
        "rotatex", "rotatey", "rotatez", "rotate3d", "skew", "skewx", "skewy", "perspective",
        "blur", "brightness", "contrast", "drop-shadow", "grayscale", "hue-rotate", "invert",
        "opacity", "saturate", "sepia",
    }
)  # fmt: skip

# Functional pseudo-classes a selector may use, lower-case.
SELECTOR_FUNCTIONS = frozenset(
    {"not", "is", "where", "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type"}
)
