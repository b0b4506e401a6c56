"""Reverse and cloze notes, front matter, attribute blocks and tags: what a learner gets in Anki."""

from __future__ import annotations

import re

import pytest

from conftest import PYPROJECT, Project
from learner import Learner

IDS = "reverse-notetype-id = 1700000000003\ncloze-notetype-id = 1700000000004\n"

VERBS = """\
---
note-type: reverse
tags: [verbs, irregular]
---
# Verbs

## #ser

### ser

to be (permanent)

## #ir {tags="motion"}

### ir

to go

## #plain {type=qa}

### Is this a Q&A note?

Yes.
"""

CLOZE = """\
# Calculus

## #deriv

### Derivatives

The derivative of $x^{-1}$ is {{c1::$-\\frac{1}{x^{2}}$}}.

## #ls {tags="shell"}

### Listing files

{{c1::ls::command}} lists files, {{c2::`ls -a`}} hidden ones too.
"""


@pytest.fixture
def typed(project: Project) -> Project:
    """The sample project plus a file of reverse notes and one of cloze notes."""
    project.write("pyproject.toml", PYPROJECT.format(version="1.0.0") + IDS)
    project.write("cards/02-verbs.md", VERBS)
    project.write("cards/03-calculus.md", CLOZE)
    return project


def body(html: str) -> str:
    """A card side without the note type's CSS."""
    return html.split("</style>", 1)[1]


def cards(learner: Learner, note_id: str) -> list[tuple[int, str, str]]:
    note = learner.notes()[note_id]
    return [(c.ord, body(c.question()), body(c.answer())) for c in note.cards()]


def test_each_type_imports_with_its_cards_and_what_they_show(
    typed: Project, learner: Learner
) -> None:
    log = learner.import_deck(typed.build())
    assert log.new == ["1", "2", "2-1", "deriv", "ir", "ls", "plain", "ser"]
    notes = learner.notes()
    kinds = {note_id: note.note_type()["name"] for note_id, note in notes.items()}
    assert kinds == {
        "1": "sample Q&A", "2": "sample Q&A", "2-1": "sample Q&A", "plain": "sample Q&A",
        "ser": "ml-anki Reverse", "ir": "ml-anki Reverse",
        "deriv": "ml-anki Cloze", "ls": "ml-anki Cloze",
    }  # fmt: skip
    # Reverse: question → answer, then answer → question.
    (front, back), (reverse_front, reverse_back) = [(q, a) for _, q, a in cards(learner, "ser")]
    assert '<div class="mla-question">ser</div>' in front and "to be" not in front
    assert "to be (permanent)" in back and "#ser · v1.0.0" in back
    assert "to be (permanent)" in reverse_front and ">ser<" not in reverse_front
    assert '<div class="mla-question">ser</div>' in reverse_back
    assert back.index("ser") < back.index("to be") and reverse_back.index("to be") < (
        reverse_back.index(">ser<")
    )
    # Cloze: one card per number; the number asked is hidden (or its hint shown), the rest read.
    ls_cards = cards(learner, "ls")
    assert [ord_ for ord_, _, _ in ls_cards] == [0, 1]
    first_q, first_a = ls_cards[0][1], ls_cards[0][2]
    assert '<span class="cloze" data-cloze="ls" data-ordinal="1">[command]</span>' in first_q
    assert '<span class="cloze-inactive" data-ordinal="2"><code>ls -a</code></span>' in first_q
    assert '<span class="cloze" data-ordinal="1">ls</span>' in first_a
    second_q = ls_cards[1][1]
    assert '<span class="cloze-inactive" data-ordinal="1">ls</span>' in second_q
    assert 'data-ordinal="2">[...]</span>' in second_q
    assert '<div class="mla-question">Listing files</div>' in first_q
    # The TeX `}}` does not end the deletion: the whole formula is hidden, then shown.
    ((_, deriv_q, deriv_a),) = cards(learner, "deriv")
    assert deriv_q.endswith('data-ordinal="1">[...]</span>.</p></div>\n</div>\n')
    assert (
        '<span class="cloze" data-ordinal="1"><span class="arithmatex">'
        "\\(-\\frac{1}{x^{2} }\\)</span></span>."
    ) in deriv_a
    # Tags: the file's topic, the front matter's and the note's own, under the deck's prefix.
    assert notes["ir"].tags == ["sample::irregular", "sample::motion", "sample::verbs"]
    assert notes["plain"].tags == ["sample::irregular", "sample::verbs"]
    assert notes["ls"].tags == ["sample::calculus", "sample::shell"]
    assert notes["1"].tags == ["sample::basics"]


