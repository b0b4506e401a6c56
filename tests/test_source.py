"""The parser: structure, locations, and the text it hands to the renderer."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from ml_anki.source import decode, load, parent_id, parent_of, parse

CARD = Path("cards/x.md")


def test_notes_questions_answers_and_references_with_their_lines() -> None:
    text = (
        "# Title\n\n- [Q one](#1)\n\n## #1\n\n### Q one\n\nAnswer **one**.\n\n"
        "##### References\n\n- [a](https://example.org/)\n\n## #1-1\n### Q two\nTwo.\n"
    )
    file, problems = parse(text, CARD)
    assert problems == []
    first, second = file.notes
    assert (first.id, first.question, first.body_md) == ("1", "Q one", "Answer **one**.")
    assert first.refs_md == "- [a](https://example.org/)"
    assert (first.where.line, first.question_line, first.body_line, first.refs_line) == (
        5,
        7,
        9,
        13,
    )
    assert (second.id, second.question, second.body_md, second.refs_md) == (
        "1-1",
        "Q two",
        "Two.",
        "",
    )
    assert [(t.text, t.target, t.where.line) for t in file.toc] == [("Q one", "1", 3)]


def test_headings_inside_code_fences_are_not_structure() -> None:
    text = "## #1\n\n### Q\n\n```markdown\n## #2\n### not a note\n##### References\n```\n\nAfter.\n"
    file, problems = parse(text, CARD)
    assert problems == []
    (note,) = file.notes
    assert "## #2" in note.body_md and note.body_md.endswith("After.")
    assert note.refs_md == ""


def test_longer_fences_close_only_with_a_fence_as_long() -> None:
    text = "## #1\n\n### Q\n\n````\n```\n## #2\n```\n````\n"
    file, _ = parse(text, CARD)
    assert [n.id for n in file.notes] == ["1"]


def test_nfd_input_is_normalized_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "## #1\n\n### 딥러닝은?\n\n답.\n")
    assert nfd != unicodedata.normalize("NFC", nfd)
    text, problems = decode(nfd.encode(), CARD)
    assert problems == []
    file, _ = parse(text, CARD)
    assert file.notes[0].question == "딥러닝은?"


def test_bom_and_crlf_are_accepted() -> None:
    text, problems = decode("\ufeff## #1\r\n\r\n### Q\r\n\r\nA.\r\n".encode(), CARD)
    assert problems == []
    file, _ = parse(text, CARD)
    assert (file.notes[0].question, file.notes[0].body_md) == ("Q", "A.")


def test_invalid_utf8_names_line_column_and_byte_offset() -> None:
    raw = b"## #1\n\n### Q\n\nab" + b"\xff\n"
    _, problems = decode(raw, CARD)
    (problem,) = problems
    assert str(problem) == (
        "cards/x.md:5:3: error: not valid UTF-8 (byte 0xff at offset 16); save the file as UTF-8"
    )


def test_structural_mistakes_are_located() -> None:
    text = "## #bad id\n\n### Q\n\nA\n\n## #2\n\nno question here\n\n## #3\n\n### Q3\n\n##### References\n"
    _, problems = parse(text, CARD)
    assert [str(p) for p in problems] == [
        (
            "cards/x.md:1:1: error: invalid note id 'bad id': use letters, digits, '-' and '_', starting "
            "with a letter or digit (e.g. '## #12-1')"
        ),
        "cards/x.md:7:1: error: note #2 has no question: put a '### <question>' line right after '## #2'",
        "cards/x.md:13:1: error: note #3 has an empty answer: write the answer below its question",
    ]


def test_a_numbered_id_is_under_the_id_before_its_last_dash_when_that_note_exists() -> None:
    known = frozenset({"12", "12-1", "12-1-2", "relu", "relu-dying", "ls", "ls-h"})
    assert parent_id("12-1", known) == "12"
    assert parent_id("12-1-2", known) == "12-1"
    assert parent_id("12", known) is None
    assert parent_id("13-1", known) is None
    # A hyphen in a name is part of the name: `ls-h` is not a sub-question of `ls`.
    assert parent_id("ls-h", known) is None
    assert parent_id("relu-dying", known) is None


def messages(text: str) -> list[str]:
    return [str(p) for p in parse(text, CARD)[1]]


NOTE = "## #1\n\n### Q\n\nA.\n\n"


@pytest.mark.parametrize(
    ("line", "guess"),
    [
        ("## dos", "dos"),
        ("### #dos", "dos"),
        ("# #dos", "dos"),
        ("##  #dos", "dos"),
        ("##\t#dos", "dos"),
        ("#### #dos", "dos"),
    ],
)
def test_a_heading_that_looks_like_an_anchor_is_an_error_with_the_anchor_meant(
    line: str, guess: str
) -> None:
    file, problems = parse(f"{NOTE}{line}\n\n### Q two\n\nB.\n", CARD)
    assert [str(p) for p in problems] == [
        (
            f"cards/x.md:7:1: error: '{line.strip()}' looks like a note anchor but is not one: "
            f"did you mean `## #{guess}`?"
        )
    ]
    # Parsing goes on as if it were right: one typo, one error; note #1 keeps its answer.
    assert [(n.id, n.body_md) for n in file.notes] == [("1", "A."), (guess, "B.")]


def test_an_anchor_like_heading_is_an_error_in_the_preamble_too() -> None:
    assert messages("# Title\n\n### #1\n\n### Q\n\nA.\n") == [
        (
            "cards/x.md:3:1: error: '### #1' looks like a note anchor but is not one: "
            "did you mean `## #1`?"
        )
    ]
    assert messages("# Title\n\n## Contents\n\n" + NOTE) == []


def test_headings_of_level_one_and_two_inside_an_answer_are_errors() -> None:
    assert messages(NOTE + "## Two words\n\n#hashtag\n\n#### Fine\n") == [
        (
            "cards/x.md:7:1: error: '## Two words' is a level-2 heading inside note #1's answer: in "
            "card files '#' is the title and '## #<id>' starts a note, and a card does not show it "
            "as a heading; write '#### Two words' for a heading in an answer"
        ),
        (
            "cards/x.md:9:1: error: '#hashtag' looks like a note anchor but is not one: did you "
            "mean `## #hashtag`?"
        ),
    ]
    assert messages(NOTE + "## a b!\n") == [
        (
            "cards/x.md:7:1: error: '## a b!' is a level-2 heading inside note #1's answer: in "
            "card files '#' is the title and '## #<id>' starts a note, and a card does not show it "
            "as a heading; write '#### a b!' for a heading in an answer"
        ),
    ]


def test_setext_headings_inside_an_answer_are_reported_like_hash_headings() -> None:
    text = NOTE + "Title\n=====\n\nSub\n---\n\nA paragraph\nof two lines\n---\n\ntext\n\n---\n"
    assert messages(text) == [
        (
            "cards/x.md:8:1: error: 'Title' underlined with '=====' is a level-1 heading inside note "
            "#1's answer, like '# Title', and a card does not show it as a heading; write "
            "'#### Title' for a heading in an answer"
        ),
        (
            "cards/x.md:11:1: error: 'Sub' underlined with '---' is a level-2 heading inside note "
            "#1's answer, like '## Sub', and a card does not show it as a heading; write '#### Sub' "
            "for a heading in an answer (or leave a blank line above '---' for a horizontal rule)"
        ),
    ]
    # Above the first note a setext heading is a title; in code it is code.
    assert messages("Title\n=====\n\n" + NOTE + "```\nx\n---\n```\n") == []


def test_a_setext_heading_right_under_the_question_is_reported() -> None:
    assert messages("## #1\n\n### Q\nSub\n---\n") == [
        (
            "cards/x.md:5:1: error: 'Sub' underlined with '---' is a level-2 heading inside note "
            "#1's answer, like '## Sub', and a card does not show it as a heading; write '#### Sub' "
            "for a heading in an answer (or leave a blank line above '---' for a horizontal rule)"
        ),
    ]


def test_whitespace_only_lines_before_an_answer_do_not_shift_its_line() -> None:
    file, _ = parse("## #1\n\n### Q\n   \n\t\nAnswer starts here.\n", CARD)
    note = file.notes[0]
    assert (note.body_md, note.body_line) == ("Answer starts here.", 6)


def test_a_parent_other_than_the_numbered_one_is_declared() -> None:
    text = (
        "## #ls\n\n### List files\n\nls\n\n"
        "## #ls-h {parent=ls}\n\n### ...with sizes for humans\n\nls -h\n\n"
        "## #ls-a\n\n### List hidden files too\n\nls -a\n"
    )
    file, problems = parse(text, CARD)
    assert problems == []
    known = frozenset(n.id for n in file.notes)
    assert {n.id: parent_of(n, known) for n in file.notes} == {"ls": None, "ls-h": "ls", "ls-a": None}


def test_a_declared_parent_must_be_another_existing_note(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "a.md").write_text(
        "## #a {parent=a}\n\n### A?\n\nA.\n\n## #b {parent=nope}\n\n### B?\n\nB.\n\n"
        "## #c {parent=\"not an id\"}\n\n### C?\n\nC.\n"
    )
    problems = [str(p).replace(str(tmp_path) + "/", "") for p in sorted(load(cards).problems)]
    assert problems == [
        ("cards/a.md:1:8: error: note #a cannot be its own parent; name another note, or drop "
        "parent="),
        ("cards/a.md:7:8: error: note #b has parent=nope, but no note has the id nope; name an "
        "existing note, or drop parent="),
        ("cards/a.md:13:8: error: parent='not an id' is not a note id; write the parent's id, as "
        "in parent=ls"),
    ]


def test_a_mistyped_anchor_with_attributes_is_guessed_with_them() -> None:
    assert messages(NOTE + "### #ls-h {parent=1}\n\n### Q2\n\nB.\n") == [
        ("cards/x.md:7:1: error: '### #ls-h {parent=1}' looks like a note anchor but is not one: "
        "did you mean `## #ls-h {parent=1}`?")
    ]
