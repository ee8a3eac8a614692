"""CSS in an SVG, parsed with tinycss2 and rebuilt from what survives: `<style>` sheets,
`style` attributes, and presentation attributes such as `fill="url(#g)"`.

What survives: qualified rules with plain selectors, and declarations whose property is
allow-listed and whose value uses only allow-listed functions and `url(#id)`. At-rules of
every kind (`@import`, `@font-face`, `@media`...), nested rules and parse errors are
dropped. tinycss2 resolves escapes, so `\\75 rl(` is checked as the `url(` it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

import tinycss2
from tinycss2 import ast

from imgpro.imaging.svg.allowlists import CSS_FUNCTIONS, CSS_PROPERTIES, SELECTOR_FUNCTIONS
from imgpro.imaging.svg.references import is_fragment_id

if TYPE_CHECKING:
    from typing import TypeAlias

    # What tinycss2 puts in a list of component values (a declaration's value, a function's
    # arguments, a block's content). Its stubs type such lists as list[Node], whose `type`
    # is any str; as this union, a check of `token.type` tells the checker the token's class.
    ComponentValue: TypeAlias = (
        ast.ParseError | ast.Comment | ast.WhitespaceToken | ast.LiteralToken | ast.IdentToken
        | ast.AtKeywordToken | ast.HashToken | ast.StringToken | ast.URLToken
        | ast.UnicodeRangeToken | ast.NumberToken | ast.PercentageToken | ast.DimensionToken
        | ast.ParenthesesBlock | ast.SquareBracketsBlock | ast.CurlyBracketsBlock
        | ast.FunctionBlock
    )  # fmt: skip

# Checked on the text we are about to emit, after the token checks, as a second line of
# defence: none of these has a use in a drawing's CSS.
_CSS_TRIPWIRES = (
    "\\", "@", "javascript", "vbscript", "expression", "behavior", "behaviour",
    "-moz-binding",
)  # fmt: skip
_ATTRIBUTE_TRIPWIRES = (
    "\\", "javascript:", "vbscript:", "livescript:", "expression(", "-moz-binding",
)  # fmt: skip
_SIMPLE_VALUE_TOKENS = frozenset(
    {"whitespace", "ident", "hash", "string", "number", "percentage", "dimension"}
)
_VALUE_LITERALS = frozenset(",/+-*!%")
_SELECTOR_LITERALS = frozenset(".,>+~*:|=^$!-")
# Real drawings nest functions two or three deep (`rgb(calc(...))`); a bound keeps a
# `calc(calc(calc(...` bomb from exhausting the stack of our recursive checks.
_MAX_NESTING = 16


def clean_stylesheet(text: str) -> str:
    """A `<style>` element's text, rebuilt as one `selector{declarations}` per line."""
    rules = []
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":
            continue
        selector = _clean_selector(rule.prelude)
        declarations = clean_declarations(rule.content)
        if selector and declarations:
            rules.append(f"{selector}{{{declarations}}}")
    return "\n".join(rules)


def clean_declarations(source: str | list[ast.Node]) -> str:
    """A `style` attribute (or a rule's block), keeping only safe declarations."""
    kept = []
    for node in tinycss2.parse_blocks_contents(source, skip_comments=True, skip_whitespace=True):
        if node.type == "declaration":
            declaration = _clean_declaration(node)
            if declaration:
                kept.append(declaration)
    return ";".join(kept)


def is_safe_presentation_value(value: str) -> bool:
    """Whether a presentation attribute (`fill`, `filter`, `transform`...) may be kept
    verbatim. Verbatim, because re-serializing would turn SVG shorthands such as
    `translate(10-5)` into CSS with comments, which SVG attribute syntax does not allow."""
    if _trips(value, _ATTRIBUTE_TRIPWIRES):
        return False
    return _clean_value(tinycss2.parse_component_value_list(value)) is not None


def is_safe_plain_value(value: str) -> bool:
    """Whether a non-CSS attribute value (`id`, `d`, `points`...) is free of anything a
    browser or a careless consumer could treat as active."""
    return not _trips(value, _ATTRIBUTE_TRIPWIRES)


