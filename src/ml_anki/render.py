"""`SourceNote` → `RenderedNote`: the HTML of every field, the figures it needs, a content hash.

Markdown is Python-Markdown with named extensions: arithmatex turns `$…$`/`$$…$$` into the
`\\(…\\)`/`\\[…\\]` delimiters Anki's MathJax reads (TeX untouched by Markdown), highlight +
superfences colour code with Pygments CSS classes (the note type's CSS carries the themes), and
our own tree processor replaces figure paths with their content-addressed media names. The
result passes an allowlist sanitizer: cards run in a webview on other people's phones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from pathlib import Path

import nh3

from . import media as media_mod
from .attributes import cloze_numbers
from .errors import Problem, SourceSpan
from .notetype import Kind
from .source import SourceNote

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
    kind: Kind = "qa"
    content_hash: str = field(init=False, compare=False)
    """Changes exactly when what a learner sees on the card changes (computed, never passed)."""
    computed_before: InitVar[str] = ""
    """`content_hash` as computed when these very fields were rendered: the render cache keeps
    it with them, so that a hit costs no hashing."""

    def __post_init__(self, computed_before: str) -> None:
        if computed_before:
            object.__setattr__(self, "content_hash", computed_before)
            return
        parts: list[object] = [self.id, self.question_html, self.context_html, self.answer_html,
                               self.references_html, list(self.tags)]  # fmt: skip
        if self.kind != "qa":  # Q&A notes keep the hashes their lock entries have
            parts.append(self.kind)
        payload = json.dumps(parts, ensure_ascii=False)
        object.__setattr__(self, "content_hash", hashlib.sha256(payload.encode()).hexdigest()[:16])

    @property
    def card_ords(self) -> tuple[int, ...]:
        return card_ords(self.kind, self.answer_html)


def card_ords(kind: Kind, answer_html: str) -> tuple[int, ...]:
    """The cards Anki makes of a note: one per template, or one per cloze number (`c1` is ord
    0) found in the field the cloze template shows (the answer's)."""
    if kind == "cloze":
        return tuple(n - 1 for n in cloze_numbers(answer_html) if n > 0)
    return (0, 1) if kind == "reverse" else (0,)


class Renderer:
    """One configured Markdown pipeline, reused for every note (building it is the slow part)."""

    def __init__(self, media_dir: Path, tag_prefix: str) -> None:
        # Imported here: a build whose notes all come from the cache never loads Markdown.
        from .markdown_ext import FigureContext, make_markdown

        self.media_dir = media_dir
        self.tag_prefix = tag_prefix
        self._figures = FigureContext(media_dir=media_dir)
        self._md = make_markdown(self._figures)

    def markdown(self, text: str, card_path: Path, first_line: int) -> tuple[str, list[Problem]]:
        ctx = self._figures
        ctx.card_path, ctx.source_md, ctx.first_line = card_path, text, first_line
        ctx.media, ctx.problems = [], []
        html = self._md.reset().convert(text)
        return sanitize(html), list(ctx.problems)

    def inline(self, text: str, card_path: Path, line: int) -> tuple[str, list[Problem]]:
        if PLAIN_TEXT.fullmatch(text):
            # Most questions are plain words: Markdown and the sanitizer would give them back
            # as they are (tested), at a cost of a whole Markdown pass per question.
            return text, []
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
        if note.kind == "cloze":
            answer_html = protect_cloze_math(answer_html)
        own_tags = (f"{self.tag_prefix}::{tag}" for tag in note.tags)
        rendered = RenderedNote(
            id=note.id,
            question_html=question_html,
            context_html=context_html,
            answer_html=answer_html,
            references_html=references_html,
            tags=tuple(dict.fromkeys((self.topic_tag(note.path), *own_tags))),
            media=tuple(sorted(figures, key=lambda m: m.name)),
            question_text=note.question,
            where=note.where,
            kind=note.kind,
        )
        return rendered, problems

    def topic_tag(self, card_path: Path) -> str:
        """`cards/03-relu-nonlinearity.md` → `<prefix>::relu-nonlinearity`."""
        topic = re.sub(r"^\d+[-_ ]*", "", card_path.stem).lower()
        topic = re.sub(r"[^\w-]+", "-", topic).strip("-") or "misc"
        return f"{self.tag_prefix}::{topic}"


PLAIN_TEXT = re.compile(r"[^\W\d_](?:[^\x00-\x20\x7f-\xa0\\`*_{}\[\]<>#&$|\s]| (?! ))*(?<! )")
"""Text that is one paragraph of itself in Markdown and in HTML: it starts with a letter (not a
list, heading or quote) and has no character Markdown or HTML give a meaning to (escapes, code,
emphasis, links, math, tags, entities, tables), no control characters, no-break spaces (which
the sanitizer writes as `&nbsp;`) and no run of spaces."""
_MATH = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
_CLOZE_OPEN = re.compile(r"\{\{c\d+::")


def protect_cloze_math(html: str) -> str:
    """Keep TeX's own `}}` from ending a cloze deletion: Anki ends one at the first `}}`, even
    inside `\\(…\\)`, so `{{c1::$\\frac{1}{x^{2}}$}}` would end after `x^{2`. A space between
    two closing braces of TeX (`x^{2} }`) means the same to MathJax and nothing to Anki.

    A deletion opened inside the formula (`$\\frac{ {{c1::1}} }{x}$`, Anki's cloze in MathJax)
    keeps its own `}}`, told apart by counting the formula's braces."""

    def fix(match: re.Match[str]) -> str:
        tex = match.group(0)
        out: list[str] = []
        depth = [0]  # TeX brace depth, one counter per deletion opened inside the formula
        i = 0
        while i < len(tex):
            opening = _CLOZE_OPEN.match(tex, i)
            if opening:
                out.append(opening.group(0))
                depth.append(0)
                i = opening.end()
                continue
            char = tex[i]
            if char == "{":
                depth[-1] += 1
            elif char == "}":
                if depth[-1] == 0 and len(depth) > 1 and tex.startswith("}}", i):
                    depth.pop()
                    out.append("}}")
                    i += 2
                    continue
                if depth[-1] > 0:
                    depth[-1] -= 1
                    if tex.startswith("}", i + 1):  # TeX's brace, then another: keep apart
                        out.append("} ")
                        i += 1
                        continue
            out.append(char)
            i += 1
        return "".join(out)

    return _MATH.sub(fix, html)


def sanitize(html: str) -> str:
    """Keep what content needs; drop scripts, event handlers, `javascript:` URLs, frames."""
    return _cleaner().clean(html)


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """One sanitizer per process: building one compiles the allowlists, which costs more than
    cleaning a field with it (`nh3.clean` builds a new one on every call)."""
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=_keep_attribute,
        link_rel="noopener noreferrer",
    )


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        # Only the alignment Markdown tables emit; inline colours would break night mode.
        return value if _TABLE_ALIGN.fullmatch(value.strip()) else None
    if tag == "img" and attribute == "src" and (":" in value or "/" in value):
        return None  # a remote or nested path never reaches a card; figures are flat media names
    if attribute == "href" and value.lstrip().startswith("//"):
        return None  # protocol-relative: a remote URL the scheme allowlist would not see
    return value


