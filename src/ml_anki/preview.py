"""`ml-anki preview`: every card, front and back, as static HTML pages that open in any browser.

Each side is rendered the way Anki renders it: the note type's own templates filled with the very
fields the package ships, under the note type's CSS, inside `<body class="card">`, with MathJax 3
configured as Anki configures it. `index.html` holds the toggles and shows `cards.html` in a
frame, because "phone width" must change the width the card's CSS sees (its media queries answer
to the frame, not to the window). Figures are copied beside the pages under their media names,
the bare file names Anki serves them by. Everything is rendered before anything is written.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .build import Progress, plan
from .config import DeckConfig
from .deck import Deck, Media, Note, NoteType, note_fields, note_label
from .errors import Problem, SourceSpan
from .files import atomic_write
from .memo import Memo
from .strings import Strings

MATHJAX_URL = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml-full.js"
"""The MathJax 3 build Anki bundles (tex-chtml-full), at the version the browser test pins."""

PHONE_WIDTH = 390
"""CSS pixels: a common phone (iPhone 12–15); cards must read well from 360 to 430."""

MATHJAX_CONFIG: Mapping[str, object] = {
    "tex": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": False,
        "processEnvironments": False,
        "processRefs": False,
        "packages": {"[+]": ["mathtools", "mhchem"], "[-]": ["noundefined"]},
    },
    "loader": {"load": ["[tex]/mathtools", "[tex]/mhchem"]},
    "options": {"ignoreHtmlClass": "tex2jax_ignore", "processHtmlClass": "tex2jax_process"},
}
"""Anki's own MathJax settings (its `ts/mathjax` config), with two deliberate differences.

Anki adds `noerrors`, which shows a broken formula as its raw source, and keeps `noundefined`,
which shows an unknown macro as red text: on a card both look like ordinary content. Here both
are left out, so every TeX mistake becomes a MathJax error (`mjx-merror`): red in the preview,
and detectable by the browser test.
"""

_TEMPLATE_TAG = re.compile(r"\{\{([#^/]?)([^{}]*)\}\}")
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_EMPTY_FIELD = re.compile(r"^(?:\s|</?(?:br|div) ?/?>)*$", re.IGNORECASE)
"""Anki's test for an empty field (rslib `field_is_empty`): whitespace, `<br>` and `<div>` only."""


@dataclass(frozen=True, slots=True)
class CardSides:
    """One card as Anki shows it, without the note type's CSS."""

    note_id: str
    card: str
    """Which of the note's cards: its template's name, or `cloze N`; empty for a note's only
    card."""
    front_html: str
    back_html: str
    where: SourceSpan | None
    """Where the note starts in the cards, so an author can go from the preview to the source;
    None for a retired note, which ships without being in the cards."""


@dataclass(frozen=True, slots=True)
class PreviewResult:
    index: Path
    """The page to open: toggles for night mode and phone width, the cards in a frame."""
    cards: tuple[CardSides, ...]
    notes: int
    media_count: int
    warnings: tuple[Problem, ...]


def fill_template(
    template: str, fields: Mapping[str, str], front_side: str = "", cloze: int | None = None
) -> str:
    """Anki's template language as our templates use it: `{{Field}}`, `{{#F}}…{{/F}}`,
    `{{^F}}…{{/F}}`, `{{FrontSide}}` and, for cloze number `cloze`, `{{cloze:F}}`. Anything
    else is a bug in `templates/`."""
    values = {**fields, "FrontSide": front_side}
    if cloze is not None:
        question = not front_side
        for name, value in fields.items():
            values[f"cloze:{name}"] = cloze_side(value, cloze, question=question)
    parts: list[str] = []
    sections: list[tuple[str, bool]] = []
    position = 0
    for tag in _TEMPLATE_TAG.finditer(template):
        shown = all(visible for _, visible in sections)
        if shown:
            parts.append(template[position : tag.start()])
        position = tag.end()
        kind, name = tag.group(1), tag.group(2).strip()
        if name not in values:
            raise ValueError(f"template tag {tag.group(0)!r}: no such field (or filter) here")
        if kind in ("#", "^"):
            filled = not _EMPTY_FIELD.match(values[name])
            sections.append((name, filled if kind == "#" else not filled))
        elif kind == "/":
            if not sections or sections[-1][0] != name:
                raise ValueError(f"template tag {tag.group(0)!r} closes a section never opened")
            sections.pop()
        elif shown:
            parts.append(values[name])
    if sections:
        raise ValueError(f"template section {{{{#{sections[-1][0]}}}}} is never closed")
    parts.append(template[position:])
    return "".join(parts)


