"""`SourceNote` → `RenderedNote`: the HTML of every field, the figures it needs, a content hash.

Markdown is Python-Markdown with named extensions: arithmatex turns `$…$`/`$$…$$` into the
`\\(…\\)`/`\\[…\\]` delimiters Anki's MathJax reads (TeX untouched by Markdown), highlight +
superfences colour code with Pygments CSS classes (the note type's CSS carries the themes), and
our own tree processor replaces figure paths with their content-addressed media names. The
result passes an allowlist sanitizer: cards run in a webview on other people's phones.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from . import media as media_mod
from .errors import Problem, SourceSpan
from .source import SourceNote

RENDERER_VERSION = "1"
"""Bump when the same Markdown would render to different HTML (cache keys include it)."""

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan", "style"},
    "th": {"align", "colspan", "rowspan", "style"},
    "ol": {"start"},
}
_TABLE_ALIGN = re.compile(r"text-align: (left|right|center);?")


@dataclass(frozen=True, slots=True)
class RenderedNote:
    id: str
    question_html: str
    context_html: str
    """The parent question for a sub-question (`12-1` shows `12`'s question above its own)."""
    answer_html: str
    references_html: str
    tags: tuple[str, ...]
    media: tuple[media_mod.MediaFile, ...]
    question_text: str
    """The question as plain text: for summaries, the changelog and id-reuse checks."""
    where: SourceSpan

    @property
    def content_hash(self) -> str:
        """Changes exactly when what a learner sees on the card changes."""
        payload = json.dumps(
            [self.id, self.question_html, self.context_html, self.answer_html,
             self.references_html, list(self.tags)],
            ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(slots=True)
class _FigureContext:
    card_path: Path = Path()
    media_dir: Path = Path()
    source_md: str = ""
    first_line: int = 1
    media: list[media_mod.MediaFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _FigureProcessor(Treeprocessor):  # type: ignore[misc]
    """Rewrites `<img src>` from a path relative to the card file to its media name."""

    def __init__(self, md: markdown.Markdown, context: _FigureContext) -> None:
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


class _FigureExtension(Extension):  # type: ignore[misc]
    def __init__(self, context: _FigureContext) -> None:
        super().__init__()
        self.context = context

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Priority 15: after inline patterns (20) have created the <img> elements.
        md.treeprocessors.register(_FigureProcessor(md, self.context), "ml_anki_figures", 15)


class Renderer:
    """One configured Markdown pipeline, reused for every note (building it is the slow part)."""

    def __init__(self, media_dir: Path, tag_prefix: str) -> None:
        self.media_dir = media_dir
        self.tag_prefix = tag_prefix
        self._figures = _FigureContext(media_dir=media_dir)
        self._md = markdown.Markdown(
            extensions=[
                "tables",
                "sane_lists",
                "pymdownx.superfences",
                "pymdownx.highlight",
                "pymdownx.arithmatex",
                _FigureExtension(self._figures),
            ],
            extension_configs={
                # generic: emit \(…\) and \[…\] for Anki's own MathJax, never a script of ours.
                "pymdownx.arithmatex": {"generic": True},
                "pymdownx.highlight": {
                    "use_pygments": True,
                    "css_class": "highlight",
                    "guess_lang": False,
                },
            },
            output_format="html",
        )

    def markdown(self, text: str, card_path: Path, first_line: int) -> tuple[str, list[Problem]]:
        ctx = self._figures
        ctx.card_path, ctx.source_md, ctx.first_line = card_path, text, first_line
        ctx.media, ctx.problems = [], []
        html = self._md.reset().convert(text)
        return sanitize(html), list(ctx.problems)

    def inline(self, text: str, card_path: Path, line: int) -> tuple[str, list[Problem]]:
        html, problems = self.markdown(text, card_path, line)
        if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
            html = html[3:-4]
        return html, problems

    def note(
        self, note: SourceNote, parent: SourceNote | None
    ) -> tuple[RenderedNote, list[Problem]]:
        problems: list[Problem] = []
        question_html, found = self.inline(note.question, note.path, note.question_line)
        problems += found
        answer_html, found = self.markdown(note.body_md, note.path, note.body_line)
        problems += found
        figures = list(self._figures.media)
        references_html, found = self.markdown(note.refs_md, note.path, note.refs_line)
        problems += found
        figures += [m for m in self._figures.media if m not in figures]
        context_html = ""
        if parent is not None:
            context_html, _ = self.inline(parent.question, parent.path, parent.question_line)
        rendered = RenderedNote(
            id=note.id,
            question_html=question_html,
            context_html=context_html,
            answer_html=answer_html,
            references_html=references_html,
            tags=(self.topic_tag(note.path),),
            media=tuple(sorted(figures, key=lambda m: m.name)),
            question_text=note.question,
            where=note.where,
        )
        return rendered, problems

    def topic_tag(self, card_path: Path) -> str:
        """`cards/03-relu-nonlinearity.md` → `<prefix>::relu-nonlinearity`."""
        topic = re.sub(r"^\d+[-_ ]*", "", card_path.stem).lower()
        topic = re.sub(r"[^\w-]+", "-", topic).strip("-") or "misc"
        return f"{self.tag_prefix}::{topic}"


def sanitize(html: str) -> str:
    """Keep what content needs; drop scripts, event handlers, `javascript:` URLs, frames."""
    cleaned: str = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=_keep_attribute,
        link_rel="noopener noreferrer",
    )
    return cleaned


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        # Only the alignment Markdown tables emit; inline colours would break night mode.
        return value if _TABLE_ALIGN.fullmatch(value.strip()) else None
    if tag == "img" and attribute == "src" and (":" in value or "/" in value):
        return None  # a remote or nested path never reaches a card; figures are flat media names
    return value