def _clean_declaration(declaration: ast.Declaration) -> str | None:
    if declaration.lower_name not in CSS_PROPERTIES:
        return None
    value = _clean_value(declaration.value)
    if value is None:
        return None
    text = tinycss2.serialize(value).strip()
    if not text or _trips(text, _CSS_TRIPWIRES):
        return None
    return f"{declaration.lower_name}:{text}" + (" !important" if declaration.important else "")


def _clean_value(tokens: Iterable[ast.Node], depth: int = 0) -> list[ast.Node] | None:
    """The tokens with `url("#id")` rewritten as `url(#id)`, or None when any token is not
    allowed."""
    if depth > _MAX_NESTING:
        return None
    cleaned: list[ast.Node] = []
    for token in cast("Iterable[ComponentValue]", tokens):
        if token.type == "comment":
            continue
        if token.type in _SIMPLE_VALUE_TOKENS or _is_value_literal(token):
            cleaned.append(token)
        elif token.type == "url":
            if not _is_fragment_url(token.value):
                return None
            cleaned.append(_url_token(token))
        elif token.type == "function" and token.lower_name == "url":
            url = _quoted_url(token)
            if url is None:
                return None
            cleaned.append(url)
        elif token.type == "function" and token.lower_name in CSS_FUNCTIONS:
            arguments = _clean_value(token.arguments, depth + 1)
            if arguments is None:
                return None
            cleaned.append(
                ast.FunctionBlock(token.source_line, token.source_column, token.name, arguments)
            )
        elif token.type in ("() block", "[] block"):
            content = _clean_value(token.content, depth + 1)
            if content is None:
                return None
            block = type(token)(token.source_line, token.source_column, content)
            cleaned.append(block)
        else:
            return None
    return cleaned


def _is_value_literal(token: ComponentValue) -> bool:
    return token.type == "literal" and token.value in _VALUE_LITERALS


def _quoted_url(function: ast.FunctionBlock) -> ast.URLToken | None:
    values = cast("list[ComponentValue]", function.arguments)
    arguments = [t for t in values if t.type not in ("whitespace", "comment")]
    if len(arguments) != 1 or arguments[0].type != "string":
        return None
    if not _is_fragment_url(arguments[0].value):
        return None
    return _url_token(arguments[0])


def _url_token(token: ast.URLToken | ast.StringToken) -> ast.URLToken:
    value = token.value.strip()
    return ast.URLToken(token.source_line, token.source_column, value, f"url({value})")


def _is_fragment_url(value: str) -> bool:
    written = value.strip()
    return written.startswith("#") and is_fragment_id(written[1:])


def _clean_selector(prelude: list[ast.Node]) -> str | None:
    if not _is_plain_selector(prelude):
        return None
    text = tinycss2.serialize(prelude).strip()
    if not text or _trips(text, _CSS_TRIPWIRES):
        return None
    return text


def _is_plain_selector(tokens: Iterable[ast.Node], depth: int = 0) -> bool:
    if depth > _MAX_NESTING:
        return False
    for token in cast("Iterable[ComponentValue]", tokens):
        if token.type in ("whitespace", "ident", "hash", "string", "number", "dimension"):
            continue
        if token.type == "literal" and all(ch in _SELECTOR_LITERALS for ch in token.value):
            continue
        if token.type == "[] block" and _is_plain_selector(token.content, depth + 1):
            continue
        if (
            token.type == "function"
            and token.lower_name in SELECTOR_FUNCTIONS
            and _is_plain_selector(token.arguments, depth + 1)
        ):
            continue
        return False
    return True


def _trips(text: str, tripwires: tuple[str, ...]) -> bool:
    compact = "".join(text.split()).lower()
    if any(wire in compact for wire in tripwires):
        return True
    return _has_external_url(compact)


def _has_external_url(compact: str) -> bool:
    """Whether lower-cased, space-free text holds a `url(` not followed by `#` (optionally
    quoted)."""
    start = compact.find("url(")
    while start != -1:
        position = start + 4
        while compact.startswith(("'", '"'), position):
            position += 1
        if not compact.startswith("#", position):
            return True
        start = compact.find("url(", position)
    return False