def card_sides(deck: Deck, memo: Memo | None = None) -> tuple[CardSides, ...]:
    """Every card of every note, front and back, in the study guide's order.

    `memo` gives back the sides of notes an earlier build showed the same."""
    kinds = {kind.id: kind for kind in deck.notetypes}
    if memo is not None:
        # The remembered note type when it is equal: one comparison per note type here, and
        # each note's inputs below then hold the same object.
        for new in deck.notetypes:
            same = memo.notetypes.get(str(new.id), (new,))
            kinds[new.id] = (
                same if same is not None else memo.notetypes.put(str(new.id), (new,), new)
            )
    sides: list[CardSides] = []
    for note in deck.notes:
        kind = kinds.get(note.notetype_id)
        assert kind is not None, "a decided deck has the note type of each of its notes"
        # A note's place in the cards is not part of its equality; it is shown, though.
        inputs = (note, note.where, kind)
        known = memo.sides.get(note.guid, inputs) if memo is not None else None
        if known is None:
            known = _note_sides(note, note.where, kind)
            if memo is not None:
                memo.sides.put(note.guid, inputs, known)
        sides += known
    return tuple(sides)


def _note_sides(note: Note, where: SourceSpan | None, kind: NoteType) -> tuple[CardSides, ...]:
    fields = note_fields(kind, note)
    label = note_label(fields, note)
    sides = []
    for card in note.cards:
        template = kind.templates[0 if kind.cloze else card.ord]
        cloze = card.ord + 1 if kind.cloze else None
        front = fill_template(template.front, fields, cloze=cloze)
        back = fill_template(template.back, fields, front_side=front, cloze=cloze)
        if kind.cloze:
            name = f"cloze {card.ord + 1}" if len(note.cards) > 1 else ""
        else:
            name = template.name if len(kind.templates) > 1 else ""
        sides.append(CardSides(label, name, front, back, where))
    return tuple(sides)


def cloze_side(text: str, number: int, *, question: bool) -> str:
    """A field under Anki's `{{cloze:…}}` filter on card `number`: its deletion hidden as
    `[...]` (or `[hint]`) on the question, shown on the answer; the other deletions shown.

    The markup is the one Anki 23.10 and later emits (rslib `cloze.rs`). Deletions nested in
    deletions are not used by ml-anki decks and are not rendered here."""

    def replace(match: re.Match[str]) -> str:
        ordinal, content, hint = int(match.group(1)), match.group(2), match.group(3)
        if ordinal != number:
            return f'<span class="cloze-inactive" data-ordinal="{ordinal}">{content}</span>'
        if question:
            encoded = _attribute(content)
            return (
                f'<span class="cloze" data-cloze="{encoded}" data-ordinal="{ordinal}">'
                f"[{hint or '...'}]</span>"
            )
        return f'<span class="cloze" data-ordinal="{ordinal}">{content}</span>'

    return _CLOZE.sub(replace, text)


_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def _attribute(text: str) -> str:
    """Anki's encoding of an attribute value (the `htmlescape` crate's `encode_attribute`):
    ASCII letters and digits and non-ASCII kept, the rest as character references."""
    return "".join(
        c if c.isascii() and c.isalnum() or not c.isascii() else _NAMED.get(c, f"&#x{ord(c):X};")
        for c in text
    )


def is_url(value: str) -> bool:
    # One letter before the colon is a Windows drive (C:\…), not a scheme.
    return len(urlsplit(value).scheme) > 1


def mathjax_src(value: str, out_dir: Path) -> str:
    """A URL stays as given; a local file becomes a path relative to the preview's folder, so
    the preview also works offline and when the folder is served over HTTP."""
    if is_url(value):
        return value
    relative = os.path.relpath(Path(value).resolve(), out_dir.resolve())
    return Path(relative).as_posix()


@dataclass(frozen=True, slots=True)
class Pages:
    """The preview in memory: what `write` puts in a folder, and what `ml-anki watch` serves."""

    index_html: str
    cards_html: bytes
    """UTF-8, as written and served."""
    sides: tuple[CardSides, ...]
    media: tuple[Media, ...]
    """The figures the cards show, under their media names (`Media.source`: the file)."""


def pages(config: DeckConfig, deck: Deck, mathjax: str, memo: Memo | None = None) -> Pages:
    """Every card of `deck` as the preview's two pages; `mathjax` is the script's `src`.

    `memo` (a long-running process's) gives back what did not change since an earlier build."""
    sides = card_sides(deck, memo)
    css = "\n".join(dict.fromkeys(kind.css for kind in deck.notetypes))
    return Pages(
        index_page(config, sides, memo),
        cards_page(config, sides, css, mathjax, memo),
        sides,
        deck.media,
    )


