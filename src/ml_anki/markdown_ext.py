"""Our additions to Python-Markdown, as named processors at explicit priorities.

- `FigureProcessor` rewrites `<img src>` from a path relative to the card file to the figure's
  content-addressed media name, collecting the files to ship and any problem with its location.
- `highlight_fence` colours fenced code with one shared Pygments formatter and cached lexers
  (pymdownx.highlight builds a new formatter, stylesheet included, for every block: the slowest
  part of rendering a note).
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound
from pymdownx.arithmatex import (
    RE_BRACKET_INLINE,
    RE_SMART_DOLLAR_INLINE,
    ArithmatexExtension,
    InlineArithmatexPattern,
)

from . import media as media_mod
from .errors import Problem, SourceSpan

_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)


@dataclass(slots=True)
class FigureContext:
    card_path: Path = Path()
    media_dir: Path = Path()
    source_md: str = ""
    first_line: int = 1
    media: list[media_mod.MediaFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class FigureProcessor(Treeprocessor):  # type: ignore[misc]
    """Rewrites `<img src>` from a path relative to the card file to its media name."""

    def __init__(self, md: markdown.Markdown, context: FigureContext) -> None:
        super().__init__(md)
        self.context = context

    def run(self, root: etree.Element) -> None:
        for img in root.iter("img"):
            ref = img.get("src", "")
            try:
                found = media_mod.resolve(ref, self.context.card_path, self.context.media_dir)
            except media_mod.MediaRefError as exc:
                self.context.problems.append(Problem(self._where(ref), "error", str(exc)))
                continue
            img.set("src", found.name)
            if found not in self.context.media:
                self.context.media.append(found)

    def _where(self, ref: str) -> SourceSpan:
        ctx = self.context
        for offset, line in enumerate(ctx.source_md.split("\n")):
            end = line.find(f"]({ref}")
            if end >= 0:
                start = line.rfind("![", 0, end)
                return SourceSpan(ctx.card_path, ctx.first_line + offset, max(start, 0) + 1)
        return SourceSpan(ctx.card_path, ctx.first_line)


class FigureExtension(Extension):  # type: ignore[misc]
    def __init__(self, context: FigureContext) -> None:
        super().__init__()
        self.context = context

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Priority 15: after inline patterns (20) have created the <img> elements.
        md.treeprocessors.register(FigureProcessor(md, self.context), "ml_anki_figures", 15)


@cache
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        return TextLexer()  # an unknown language still shows, uncoloured


def highlight_fence(
    source: str, language: str | None, class_name: str, options: Any, md: Any, **kwargs: Any
) -> str:
    """superfences formatter: Pygments with CSS classes (the note type's CSS has the themes)."""
    # superfences passes None for a fence without a language; an exception here would make it
    # silently fall back to an inline code span.
    return str(highlight(source, _lexer((language or "").lower()), _FORMATTER)).rstrip("\n")


_CLOSING_DOLLAR = r"(?:\$))"
assert RE_SMART_DOLLAR_INLINE.endswith(_CLOSING_DOLLAR)
_NOT_BEFORE_A_DIGIT = RE_SMART_DOLLAR_INLINE.removesuffix(_CLOSING_DOLLAR) + r"(?:\$)(?!\d))"
INLINE_MATH = f"(?:{_NOT_BEFORE_A_DIGIT}|{RE_BRACKET_INLINE})"
"""arithmatex's inline math, except that a `$` followed by a digit never closes it: the rule
of Pandoc and most Markdown math extensions, so that `$5 and$10` stays text (prices). `lint`
reads math with this very pattern."""


class _Math(ArithmatexExtension):  # type: ignore[misc]
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        super().extendMarkdown(md)
        inline = InlineArithmatexPattern(INLINE_MATH, self.getConfigs())
        md.inlinePatterns.register(inline, "arithmatex-inline", 189.9)


def make_markdown(figures: FigureContext) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "tables",
            "sane_lists",
            "pymdownx.superfences",
            # generic: emit \(…\) and \[…\] for Anki's own MathJax, never a script of ours.
            _Math(generic=True),
            FigureExtension(figures),
        ],
        extension_configs={
            "pymdownx.superfences": {
                "custom_fences": [{"name": "*", "class": "highlight", "format": highlight_fence}]
            },
        },
        output_format="html",
    )
