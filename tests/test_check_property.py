"""Random sources through `check` and `build`: never a traceback. Either clean errors, one
`path:line:col: severity: message` per line and nothing written, or a deck that the official
`anki` importer accepts with every note, and with nothing unsafe in any field.

Sources are random Markdown made of the pieces cards are made of (notes, math, tables, code,
figures, raw HTML) mixed with random Unicode (Hangul, decomposed jamo, combining marks, RTL
scripts and marks, emoji with joiners) and random bytes, with BOMs and CRLFs.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import PYPROJECT, RELU_SVG
from learner import Learner
from ml_anki.cli import main

PROBLEM_LINE = re.compile(r"^[^:\n]+(?::\d+(?::\d+)?)?: (?:error|warning): \S.*$")
SUMMARY_LINE = re.compile(r"^ml-anki: \d+ errors?; nothing was written$")

unicode_chars = st.one_of(
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),  # Hangul syllables
    st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),  # jamo, as NFD input has them
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
    st.characters(min_codepoint=0x0590, max_codepoint=0x06FF),  # Hebrew and Arabic (RTL)
    st.sampled_from(["\u200f", "\u200e", "\u202e", "\u200d", "\ufe0f", "\u00a0", "\t"]),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.characters(codec="utf-8", exclude_categories=("Cs",)),  # anything at all
)
markdown_pieces = st.sampled_from([
    "$", "$$", "\\$", "$x$", "$\\frac{a}{b}$", "\\frac{", "}", "{", "\\alpha", "\\alpah", "|",
    "\\lvert", "\\begin{aligned}", "\\end{aligned}", "&", "%", "#", "\\left(", "\\right)",
    "`", "```", "```python\n", "\n```\n", "    ", "- ", "1. ", "#### ", "## ", "> ", "**", "_",
    "| a | b |\n|---|---|\n", "![relu](../media/relu.svg)", "![x](../media/missing.svg)",
    "![x](../../etc/passwd)", "![x](https://example.org/x.png)", "[link](https://e.org)",
    "<script>alert(1)</script>", "<b onclick='x()'>", "</b>", "<kbd>", "<details>",
    "<a href='javascript:x'>", "<!--", "-->", "\n", "\n\n", " ", "x", "\\", "\r\n",
])  # fmt: skip
text = st.lists(st.one_of(markdown_pieces, st.text(unicode_chars, max_size=6)), max_size=14).map(
    "".join
)
one_line = text.map(lambda t: " ".join(t.split()) or "Q")
note_id = st.one_of(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,4}\Z"), one_line)


@st.composite
def card_file(draw: st.DrawFn) -> str:
    notes = draw(st.lists(st.tuples(note_id, one_line, text, text), min_size=1, max_size=3))
    toc = "".join(f"- [{q}](#{i})\n" for i, q, _, _ in notes if draw(st.booleans()))
    parts = [draw(text) + "\n\n" + toc]
    for identifier, question, answer, references in notes:
        parts.append(f"\n## #{identifier}\n\n### {question}\n\n{answer}\n")
        if references:
            parts.append(f"\n##### References\n\n{references}\n")
    return "".join(parts)


def encoded(source: str, bom: bool, crlf: bool) -> bytes:
    raw = (source.replace("\n", "\r\n") if crlf else source).encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" if bom else b"") + raw


card_bytes = st.one_of(
    st.builds(encoded, card_file(), st.booleans(), st.booleans()),
    st.builds(encoded, text, st.booleans(), st.booleans()),
    st.binary(max_size=120),
)


@contextlib.contextmanager
def deck_project(cards: list[bytes]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(PYPROJECT.format(version="1.0.0"), encoding="utf-8")
        (root / "media").mkdir()
        (root / "media" / "relu.svg").write_text(RELU_SVG, encoding="utf-8")
        (root / "cards").mkdir()
        for n, data in enumerate(cards, 1):
            (root / "cards" / f"{n:02d}-topic.md").write_bytes(data)
        with contextlib.chdir(root):
            yield root


def run(*args: str, root: Path) -> Result:
    env = {"SOURCE_DATE_EPOCH": "1800000000", "ML_ANKI_CACHE_DIR": str(root / "cache")}
    return CliRunner().invoke(main, list(args), env=env)


def assert_clean_failure_or_success(result: Result) -> None:
    """No traceback: exit 0, or exit 1 with one located problem per line and a summary."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # pytest then shows the traceback a user would have seen
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert lines and SUMMARY_LINE.match(lines[-1]), result.stderr
        lines = lines[:-1]
    for line in lines:
        assert PROBLEM_LINE.match(line), line


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(card_bytes, min_size=1, max_size=3))
def test_check_never_crashes_and_reports_each_problem_on_one_line(cards: list[bytes]) -> None:
    with deck_project(cards) as root:
        text = run("check", root=root)
        assert_clean_failure_or_success(text)
        as_json = run("check", "--format", "json", root=root)
        problems = json.loads(as_json.stdout)
        assert as_json.exit_code == text.exit_code
        assert [f"{p['severity']}: {p['message']}" for p in problems] == [
            line.split(": ", 1)[1] for line in text.stderr.splitlines()[: len(problems)]
        ]


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(card_bytes, min_size=1, max_size=2))
def test_build_gives_clean_errors_or_a_deck_anki_accepts(cards: list[bytes]) -> None:
    with deck_project(cards) as root:
        checked = run("check", root=root)
        assert_clean_failure_or_success(checked)
        built = run("build", root=root)
        assert_clean_failure_or_success(built)
        assert built.exit_code == checked.exit_code, (checked.output, built.output)
        event("a deck was built" if built.exit_code == 0 else "clean errors, nothing written")
        if built.exit_code == 1:
            assert not (root / "dist").exists() and not (root / "ml-anki.lock").exists()
            return
        deck = root / built.stdout.strip().splitlines()[-1]
        learner = Learner(root / "learner" / "collection.anki2")
        try:
            log = learner.import_deck(deck)
            notes = learner.notes()
        finally:
            learner.close()
        total = int(built.stdout.split(" notes:")[0])
        assert len(log.new) == len(notes) == total
        for note in notes.values():
            for field_html in note.values():
                assert_safe(field_html)


class _Unsafe(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "iframe", "object", "embed", "frame", "form"):
            self.found.append(f"<{tag}>")
        for attribute, value in attrs:
            url = (value or "").strip().lower()
            if attribute.startswith("on") or url.startswith(("javascript:", "data:", "vbscript:")):
                self.found.append(f"<{tag} {attribute}={value!r}>")
            if tag == "img" and attribute == "src" and ("/" in url or ":" in url):
                self.found.append(f"<img src={value!r}>")  # remote or outside the media folder


def assert_safe(field_html: str) -> None:
    """Nothing on a card runs code, loads a frame or fetches anything from outside the deck."""
    parser = _Unsafe()
    parser.feed(field_html)
    assert parser.found == [], field_html
