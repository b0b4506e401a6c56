"""Rendering: Markdown, math, code and figures as the card's fields will hold them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_anki.render import PLAIN_TEXT, Renderer, sanitize
from ml_anki.source import load

GOLDEN = Path(__file__).parent / "golden"


def render(text: str, media_dir: Path = Path("media"), card: Path = Path("cards/x.md")) -> str:
    html, problems = Renderer(media_dir, "t").markdown(text, card, 1)
    assert problems == []
    return html


@pytest.mark.parametrize("source", sorted(GOLDEN.glob("*.md")), ids=lambda p: p.stem)
def test_golden(source: Path, request: pytest.FixtureRequest) -> None:
    html = render(source.read_text(encoding="utf-8"))
    expected = source.with_suffix(".html")
    if request.config.getoption("--update-golden"):
        expected.write_text(html, encoding="utf-8")
    assert html == expected.read_text(encoding="utf-8"), (
        "run pytest --update-golden and review the diff"
    )


def test_tex_reaches_the_field_untouched_by_markdown() -> None:
    html = render("$a_b * c_d \\\\ e$ and\n\n$$x_1 * y_2$$\n")
    assert r"\(a_b * c_d \\ e\)" in html
    assert r"\[x_1 * y_2\]" in html
    assert "<em>" not in html


def test_escaped_dollar_is_a_plain_dollar_on_the_card() -> None:
    assert render(r"costs \$5 or \$6") == "<p>costs $5 or $6</p>"


def test_dollars_in_code_are_never_math() -> None:
    html = render("`$x$`\n\n```\n$y$\n```\n")
    assert "arithmatex" not in html and "\\(" not in html


def test_math_in_lists_and_tables() -> None:
    html = render("- $a_1$\n\n| h |\n|---|\n| $b_2$ |\n")
    assert r"<li><span class=" in html and r"\(a_1\)" in html
    assert r'<td><span class="arithmatex">\(b_2\)</span></td>' in html


def test_code_is_highlighted_with_classes_not_inline_styles() -> None:
    html = render("```python\nimport numpy as np\n```\n")
    assert '<div class="highlight">' in html
    assert '<span class="kn">import</span>' in html
    assert "style=" not in html


def test_figure_gets_its_content_addressed_name(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "ReLU Plot.svg").write_text("<svg/>")
    renderer = Renderer(tmp_path / "media", "t")
    html, problems = renderer.markdown(
        "![relu](../media/ReLU%20Plot.svg)", tmp_path / "cards" / "a.md", 1
    )
    assert problems == []
    assert '<img alt="relu" src="relu-plot-' in html and html.count(".svg") == 1


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "../media/missing.svg",
            "image '../media/missing.svg' not found (files in media/: ok.svg)",
        ),
        ("../secret.svg", "image '../secret.svg' is outside media/"),
        ("/etc/passwd", "absolute image path '/etc/passwd'"),
        (
            "https://example.org/x.png",
            "remote image 'https://example.org/x.png': cards are reviewed offline",
        ),
    ],
)
def test_bad_figures_are_errors_at_their_line(tmp_path: Path, ref: str, message: str) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "ok.svg").write_text("<svg/>")
    (tmp_path / "secret.svg").write_text("<svg/>")
    renderer = Renderer(tmp_path / "media", "t")
    _, problems = renderer.markdown(f"text\n\nsee ![x]({ref})", tmp_path / "cards" / "a.md", 10)
    (problem,) = problems
    assert (problem.where.line, problem.where.col) == (12, 5)
    assert problem.message.startswith(message)


def test_symlink_out_of_media_is_refused_and_never_read(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "private.svg").write_text("<svg>secret</svg>")
    (tmp_path / "media" / "link.svg").symlink_to(tmp_path / "private.svg")
    _, problems = Renderer(tmp_path / "media", "t").markdown(
        "![x](../media/link.svg)", tmp_path / "cards" / "a.md", 1
    )
    assert "outside media/" in problems[0].message


def test_sanitizer_removes_scripts_handlers_and_javascript_urls() -> None:
    dirty = (
        '<p onclick="x()">hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a>'
        '<iframe src="https://e.org"></iframe><kbd>Ctrl</kbd><sub>2</sub><details><summary>s</summary>d</details>'
    )
    assert sanitize(dirty) == (
        '<p>hi</p><a rel="noopener noreferrer">x</a><kbd>Ctrl</kbd><sub>2</sub>'
        "<details><summary>s</summary>d</details>"
    )


def test_a_fence_without_a_language_is_a_code_block_with_its_lines() -> None:
    html = render("text\n\n```\nline1\nline2 $x$\n```\n")
    assert '<div class="highlight"><pre><span></span><code>line1\nline2 $x$\n</code></pre></div>' in html


def test_protocol_relative_links_are_removed() -> None:
    assert sanitize('<a href="//evil.example/x">x</a>') == '<a rel="noopener noreferrer">x</a>'


# Words and signs questions are made of, and any character at all in between.
question_words = [
    "ReLU", "는", "왜", "비선형", " ", "?", "!", ".", ",", ":", ";", "'", '"', "(", ")", "-", "+", "=",
    "/", "%", "@", "^", "~", "é", "x2", "1", "1. ", "- ", "> ", "e.g.", "\u00a0", "\u200b", "\u3000",
]  # fmt: skip
question_pieces = st.one_of(
    st.sampled_from(question_words), st.characters(codec="utf-8", exclude_categories=("Cs",))
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(question_pieces, min_size=1, max_size=8).map("".join))
def test_plain_questions_skip_markdown_and_come_out_as_markdown_makes_them(text: str) -> None:
    """`inline` returns text with no Markdown in it as it is: exactly what the whole pipeline
    (Markdown, then the sanitizer) makes of it."""
    renderer = Renderer(Path("media"), "t")
    html, problems = renderer.markdown(text, Path("cards/x.md"), 1)
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    assert renderer.inline(text, Path("cards/x.md"), 1) == (html, problems)


def test_the_questions_of_this_deck_are_plain() -> None:
    """They take the shortcut (and the test above shows it gives what Markdown gives)."""
    questions = [note.question for note in load(Path(__file__).parent.parent / "cards").notes]
    assert len(questions) > 40
    assert [q for q in questions if not PLAIN_TEXT.fullmatch(q)] == []
