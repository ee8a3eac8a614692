"""SVG uploads: parsed safely, rebuilt from an allow list, measured.

`sanitize_svg` is the only entry point; serve its output with `SVG_CSP`. Imports
defusedxml and tinycss2, so only code that accepts SVG uploads imports this package.
"""

from __future__ import annotations

from imgpro.imaging.svg.sanitizer import SVG_CSP, SanitizedSvg, sanitize_svg

__all__ = ["SVG_CSP", "SanitizedSvg", "sanitize_svg"]