def write(
    config: DeckConfig, out_dir: Path, mathjax: str, progress: Progress | None = None
) -> PreviewResult:
    """Render every card and write `index.html`, `cards.html` and the figures into `out_dir`.

    `mathjax` is the script's URL or local path. Nothing is written when a card has an error.
    """
    # The cards show what the next build would ship (the version line included: the lock's
    # version for unchanged notes, this one for new and edited notes): the deck it decides.
    planned = plan(config, progress)
    deck = planned.deck
    preview = pages(config, deck, mathjax_src(mathjax, out_dir))

    # The package ships exactly these figures, under these (content-addressed) names.
    for media in preview.media:
        assert media.source is not None, "a decided deck knows its media files"
        target, data = out_dir / media.name, media.source.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            atomic_write(target, data)
    atomic_write(out_dir / "cards.html", preview.cards_html)
    atomic_write(out_dir / "index.html", preview.index_html.encode())
    warnings = tuple(p for p in planned.checked.problems if p.severity == "warning")
    return PreviewResult(
        out_dir / "index.html", preview.sides, len(deck.notes), len(deck.media), warnings
    )


def _title(config: DeckConfig) -> str:
    return html.escape(f"{config.deck_name} v{config.version}")


def page_head(config: DeckConfig, page: str, *styles: str) -> str:
    """The start of a preview page (also `watch`'s error page), up to its open `<head>`'s styles."""
    style_tags = "\n".join(f"<style>\n{css}\n</style>" for css in styles)
    return f"""<!doctype html>
<html lang="{html.escape(config.strings.html_lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ml-anki preview">
<title>{_title(config)} · {page}</title>
{style_tags}"""


def index_page(config: DeckConfig, sides: Sequence[CardSides], memo: Memo | None = None) -> str:
    """The toolbar page: night mode and phone width toggles, a note picker, the cards' frame.

    `memo` gives back the note picker of an earlier build that showed the same notes."""
    note_ids = tuple(dict.fromkeys(s.note_id for s in sides))
    options = memo.pickers.get("", note_ids) if memo is not None else None
    if options is None:
        options = "\n".join(
            f'<option value="{html.escape(note_id)}">#{html.escape(note_id)}</option>'
            for note_id in note_ids
        )
        if memo is not None:
            memo.pickers.put("", note_ids, options)
    text = config.strings
    phone = text.preview_phone.format(px=PHONE_WIDTH)
    notes = len(note_ids)
    return f"""{page_head(config, "preview", _INDEX_CSS)}
</head>
<body>
<header class="bar">
<strong>{_title(config)}</strong>
<span class="count">{html.escape(text.preview_count.format(n=notes))}</span>
<label><input type="checkbox" id="night"> {html.escape(text.preview_night)}</label>
<label><input type="checkbox" id="phone" checked> {html.escape(phone)}</label>
<label>{html.escape(text.preview_jump)} <select id="jump">
{options}
</select></label>
</header>
<main><iframe id="cards" src="cards.html" title="cards"></iframe></main>
<script>
{_INDEX_JS}
</script>
</body>
</html>
"""


def cards_page(
    config: DeckConfig,
    sides: Sequence[CardSides],
    css: str,
    mathjax: str,
    memo: Memo | None = None,
) -> bytes:
    """Every card side under the note type's CSS, in `<body class="card">` as Anki has it; UTF-8.

    `memo` gives back the HTML of notes an earlier build showed the same."""
    by_note: dict[str, list[CardSides]] = {}
    for side in sides:
        by_note.setdefault(side.note_id, []).append(side)
    text = config.strings
    # Encoded note by note, so that a rebuild only copies the unchanged notes' bytes.
    sections = []
    for note_id, note_sides in by_note.items():
        inputs = (*note_sides, text)
        known = memo.sections.get(note_id, inputs) if memo is not None else None
        if known is None:
            known = _note_section(tuple(note_sides), text).encode()
            if memo is not None:
                memo.sections.put(note_id, inputs, known)
        sections.append(known)
    head = f"""{page_head(config, "cards", css, _CARDS_CSS)}
<script>
window.MathJax = {json.dumps(MATHJAX_CONFIG)};
</script>
<script id="MathJax-script" async src="{html.escape(mathjax)}"></script>
</head>
<body class="card">"""
    tail = f"""<script>
{_CARDS_JS}
</script>
</body>
</html>
"""
    # One line between the notes, and around them all (an empty line when there are none).
    return b"\n".join([head.encode(), *(sections or [b""]), tail.encode()])


