"""Lint: math, TeX and raw HTML in a note, located to the line and column a user must fix."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_anki import lint
from ml_anki.render import Renderer, sanitize
from ml_anki.source import load, parse
from test_check_property import markdown_pieces, one_line, unicode_chars

CARD = Path("cards/x.md")
ROOT = Path(__file__).resolve().parent.parent


def problems(body: str, *, question: str = "Q", refs: str = "") -> list[str]:
    """`path:line:col: severity: message` for a note whose answer starts on line 5."""
    text = f"## #1\n\n### {question}\n\n{body}\n"
    if refs:
        text += f"\n##### References\n\n{refs}\n"
    file, structural = parse(text, CARD)
    assert structural == []
    read = lint.note(file.notes[0])
    # A build lints with the rendered note at hand, and must find exactly the same.
    rendered, _ = Renderer(ROOT / "media", "t").note(file.notes[0], None)
    assert lint.note(file.notes[0], rendered) == read
    return [str(p) for p in read]


OPEN_DOLLAR = (
    "'$' is left open at the end of the paragraph, so the card shows a raw '$'; close the math "
    "with '$', or write '\\$' for a dollar sign"
)
UNKNOWN = "MathJax in Anki would show the formula's source instead"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "Intro.\n\n$$\n\\sum_i x_i\n\nmore",
            "7:1: error: '$$' is never closed in this paragraph; end display math with '$$' "
            "before the next blank line",
            id="display-math-not-closed",
        ),
        pytest.param(
            "so $$x^2$$ grows",
            "5:4: error: display math '$$…$$' must be a paragraph of its own (a blank line "
            "before and after it), or the card shows raw '$$'",
            id="display-math-inside-a-paragraph",
        ),
        pytest.param(
            "- item\n  $$\n  x = 1\n  $$",
            "6:3: error: display math '$$…$$' must be a paragraph of its own (a blank line "
            "before and after it), or the card shows raw '$$'",
            id="display-math-glued-to-a-list-item",
        ),
        pytest.param("It costs $x a month.", f"5:10: error: {OPEN_DOLLAR}", id="dollar-left-open"),
        pytest.param(
            "1. a\n2. item\n\n   $$\n   x^2\n   $$",
            "8:1: error: this display math is indented 3 spaces after a list item, so it leaves "
            "the list and the card shows raw '$$': list content is indented 4 spaces here; indent "
            "it by 4 to keep it in the item (or by 0 to end the list)",
            id="display-math-indented-3-under-a-list-item",
        ),
        pytest.param(
            "2. item\n\n   more text",
            "7:1: warning: this paragraph is indented 3 spaces after a list item, so it leaves the "
            "list: list content is indented 4 spaces here; indent it by 4 to keep it in the item "
            "(or by 0 to end the list)",
            id="paragraph-indented-3-under-a-list-item",
        ),
        pytest.param(
            "$x^$",
            "5:3: error: '^' has no superscript after it; write e.g. x^{2}, or remove the '^'",
            id="stray-superscript",
        ),
        pytest.param(
            "$\\sqrt$",
            "5:2: error: \\sqrt is missing its argument: write \\sqrt{…}",
            id="missing-argument",
        ),
        pytest.param(
            "$a \\over b \\over c$",
            "5:12: error: a second \\over in the same group is ambiguous (MathJax refuses it); put "
            "braces around one fraction, e.g. {a \\over b} \\over c, or write \\frac{…}{…}",
            id="double-over",
        ),
        pytest.param(
            "the set $ A $ is",
            "5:9: error: '$…$' is not math because of the space after the opening '$'; write $x$ "
            "with no space just inside the dollars, or '\\$' for a dollar sign",
            id="space-inside-dollars",
        ),
        pytest.param(
            "$\\frac{a}{b$",
            "5:10: error: unbalanced '{' in math: it is never closed; add the matching '}'",
            id="brace-never-closed",
        ),
        pytest.param(
            "$a}$",
            "5:3: error: unbalanced '}' in math: there is no '{' before it; remove it or add the '{'",
            id="brace-closes-nothing",
        ),
        pytest.param(
            "$$\n\\begin{aligned}\na &= b\n\\end{align}\n$$",
            "8:1: error: \\end{align} does not match \\begin{aligned} at cards/x.md:6:1; close "
            "environments in reverse order",
            id="end-does-not-match-begin",
        ),
        pytest.param(
            "$\\begin{cases} a & b$",
            "5:2: error: \\begin{cases} is never closed; add \\end{cases}",
            id="begin-never-closed",
        ),
        pytest.param(
            "$a \\end{matrix}$",
            "5:4: error: \\end{matrix} has no \\begin{matrix} before it",
            id="end-without-begin",
        ),
        pytest.param(
            "$x + \\alpah$",
            f"5:6: error: unknown TeX command \\alpah: {UNKNOWN}; did you mean \\alpha?",
            id="unknown-command-typo",
        ),
        pytest.param(
            "$\\bm{x}$",
            f"5:2: error: unknown TeX command \\bm: {UNKNOWN}; write \\boldsymbol",
            id="latex-only-command",
        ),
        pytest.param(
            "$\\cancel{x}$",
            f"5:2: error: unknown TeX command \\cancel: {UNKNOWN} (the known ones are listed in "
            "ml_anki/tex_commands.txt)",
            id="command-of-a-package-not-every-platform-loads",
        ),
        pytest.param(
            "$\\begin{align2} x \\end{align2}$",
            "5:2: error: unknown TeX environment 'align2'; did you mean align?",
            id="unknown-environment",
        ),
        pytest.param(
            "| f | value |\n|---|---|\n| abs | $|x|$ |",
            "7:10: error: '|' inside $…$ splits this table cell in two; write \\lvert x \\rvert "
            "for an absolute value (\\mid for 'given', \\| for a norm)",
            id="pipe-in-table-math",
        ),
        pytest.param(
            "| f | value |\n|---|---|\n| abs | \\(|x|\\) |",
            "7:11: error: '|' inside $…$ splits this table cell in two; write \\lvert x \\rvert "
            "for an absolute value (\\mid for 'given', \\| for a norm)",
            id="pipe-in-table-math-in-brackets",
        ),
        pytest.param(
            "$5%$",
            "5:3: error: '%' starts a TeX comment, which hides the rest of the line on the card; "
            "write \\% for a percent sign",
            id="percent",
        ),
        pytest.param(
            "$#\\theta$",
            "5:2: error: '#' is not allowed in TeX math; write \\# for a number sign",
            id="hash",
        ),
        pytest.param(
            "$a & b$",
            "5:4: error: '&' only separates columns inside an environment such as aligned, cases "
            "or matrix; write \\& for an ampersand",
            id="ampersand-outside-an-environment",
        ),
        pytest.param(
            "$\\left( x$", "5:2: error: \\left without a matching \\right", id="left-without-right"
        ),
        pytest.param(
            "$x \\right)$",
            "5:4: error: \\right without a \\left before it; pair every \\left with a \\right",
            id="right-without-left",
        ),
        pytest.param(
            "$\\text{\\LaTeX} \\mbox{x$",
            "5:21: error: unbalanced '{' in math: it is never closed; add the matching '}'",
            id="text-arguments-are-text-but-braces-count",
        ),
    ],
)
def test_each_math_mistake_has_one_located_error(body: str, expected: str) -> None:
    assert problems(body) == [f"cards/x.md:{expected}"]


def test_every_problem_of_a_note_is_reported_in_source_order() -> None:
    body = "- one $x$\n- two $y\n    - three $\\bm$\n\n$a}$ and $\\alpah$"
    assert problems(body) == [
        f"cards/x.md:6:7: error: {OPEN_DOLLAR}",
        f"cards/x.md:7:14: error: unknown TeX command \\bm: {UNKNOWN}; write \\boldsymbol",
        (
            "cards/x.md:9:3: error: unbalanced '}' in math: there is no '{' before it; remove it or "
            "add the '{'"
        ),
        f"cards/x.md:9:11: error: unknown TeX command \\alpah: {UNKNOWN}; did you mean \\alpha?",
    ]


def test_question_and_references_are_linted_at_their_own_lines() -> None:
    assert problems("fine", question="What is $\\alpah$?", refs="- [a](https://e.org) $x") == [
        f"cards/x.md:3:14: error: unknown TeX command \\alpah: {UNKNOWN}; did you mean \\alpha?",
        f"cards/x.md:9:22: error: {OPEN_DOLLAR}",
    ]


def test_blank_lines_before_the_answer_do_not_shift_locations() -> None:
    assert problems("\n  \ntext $x") == [f"cards/x.md:7:6: error: {OPEN_DOLLAR}"]


def test_code_is_never_math() -> None:
    body = (
        "`$x` and `$$` and ``a ` $b``\n\n```python\nprice = $y$ \\bm{\n```\n\n"
        "    $z in an indented code block\n\n~~~\n$$\n~~~"
    )
    assert problems(body) == []


def test_what_renders_well_is_clean() -> None:
    body = (
        "**ReLU** is $\\max(0, x)$; two formulas $a$$b$ side by side; a dollar \\$5.\n\n"
        "$$\n\\begin{aligned}\n\\sigma'(z) &= \\sigma(z)\\bigl(1 - \\sigma(z)\\bigr) \\\\\n"
        "\\lVert x \\rVert &\\le \\tfrac14\n\\end{aligned}\n$$\n\n"
        "- $\\left\\{ x \\right.$ and $\\text{50% of #1 \\& more}$\n\n"
        "    $$\n    \\operatorname*{arg\\,max}_\\theta \\boldsymbol{\\theta}\n    $$\n\n"
        "| a | b |\n|---|---|\n| $\\lvert x \\rvert$ | $\\|w\\|_2$ |\n\n"
        "<kbd>Ctrl</kbd>+<kbd>C</kbd>, H<sub>2</sub>O, x<sup>2</sup>, line<br>break\n\n"
        "<details><summary>More</summary>\n\nHidden $x$ text.\n\n</details>\n\n"
        "#### A small heading $h$\n\ntext <!-- a comment with $5 --> after"
    )
    assert problems(body) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            "<script>alert(1)</script>",
            (
                "5:1: warning: raw HTML <script> is removed from the card by the sanitizer (with "
                "everything inside it); cards keep formatting tags such as <b>, <br>, <sub>, <sup>, "
                "<kbd>, <details> and tables"
            ),
        ),
        (
            'see <iframe src="https://example.org/"></iframe>',
            (
                "5:5: warning: raw HTML <iframe> is removed from the card by the sanitizer (its text "
                "stays); cards keep formatting tags such as <b>, <br>, <sub>, <sup>, <kbd>, <details> "
                "and tables"
            ),
        ),
        (
            'a <b onclick="steal()">bold</b> word',
            (
                "5:3: warning: raw HTML <b>: the sanitizer removes onclick='steal()' (cards keep no "
                "scripts, event handlers, inline styles or links other than http, https and mailto)"
            ),
        ),
        (
            '<a href="javascript:alert(1)">x</a>',
            (
                "5:1: warning: raw HTML <a>: the sanitizer removes href='javascript:alert(1)' (cards "
                "keep no scripts, event handlers, inline styles or links other than http, https and "
                "mailto)"
            ),
        ),
        (
            'text <span style="color: red">red</span>',
            (
                "5:6: warning: raw HTML <span>: the sanitizer removes style='color: red' (cards keep "
                "no scripts, event handlers, inline styles or links other than http, https and mailto)"
            ),
        ),
        (
            'figure: <img src="../media/relu.svg">',
            (
                "5:9: warning: raw HTML <img> is not packaged, so learners would see a broken image; "
                "show figures with ![alt](../media/name.svg)"
            ),
        ),
        (
            "###hashtags are headings",
            (
                "5:1: warning: '###' at the start of a line makes an <h3> heading, which the "
                "sanitizer removes from cards (its text stays); write '#### …' for a heading "
                "inside an answer, or '\\#' for a literal '#'"
            ),
        ),
    ],
)
def test_raw_html_the_sanitizer_changes_is_a_located_warning(html: str, expected: str) -> None:
    assert problems(html) == [f"cards/x.md:{expected}"]


def test_html_warnings_agree_with_what_the_sanitizer_does() -> None:
    """The lint asks the sanitizer, so a warning means the card really changes, and no warning
    means it does not."""
    for tag in ("<kbd>", "<sub>", '<td align="right">', '<a href="https://e.org/" title="t">'):
        assert problems(f"x {tag}y") == [], tag
    assert "onclick" not in sanitize('<b onclick="steal()">bold</b>')
    assert "<iframe" not in sanitize('<iframe src="https://example.org/"></iframe>')


def test_a_very_long_answer_is_a_warning_at_its_first_line() -> None:
    body = "Long.\n\n" + "word " * (lint.LONG_ANSWER // 5)
    assert problems(body) == [
        (
            f"cards/x.md:5:1: warning: the answer of #1 is {len(body):,} characters long "
            f"(over {lint.LONG_ANSWER:,}): hard to review on a phone; move parts into sub-questions "
            "(#1-1, #1-2, …)"
        )
    ]
    assert problems("word " * (lint.LONG_ANSWER // 5 - 2)) == []


def test_prices_are_not_math_and_reach_the_card_as_written() -> None:
    """A dollar followed by a digit never closes math (Pandoc's rule); arithmatex agrees."""
    from ml_anki.render import Renderer

    for text in ("가격은 $5와 $10 사이", "It costs $5 a month.", "$3 or $4, and $x$ is math"):
        assert problems(text) == []
    html, _ = Renderer(Path("media"), "t").markdown("가격은 $5와 $10 사이", CARD, 1)
    assert html == "<p>가격은 $5와 $10 사이</p>"


def test_the_tex_vocabulary_is_mathjax_base_ams_and_boldsymbol() -> None:
    vocabulary = lint.tex_vocabulary()
    assert {"frac", "lvert", "operatorname", "boldsymbol", "mathbb", "text", ",", "\\"} <= (
        vocabulary.commands
    )
    assert {"aligned", "cases", "pmatrix", "array"} <= vocabulary.environments
    assert not {"bm", "newcommand", "cancel", "R"} & vocabulary.commands


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "mathjax").is_dir(),
    reason="needs node and the MathJax package.json pins (npm ci)",
)
def test_the_tex_vocabulary_is_what_mathjax_defines() -> None:
    generated = subprocess.run(
        ["node", str(ROOT / "scripts" / "tex_commands.js")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert generated == (ROOT / "src" / "ml_anki" / "tex_commands.txt").read_text(encoding="utf-8")


def test_control_characters_are_errors_where_they_hide() -> None:
    """U+001F is Anki's field separator: one in a field makes the whole deck fail to import."""
    message = (
        "control character U+{:04X} in the text; delete it (it is invisible on a card, and "
        "U+001F, Anki's field separator, makes the deck fail to import)"
    )
    assert problems("a\x1fb\n\nc\x00", question="Q\x07") == [
        f"cards/x.md:3:6: error: {message.format(7)}",
        f"cards/x.md:5:2: error: {message.format(0x1F)}",
        f"cards/x.md:7:2: error: {message.format(0)}",
    ]
    assert problems("tab\tis fine") == []


MATHJAX_ERRORS = """
const formulas = JSON.parse(require("fs").readFileSync(0, "utf8"));
require("mathjax").init({
  loader: {load: ["input/tex-base", "[tex]/ams", "[tex]/boldsymbol"]},
  tex: {packages: ["base", "ams", "boldsymbol"], formatError: (jax, error) => { throw error; }},
  startup: {typeset: false},
}).then((MathJax) => {
  process.stdout.write(JSON.stringify(formulas.map((tex) => {
    try { MathJax.tex2mml(tex, {display: true}); return null; } catch (error) { return error.message; }
  })));
});
"""


def real_deck_formulas() -> list[str]:
    """Every formula of the real deck, as the renderer hands it to MathJax."""
    from ml_anki.render import Renderer
    from ml_anki.source import card_files, decode

    renderer = Renderer(ROOT / "media", "t")
    formulas = []
    for path in card_files(ROOT / "cards"):
        text, _ = decode(path.read_bytes(), path)
        for note in parse(text, path)[0].notes:
            for markdown in (note.question, note.body_md):
                html, _ = renderer.markdown(markdown, path, 1)
                found = re.findall(r'class="arithmatex">\\[(\[](.*?)\\[)\]]</', html, re.DOTALL)
                formulas += [unescape(tex) for tex in found]
    return formulas


def generated_formulas() -> list[str]:
    """Formulas built to sit on both sides of MathJax's rules: every command that requires
    arguments with one missing and with all of them, scripts on many bases (stray, doubled,
    primes), generalized fractions in pairs, environments known and unknown, and unbalanced
    delimiters."""
    vocabulary = lint.tex_vocabulary()
    formulas = []
    for name, spec in sorted(vocabulary.arguments.items()):
        count = spec.count("{}")
        formulas += [
            f"\\{name}" + "{a}" * (count - 1),
            f"x + {{\\{name}" + "{a}" * (count - 1) + "}",
        ]
        if name in {
            "frac",
            "sqrt",
            "binom",
            "overset",
            "underset",
            "hat",
            "vec",
            "mathbb",
            "text",
            "operatorname",
            "boldsymbol",
            "tfrac",
            "dfrac",
            "overline",
            "stackrel",
        }:
            formulas.append(f"\\{name}" + "{a}" * count)
    formulas += [
        "\\sqrt[3]",
        "\\sqrt[3]{x}",
        "\\sqrt[3",
        "\\frac ab",
        "\\frac a",
        "\\frac\\alpha\\beta",
    ]
    for base in ("x", "\\alpha", "{a}", "\\sum", "f'", "\\left( x \\right)", "\\frac{a}{b}"):
        formulas += [
            f"{base}^",
            f"{base}_",
            f"{{{base}^}}",
            f"{base}^^2",
            f"{base}^2^3",
            f"{base}_1_2",
            f"{base}^2'",
            f"{base}^{{2}}_1^3",
            f"{base}^'",
            f"{base}^2_1",
            f"{base}_1^2",
            f"{base}'^2",
            f"{base}^{{}}",
            f"{base}^\\sqrt",
            f"{base}^ \\alpha",
            f"\\begin{{aligned}} {base}^ & b \\end{{aligned}}",
            f"\\begin{{aligned}} {base}^2 & b^2 \\\\ {base}_1 & c_1 \\end{{aligned}}",
        ]
    fractions = ("over", "atop", "choose", "above 1pt")
    for first in fractions:
        for second in fractions:
            formulas += [
                f"a \\{first} b \\{second} c",
                f"{{a \\{first} b}} \\{second} c",
                f"\\left( a \\{first} b \\{second} c \\right)",
                f"\\begin{{aligned}} a \\{first} b & c \\{second} d \\end{{aligned}}",
            ]
    for environment in ("aligned", "cases", "pmatrix", "foo", "align", "equation", "eqnarray"):
        formulas += [
            f"\\begin{{{environment}}} a & b \\end{{{environment}}}",
            f"\\begin{{{environment}}} a",
            f"a \\end{{{environment}}}",
        ]
    formulas += [
        "\\left( x",
        "x \\right)",
        "\\left( x \\right]",
        "{a",
        "a}",
        "{a}}",
        "{{a}",
        "\\left( \\begin{matrix} a \\right) \\end{matrix}",
        "\\left",
        "\\middle| x",
        "\\left( a \\middle| b \\right)",
        "\\frac{a}&",
        "\\text",
        "\\hat",
        "\\limits",
        "\\sum\\limits_i^n",
        "x^\\\\",
        "\\frac{a}\\\\b",
        "{}^{14}C",
        "^2",
        "x''^2_3",
    ]
    return formulas


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "mathjax").is_dir(),
    reason="needs node and the MathJax package.json pins (npm ci)",
)
def test_tex_errors_agree_with_mathjax_itself() -> None:
    """MathJax (base, ams, boldsymbol, as on every Anki platform) rejects exactly the formulas
    that lint rejects, on the whole real deck and on tricky cases."""
    tricky = [
        "\\frac{a}{b", "a}", "\\bm{x}", "\\begin{aligned} a \\end{align}", "a #x", "a & b",
        "\\left( x", "x \\right)", "\\cancel{x}", "\\left{ x \\right}", "\\mbox{x",
        "\\begin{foo} x \\end{foo}", "\\end{matrix}", "\\middle|", "\\color{red}{x}", "\\verb|x|",
        "\\text{\\foo}", "\\left\\{ x \\right.", "\\begin{cases} a & b \\end{cases}", "5\\%",
        "\\operatorname*{arg\\,max}", "\\lvert x \\rvert", "a \\\\ b", "\\text{a $b$ c}",
        "\\begin{array}{c|c} a & b \\end{array}", "\\{ x \\}", "\\mathbb{R}^{n \\times m}",
    ]  # fmt: skip
    formulas = real_deck_formulas()
    assert len(formulas) > 200
    formulas += tricky + generated_formulas()
    mathjax = subprocess.run(
        ["node", "-e", MATHJAX_ERRORS],
        input=json.dumps(formulas),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    verdicts = json.loads(mathjax.stdout)
    disagreements = [
        (tex, error, found)
        for tex, error in zip(formulas, verdicts, strict=True)
        if (error is None) != (not (found := problems(f"$$\n{tex.strip()}\n$$")))
    ]
    assert "\n".join(map(repr, disagreements)) == ""
    rejected = sum(error is not None for error in verdicts)
    assert rejected > 250, f"the corpus must hold many broken formulas, not {rejected}"


def test_a_dollar_before_a_digit_never_closes_math_in_the_card_or_in_check() -> None:
    from ml_anki.render import Renderer

    renderer = Renderer(Path("media"), "t")
    html, _ = renderer.markdown("$5 and$10, but $x$ and $5x$", CARD, 1)
    assert html == (
        '<p>$5 and$10, but <span class="arithmatex">\\(x\\)</span> and '
        '<span class="arithmatex">\\(5x\\)</span></p>'
    )
    assert problems("$5 and$10, but $x$ and $5x$") == []


def test_lint_from_the_render_finds_what_a_full_read_finds_in_real_cards() -> None:
    """A build lints each note with what it rendered to; on every note of this deck and of the
    example deck, that finds exactly what reading the Markdown again finds."""
    checked = 0
    for root in (ROOT, ROOT / "examples" / "linux-commands"):
        renderer = Renderer(root / "media", "t")
        for note in load(root / "cards").notes:
            rendered, _ = renderer.note(note, None)
            assert lint.note(note, rendered) == lint.note(note), note.where
            checked += 1
    assert checked > 50


# Pieces that wake each rule, so that random notes reach all of them often.
lint_pieces = st.sampled_from([
    "### ", "\n### ", "\n  ", "\n   x", "\n - ", "\n1) ", "\\(", "\\)", "\\[", "\\]", "$$\n",
    "\n$$\n", "| $a|b$ |", "| \\(a|b\\) |\n|---|---|\n", "\\alpah", "x^", "a_b_c", "\\frac{a}",
    "\n\n- a\n\n  b\n", "- a\n\n   $$x$$", "$\\alpah$", "$x^$", "$\\frac{a}$", "<h3>", "<img src='x'>", "<div>\n", "</div>", "<!-- ml-anki: allow tex -->", "`$x$`", "\\$",
])  # fmt: skip
plain = st.sampled_from(["x", "가", " ", "\n", "\n\n", "- "])
lint_text = st.lists(
    st.one_of(lint_pieces, plain, markdown_pieces, st.text(unicode_chars, max_size=4)),
    max_size=16,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=one_line, body=lint_text, refs=lint_text)
def test_lint_from_the_render_finds_what_a_full_read_finds_in_random_markdown(
    question: str, body: str, refs: str
) -> None:
    source = f"## #1\n\n### {question}\n\n{body}\n\n##### References\n\n{refs}\n"
    file, _ = parse(source, CARD)
    renderer = Renderer(ROOT / "media", "t")
    for note in file.notes:
        rendered, _ = renderer.note(note, None)
        assert lint.note(note, rendered) == lint.note(note)
