"""`ml-anki preview`: the pages it writes, the cards in them, and what Anki would show instead.

The preview fills the note type's templates itself; the proof that it shows what a learner sees
is a comparison with the card HTML the official `anki` library renders after a real import.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from conftest import BASICS, RELU_SVG, Project
from learner import Learner
from ml_anki import notetype
from ml_anki.preview import MATHJAX_URL, fill_template

FIELDS = {"Question": "Q?", "Context": "", "Answer": "<p>A</p>", "Extra": "<br>"}


def test_templates_fill_fields_sections_and_front_side() -> None:
    template = (
        "{{#Context}}[{{Context}}]{{/Context}}{{^Context}}no context{{/Context}} {{Question}}"
    )
    assert fill_template(template, FIELDS) == "no context Q?"
    assert fill_template(template, {**FIELDS, "Context": "P"}) == "[P] Q?"
    # Anki counts a field holding only whitespace, <br> or <div> as empty.
    assert fill_template("{{#Extra}}shown{{/Extra}}", FIELDS) == ""
    assert fill_template("{{FrontSide}}<hr>{{Answer}}", FIELDS, "Q?") == "Q?<hr><p>A</p>"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{Hint}}", "template tag '{{Hint}}': no such field (or filter) here"),
        ("{{text:Question}}", "template tag '{{text:Question}}': no such field (or filter) here"),
        ("{{#Question}}x", "template section {{#Question}} is never closed"),
        ("x{{/Question}}", "template tag '{{/Question}}' closes a section never opened"),
    ],
)
def test_template_syntax_the_preview_cannot_render_is_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        fill_template(template, FIELDS)
    assert str(error.value) == message


def test_preview_writes_pages_and_figures_and_prints_the_page_last(project: Project) -> None:
    result = project.cli("preview")
    assert result.exit_code == 0, result.output
    assert result.stdout == "3 notes, 6 card sides · 1 media files\npreview/index.html\n"
    assert result.stderr == ""
    written = sorted(p.name for p in (project.root / "preview").iterdir())
    figure = _relu_media_name(project)
    assert written == ["cards.html", "index.html", figure]
    assert project.read(f"preview/{figure}") == RELU_SVG
    assert not (project.root / "dist").exists() and not project.lock.exists()


def _relu_media_name(project: Project) -> str:
    cards = project.read("preview/cards.html")
    names = re.findall(r'<img[^>]* src="([^"]+)"', cards)
    assert len(names) == 1 and re.fullmatch(r"relu-[0-9a-f]{8}\.svg", names[0])
    return names[0]


def test_every_note_is_in_the_preview_front_and_back(project: Project) -> None:
    project.cli("preview")
    cards = project.read("preview/cards.html")
    assert re.findall(r'<section class="mlp-note" id="note-([^"]+)"', cards) == ["1", "2", "2-1"]
    assert cards.count('data-side="front"') == 3 and cards.count('data-side="back"') == 3
    assert '<body class="card">' in cards
    assert notetype.look().css in cards
    # Sub-question: the parent question shows above its own, on both sides.
    section = cards[cards.index('id="note-2-1"') :]
    assert section.count('<div class="mla-context">Why a bias?</div>') == 2
    assert "cards/01-basics.md:34" in section
    assert "#2-1 · v1.0.0" in section


def test_the_index_page_has_the_toggles_and_shows_the_cards(project: Project) -> None:
    project.cli("preview")
    index = project.read("preview/index.html")
    assert '<input type="checkbox" id="night">' in index
    assert '<input type="checkbox" id="phone" checked>' in index
    assert '<iframe id="cards" src="cards.html"' in index
    assert re.findall(r'<option value="([^"]+)">', index) == ["1", "2", "2-1"]
    assert "<title>Sample deck v1.0.0 · preview</title>" in index


def test_mathjax_comes_from_the_cdn_a_url_or_a_local_file(project: Project) -> None:
    def script(cards: str) -> str:
        found = re.search(r'<script id="MathJax-script" async src="([^"]+)"></script>', cards)
        assert found is not None
        return found.group(1)

    project.cli("preview")
    assert script(project.read("preview/cards.html")) == MATHJAX_URL
    assert MATHJAX_URL.startswith("https://cdn.jsdelivr.net/npm/mathjax@3")
    cards = project.read("preview/cards.html")
    assert "window.MathJax = " in cards and '"processEscapes": false' in cards

    project.cli("preview", "--mathjax-url", "https://example.test/mj/tex-chtml.js")
    assert script(project.read("preview/cards.html")) == "https://example.test/mj/tex-chtml.js"

    project.write("vendor/mathjax/tex-chtml-full.js", "// MathJax\n")
    result = project.cli(
        "preview", "--out", "site/preview", "--mathjax-url", "vendor/mathjax/tex-chtml-full.js"
    )
    assert result.exit_code == 0, result.output
    # Relative to the pages, so the folder works from disk and over HTTP alike.
    assert (
        script(project.read("site/preview/cards.html")) == "../../vendor/mathjax/tex-chtml-full.js"
    )


def test_a_mathjax_url_that_is_no_url_and_no_file_is_a_usage_error(project: Project) -> None:
    result = project.cli("preview", "--mathjax-url", "nowhere/tex.js")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--mathjax-url': 'nowhere/tex.js' is neither a URL nor a file"
        in result.stderr
    )
    assert not (project.root / "preview").exists()


def test_source_errors_are_reported_and_nothing_is_written(project: Project) -> None:
    project.write(
        "cards/01-basics.md",
        BASICS.replace("The intercept.", "The intercept.\n\n![b](../media/nope.svg)"),
    )
    result = project.cli("preview")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "cards/01-basics.md:40:1: error: image '../media/nope.svg' not found "
        "(files in media/: relu.svg)\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert not (project.root / "preview").exists()


def test_open_launches_the_index_page(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[str] = []
    monkeypatch.setattr(click, "launch", lambda url, **_: launched.append(url) or 0)
    result = project.cli("preview", "--open", "--out", "look")
    assert result.exit_code == 0, result.output
    assert launched == [str(Path("look") / "index.html")]


def test_the_version_line_shows_the_version_each_note_last_changed_in(project: Project) -> None:
    project.build()
    project.set_version("1.1.0")
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The intercept, b."))
    project.cli("preview")
    cards = project.read("preview/cards.html")
    assert '<div class="mla-meta">#1 · v1.0.0</div>' in cards
    assert '<div class="mla-meta">#2-1 · v1.1.0</div>' in cards


def test_every_card_side_is_exactly_what_anki_renders(project: Project, learner: Learner) -> None:
    learner.import_deck(project.build())
    project.cli("preview")
    cards = project.read("preview/cards.html")
    style = f"<style>{notetype.look().css}</style>"
    for note_id in ("1", "2", "2-1"):
        front, back = learner.card_html(note_id)
        section = cards[cards.index(f'id="note-{note_id}"') :]
        assert front.startswith(style) and back.startswith(style)
        expected_front = f'<div class="mlp-label">front</div>\n{front.removeprefix(style)}\n</div>'
        expected_back = f'<div class="mlp-label">back</div>\n{back.removeprefix(style)}\n</div>'
        assert expected_front in section.split("</section>")[0]
        assert expected_back in section.split("</section>")[0]


def test_every_night_mode_rule_also_answers_to_older_ankidroids_class() -> None:
    """Older AnkiDroid releases mark night mode `night_mode`; every other client `nightMode`."""
    rules = re.findall(
        r"([^{}]+)\{[^{}]*\}", re.sub(r"/\*.*?\*/", "", notetype.look().css, flags=re.DOTALL)
    )
    night_rules = 0
    for selectors in rules:
        listed = {s.strip() for s in selectors.split(",")}
        for selector in listed:
            if ".nightMode" in selector:
                night_rules += 1
                assert selector.replace(".nightMode", ".night_mode") in listed, selector
    assert night_rules > 50