def _note_section(cards: tuple[CardSides, ...], text: Strings) -> str:
    first = cards[0]
    note_id = html.escape(first.note_id)
    if first.where is None:
        where = html.escape(text.preview_retired)
    else:
        where = html.escape(f"{Path(first.where.path).as_posix()}:{first.where.line}")
    labels = {"front": text.preview_front, "back": text.preview_back}
    sides = "\n".join(
        f"""<div class="mlp-side mlp-{side}" data-side="{side}"><div class="mlp-label">{
            html.escape(labels[side] + (f" · {card.card}" if card.card else ""))
        }</div>
{card.front_html if side == "front" else card.back_html}
</div>"""
        for card in cards
        for side in ("front", "back")
    )
    return f"""<section class="mlp-note" id="note-{note_id}">
<div class="mlp-head"><a href="#note-{note_id}">#{note_id}</a><span>{where}</span></div>
{sides}
</section>"""


_INDEX_CSS = """\
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; background: #eaeef2; color: #1f2328;
  font: 14px/1.4 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans KR", sans-serif; }
body.night { background: #0d1117; color: #e6edf3; }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem 1.2rem;
  padding: 0.5rem 1rem; border-bottom: 1px solid #d0d7de; background: inherit; }
body.night .bar { border-color: #3d444d; }
.bar .count { opacity: 0.7; }
.bar label { display: inline-flex; align-items: center; gap: 0.3rem; cursor: pointer; }
main { flex: 1; display: flex; justify-content: center; min-height: 0; padding: 0.75rem; }
#cards { flex: 1; width: 100%; height: 100%; border: 1px solid #d0d7de; background: #fff; }
#cards.phone { flex: 0 0 auto; width: 390px; border: 10px solid #24292f; border-radius: 24px; }
body.night #cards { background: #1e1e1e; border-color: #3d444d; }
body.night #cards.phone { border-color: #000; }"""

_INDEX_JS = """\
const frame = document.getElementById("cards");
const night = document.getElementById("night");
const phone = document.getElementById("phone");
const jump = document.getElementById("jump");
// Pages opened from disk are separate origins to the browser: talk to the frame by message.
function apply() {
  document.body.classList.toggle("night", night.checked);
  frame.classList.toggle("phone", phone.checked);
  frame.contentWindow.postMessage({ nightMode: night.checked }, "*");
}
night.addEventListener("change", apply);
phone.addEventListener("change", apply);
frame.addEventListener("load", apply);
jump.addEventListener("change", () => frame.contentWindow.postMessage({ show: jump.value }, "*"));
apply();"""

_CARDS_CSS = """\
/* Preview only: the frame around each card. The cards themselves use the note type's CSS. */
.mlp-note { border-bottom: 0.6rem solid #d0d7de; padding-bottom: 0.5rem; }
.mlp-head { display: flex; justify-content: space-between; gap: 1rem; padding: 0.4rem 1rem 0;
  font: 0.75rem/1.4 ui-monospace, Menlo, Consolas, monospace; color: #656d76; }
.mlp-head a { color: inherit; font-weight: bold; }
.mlp-side + .mlp-side { border-top: 1px dashed #d0d7de; }
.mlp-label { padding: 0.3rem 1rem 0; font: 0.7rem/1.2 ui-monospace, Menlo, Consolas, monospace;
  letter-spacing: 0.08em; text-transform: uppercase; color: #8c959f; }
@media (min-width: 64rem) {
  /* Wide enough for two phones: front and back side by side. */
  .mlp-note { display: grid; grid-template-columns: 1fr 1fr; align-items: start; }
  .mlp-head { grid-column: 1 / -1; }
  .mlp-side + .mlp-side { border-top: 0; border-left: 1px dashed #d0d7de; }
}
.card.nightMode .mlp-note { border-color: #0d1117; }
.card.nightMode .mlp-side + .mlp-side { border-color: #3d444d; }
.card.nightMode .mlp-head, .card.nightMode .mlp-label { color: #8b949e; }"""

_CARDS_JS = """\
const notes = [...document.querySelectorAll("section.mlp-note")];
let reading = null;  // the note at the top of the frame, kept in view when the width changes
addEventListener("scroll", () => {
  reading = notes.find((note) => note.getBoundingClientRect().bottom > 1) ?? null;
}, { passive: true });
addEventListener("resize", () => reading?.scrollIntoView());
addEventListener("message", (event) => {
  const wish = event.data || {};
  if ("nightMode" in wish) document.body.classList.toggle("nightMode", Boolean(wish.nightMode));
  if (wish.show) document.getElementById("note-" + wish.show)?.scrollIntoView();
});"""