def all_card_ids(learner: Learner) -> list[int]:
    return sorted(learner.col.db.list("select id from cards"))


def test_every_card_has_its_own_id_for_ever(typed: Project) -> None:
    from ml_anki import apkg

    deck = apkg.read(typed.build())
    ids = [card.id for note in deck.notes for card in note.cards]
    assert len(ids) == len(set(ids)) == 11
    note_ids = {note.note_id for note in deck.notes}
    for note in deck.notes:
        # The first card keeps the note's id, as every Q&A card always had.
        assert note.cards[0].id == note.note_id
        assert all(card.id not in note_ids for card in note.cards[1:])
    # Add a note in the same second and another cloze number: no id moves or collides.
    typed.write("cards/04-more.md", "## #0\n\n### Zero?\n\nNothing.\n")
    typed.write("cards/03-calculus.md", CLOZE.replace(".\n\n## #ls", ", {{c2::or so}}.\n\n## #ls"))
    again = apkg.read(typed.build(now=1_800_100_000))
    before = {(deck.label(n), c.ord): c.id for n in deck.notes for c in n.cards}
    after = {(again.label(n), c.ord): c.id for n in again.notes for c in n.cards}
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(set(after.values())) == len(after) == 13


def test_edited_reverse_and_cloze_notes_update_in_place_keeping_every_cards_history(
    typed: Project, learner: Learner
) -> None:
    learner.import_deck(typed.build(now=1_800_000_000))
    for note_id in ("ser", "ls"):
        for card in learner.notes()[note_id].cards():
            card.start_timer()
            learner.col.sched.answerCard(card, 3)  # type: ignore[attr-defined]
    card_ids = all_card_ids(learner)
    history = learner.col.db.all("select cid, ease from revlog order by id")
    assert len(history) == 4

    typed.write("cards/02-verbs.md", VERBS.replace("to be (permanent)", "to be (lasting)"))
    typed.write("cards/03-calculus.md", CLOZE.replace("lists files", "lists a folder"))
    log = learner.import_deck(typed.build(now=1_800_100_000))
    assert (log.new, log.updated, log.conflicting) == ([], ["ls", "ser"], [])
    assert all_card_ids(learner) == card_ids
    assert learner.col.db.all("select cid, ease from revlog order by id") == history
    assert all(c.reps == 1 for n in ("ser", "ls") for c in learner.notes()[n].cards())
    assert "to be (lasting)" in cards(learner, "ser")[1][1]


def test_a_new_cloze_number_adds_a_card_and_keeps_the_first_ones_history(
    typed: Project, learner: Learner
) -> None:
    learner.import_deck(typed.build(now=1_800_000_000))
    (first,) = learner.notes()["deriv"].cards()
    first.start_timer()
    learner.col.sched.answerCard(first, 4)  # type: ignore[attr-defined]
    typed.write(
        "cards/03-calculus.md",
        CLOZE.replace("$x^{-1}$ is", "{{c2::$x^{-1}$}} is"),
    )
    log = learner.import_deck(typed.build(now=1_800_100_000))
    assert (log.new, log.updated) == ([], ["deriv"])
    c1, c2 = learner.notes()["deriv"].cards()
    assert (c1.id, c1.ord, c1.reps) == (first.id, 0, 1)
    assert (c2.ord, c2.reps) == (1, 0)
    assert 'data-ordinal="2">[...]</span> is' in body(c2.question())