RenderJob = tuple[SourceNote, "SourceNote | None"]
"""A note and its parent (for a sub-question's context)."""

PARALLEL_FROM = 400
"""Below this many notes, starting worker processes costs more than it saves."""

SourceCheck = Callable[[SourceNote, RenderedNote], list[Problem]]
"""Further checks of a note's source and what it rendered to, run where the note renders (in
parallel with it)."""

_worker_renderer: Renderer | None = None
_worker_check: SourceCheck | None = None


def _start_worker(media_dir: Path, tag_prefix: str, also: SourceCheck | None) -> None:
    global _worker_renderer, _worker_check
    _worker_renderer = Renderer(media_dir, tag_prefix)
    _worker_check = also


def _render_in_worker(job: RenderJob) -> tuple[RenderedNote, list[Problem]]:
    assert _worker_renderer is not None, "initializer not run"
    return _render_and_check(_worker_renderer, job, _worker_check)


def _render_and_check(
    renderer: Renderer, job: RenderJob, also: SourceCheck | None
) -> tuple[RenderedNote, list[Problem]]:
    rendered, problems = renderer.note(*job)
    if also is not None:
        problems += also(job[0], rendered)
    return rendered, problems


def render_many(
    jobs: list[RenderJob],
    media_dir: Path,
    tag_prefix: str,
    workers: int,
    progress: Callable[[int], None] | None = None,
    also: SourceCheck | None = None,
) -> list[tuple[RenderedNote, list[Problem]]]:
    """Render every job, in order, on `workers` processes when there are enough of them.

    Each note renders independently of the others, so the result is the same whichever
    process rendered it; order is kept by `map`.
    """
    if not jobs:
        return []
    if workers <= 1 or len(jobs) < PARALLEL_FROM:
        renderer = Renderer(media_dir, tag_prefix)
        results = []
        for job in jobs:
            results.append(_render_and_check(renderer, job, also))
            if progress is not None:
                progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    # Small enough chunks that no worker sits idle long at the end while another finishes a
    # big one; large enough that passing them between processes stays cheap.
    chunk = max(16, len(jobs) // (workers * 32))
    with ProcessPoolExecutor(
        workers, initializer=_start_worker, initargs=(media_dir, tag_prefix, also)
    ) as pool:
        results = []
        for result in pool.map(_render_in_worker, jobs, chunksize=chunk):
            results.append(result)
            if progress is not None:
                progress(1)
        return results