def test_a_released_note_cannot_change_its_type(typed: Project) -> None:
    result = typed.cli("release", now=1_800_000_000)
    assert result.exit_code == 0, result.output
    typed.write("cards/02-verbs.md", VERBS.replace("## #plain {type=qa}", "## #plain"))
    line = VERBS.split("\n").index("## #plain {type=qa}") + 1
    for command in ("check", "build"):
        result = typed.cli(command, now=1_800_100_000)
        assert result.exit_code == 1
        assert result.stderr == refusal(line), command


def refusal(line: int) -> str:
    return (
        f"cards/02-verbs.md:{line}:1: error: note #plain was released as a Q&A note and is now a "
        "reverse note; Anki cannot change a note's type on import (learners' copies would "
        "conflict and stop updating). Give it a new id, and leave #plain out of the cards: the "
        "next release retires it\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_every_authoring_mistake_is_reported_in_one_run_with_its_place(typed: Project) -> None:
    typed.write(
        "cards/05-bad.md",
        "---\nnote-type: revers\ntag: [x]\ntags: [irregular verbs, ok]\n---\n"
        '## #a {type=reverse tgs="x"}\n\n### A\n\n{{c1::hidden}}\n\n'
        "## #b {type=cloze}\n\n### B\n\nNothing hidden.\n\n"
        "## #c {type}\n\n### C {{c1::q}}\n\nText.\n",
    )
    typed.write("cards/06-broken.md", "---\ntags: [a, b\n---\n## #d\n\n### D\n\nd\n")
    result = typed.cli("check")
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/05-bad.md:2:12: error: unknown note type 'revers': use qa, reverse or cloze\n"
        "cards/05-bad.md:3:1: error: unknown front matter key 'tag'; known keys: note-type, tags\n"
        "cards/05-bad.md:4:8: error: tag 'irregular verbs' has a space: Anki splits tags on "
        "spaces, so it would become several tags; join its words with '-' or '_'\n"
        "cards/05-bad.md:6:8: error: note #a has cloze deletions ({{c1::…}}), which make it a "
        "cloze note, but its {type=reverse} asks for a reverse note; remove the deletions, or the "
        "type\n"
        "cards/05-bad.md:6:21: error: unknown attribute 'tgs' in {…}; known: type, tags, parent\n"
        "cards/05-bad.md:12:8: error: note #b is a cloze note without a cloze deletion; mark what "
        "to hide in its text as {{c1::…}} (or {{c1::…::hint}})\n"
        "cards/05-bad.md:18:8: error: 'type' in {…}: write key=value, as in "
        '{type=reverse tags="verbs irregular"}\n'
        "cards/05-bad.md:20:1: error: note #c: a cloze deletion in the '###' line; the question "
        "shows as it is on every card, so put the deletions in the text below it\n"
        "cards/06-broken.md:2:12: error: front matter is not valid YAML: expected ',' or ']', but "
        "got '<stream end>'\n"
        "ml-anki: 9 errors; nothing was written\n"
    )


def test_a_reverse_note_needs_its_note_types_id_in_the_config(project: Project) -> None:
    project.write("cards/02-verbs.md", VERBS)
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/02-verbs.md:7:1: error: note #ser is a reverse note, but [tool.ml-anki] has no "
        "reverse-notetype-id; add one, drawn at random for this deck alone (run `ml-anki init "
        "--print-ids` for fresh ones)\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert not (project.root / "dist").exists()


def test_preview_shows_every_card_of_every_type_as_anki_does(
    typed: Project, learner: Learner
) -> None:
    learner.import_deck(typed.build())
    result = typed.cli("preview")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("8 notes, 22 card sides")
    page = typed.read("preview/cards.html")
    for note_id in ("ser", "ls", "deriv", "plain"):
        section = page[page.index(f'id="note-{note_id}"') :].split("</section>")[0]
        for _, question, answer in cards(learner, note_id):
            assert f"</div>\n{question}\n</div>" in section
            assert f"</div>\n{answer}\n</div>" in section
    labels = re.findall(r'<div class="mlp-label">([^<]*)</div>', page)
    assert labels.count("front · Back → Front") == 2 and labels.count("back · cloze 2") == 1


def test_diff_reports_a_changed_note_tag_and_type(typed: Project) -> None:
    old = typed.build(now=1_800_000_000)
    typed.write(
        "cards/02-verbs.md",
        VERBS.replace('## #ir {tags="motion"}', '## #ir {tags="travel"}').replace(
            "## #plain {type=qa}", "## #plain"
        ),
    )
    typed.write("cards/03-calculus.md", CLOZE.replace("lists files", "lists a folder"))
    result = typed.cli("diff", "-v", str(old))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "~ #ir  ir\n"
        "    Tags: sample::verbs sample::irregular [-sample::motion-]{+sample::travel+}\n"
        "~ #ls  Listing files\n"
        "    Text: {{c1::ls::command}} lists [-files,-]{+a folder,+} {{c2::ls -a}} hidden ones "
        "too.\n"
        "~ #plain  Is this a Q&A note?\n"
        "    Note type: [-sample Q&A-]{+ml-anki Reverse+} — Anki cannot change a note's type on "
        "import: learners' copies would conflict\n"
        "    Question: [-Is this a Q&A note?-]\n"
        "    Answer: [-Yes.-]\n"
        "    Front: {+Is this a Q&A note?+}\n"
        "    Back: {+Yes.+}\n"
        "0 added, 3 changed, 0 removed, 5 unchanged\n"
    )


def test_a_retired_reverse_and_cloze_note_keep_shipping_with_all_their_cards(
    typed: Project, learner: Learner
) -> None:
    assert typed.cli("release", now=1_800_000_000).exit_code == 0
    learner.import_deck(typed.deck)
    card_ids = all_card_ids(learner)
    typed.write("cards/02-verbs.md", VERBS.split("## #ir")[0])
    typed.write("cards/03-calculus.md", CLOZE.split("## #ls")[0])
    result = typed.cli("release", "minor", now=1_800_100_000)
    assert result.exit_code == 0, result.output
    log = learner.import_deck(typed.root / "dist" / "sample-v1.1.0.apkg")
    assert (log.new, log.updated, log.conflicting) == ([], ["ir", "ls", "plain"], [])
    assert all_card_ids(learner) == card_ids
    notes = learner.notes()
    assert notes["ir"]["Retired"] == notes["ls"]["Retired"] == "Retired in v1.1.0"
    assert notes["ls"]["Text"].startswith("<p>{{c1::ls::command}} lists files")
    assert "sample::retired" in notes["ir"].tags and "sample::retired" in notes["ls"].tags
    assert len(notes["ls"].cards()) == 2 and len(notes["ir"].cards()) == 2


def test_a_schema_change_under_a_released_reverse_id_is_refused(typed: Project) -> None:
    assert typed.cli("release", now=1_800_000_000).exit_code == 0
    lock = typed.lock.read_text()
    typed.lock.write_text(lock.replace('"Back → Front"]', '"Back → Front", "Hint"]'))
    result = typed.cli("build", now=1_800_100_000)
    assert result.exit_code == 1
    line = lock.split("\n").index(next(x for x in lock.split("\n") if '"notetypes"' in x)) + 1
    assert result.stderr == (
        f"ml-anki.lock:{line}: error: the reverse note type's fields or templates changed "
        "(locked templates: Front → Back, Back → Front, Hint; now: Front → Back, Back → Front). "
        "Anki would "
        "mark every learner's note as conflicting and leave it un-updated; restore the field "
        "list in notetype.py, or ship a new note type id as a breaking release\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_a_damaged_card_id_or_type_in_the_lock_is_reported_with_its_line(typed: Project) -> None:
    typed.build()
    lines = typed.lock.read_text().split("\n")
    line = next(n for n, text in enumerate(lines, 1) if text.lstrip().startswith('"ls"'))
    lines[line - 1] = lines[line - 1].replace('"type": "cloze"', '"type": "clozed"')
    typed.lock.write_text("\n".join(lines))
    result = typed.cli("build")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"ml-anki.lock:{line}:1: error: damaged entry for note #ls (needs added, hash, mod, "
    )
