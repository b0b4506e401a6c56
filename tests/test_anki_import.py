"""What a learner gets when importing the deck, and every later release, into real Anki."""

from __future__ import annotations

import hashlib
import time

from conftest import BASICS, Project
from learner import Learner


def sha256(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_import_gives_one_rendered_note_per_source_note(
    project: Project, learner: Learner
) -> None:
    deck = project.build()
    log = learner.import_deck(deck)
    assert log.new == ["1", "2", "2-1"]
    notes = learner.notes()
    relu = notes["1"]
    assert relu["Question"] == "What is ReLU?"
    assert r"\(\max(0, x)\)" in relu["Answer"]
    assert r"\(x&lt;0\)" in relu["Answer"], (
        "a < inside math must be entity-escaped for the field's HTML"
    )
    assert "\\[\n\\operatorname{ReLU}(x) = \\max(0, x)\n\\]" in relu["Answer"]
    assert '<span class="kn">import</span>' in relu["Answer"], (
        "code is highlighted with CSS classes"
    )
    assert "style=" not in relu["Answer"]
    assert 'href="https://cs231n.github.io/neural-networks-1/"' in relu["References"]
    (figure,) = [name for name in learner.media_files() if name.startswith("relu-")]
    assert f'src="{figure}"' in relu["Answer"]
    assert relu.tags == ["sample::basics"]
    assert relu["Version"] == "1.0.0"
    # A sub-question shows its parent as context; a top-level question has none.
    assert notes["2-1"]["Context"] == "Why a bias?"
    assert notes["2"]["Context"] == ""
    front, back = learner.card_html("2-1")
    assert "Why a bias?" in front and "mla-context" in front
    assert "The intercept." in back and "v1.0.0" in back
    deck_names = [d.name for d in learner.col.decks.all_names_and_ids()]
    assert "Sample deck" in deck_names
    description = learner.col.decks.by_name("Sample deck")["desc"]
    assert "v1.0.0" in description and "3 notes" in description


def test_release_cycle_updates_exactly_what_changed_and_keeps_history(
    project: Project, learner: Learner
) -> None:
    first = project.build(now=1_800_000_000)
    assert learner.import_deck(first).new == ["1", "2", "2-1"]
    learner.review("1", ease=3)
    learner.review("2", ease=4)
    history_before = learner.history("1")
    assert len(history_before) == 1

    # Rebuild without changes: same bytes, and the importer has nothing to do.
    digest = sha256(first)
    lock_before = project.lock.read_text()
    again = project.build(now=1_800_100_000)
    assert sha256(again) == digest
    assert project.lock.read_text() == lock_before
    log = learner.import_deck(again)
    assert (log.new, log.updated) == ([], [])

    # Edit one answer: exactly that note is updated, its review history intact.
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The intercept (offset)."))
    log = learner.import_deck(project.build(now=1_800_200_000))
    assert (log.new, log.updated) == ([], ["2-1"])
    assert learner.notes()["2-1"]["Answer"] == "<p>The intercept (offset).</p>"
    assert learner.history("1") == history_before
    assert learner.notes()["1"].cards()[0].reps == 1

    # Add a note: exactly one new.
    project.write(
        "cards/02-more.md",
        "## #3\n\n### What is tanh?\n\n$\\tanh(x) = \\frac{e^x - e^{-x}}{e^x + e^{-x}}$\n",
    )
    log = learner.import_deck(project.build(now=1_800_300_000))
    assert (log.new, log.updated) == (["3"], [])

    # Move a note to another file: no new note (the GUID comes from the id only).
    basics = project.read("cards/01-basics.md")
    start = basics.index("## #2-1")
    project.write(
        "cards/01-basics.md",
        basics[:start].replace("    - [What is $b$ in $y = wx + b$?](#2-1)\n", ""),
    )
    project.write("cards/02-more.md", project.read("cards/02-more.md") + "\n" + basics[start:])
    log = learner.import_deck(project.build(now=1_800_400_000))
    assert log.new == []
    assert len(learner.notes()) == 4

    # Change a figure: the referencing note is updated and the new file arrives.
    project.write("media/relu.svg", RELU_CHANGED)
    log = learner.import_deck(project.build(now=1_800_500_000))
    assert (log.new, log.updated) == ([], ["1"])
    names = [n for n in learner.media_files() if n.startswith("relu-")]
    assert len(names) == 2, "the changed figure has a new content-addressed name"
    new_name = next(n for n in names if n in learner.notes()["1"]["Answer"])
    assert (learner.col.media.dir() + "/" + new_name).endswith(".svg")
    assert learner.history("1") == history_before
    assert len(learner.notes()) == 4


RELU_CHANGED = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 9 L5 9 L10 0"/></svg>\n'


def test_a_learners_own_edit_to_an_unchanged_note_survives_the_next_release(
    project: Project, learner: Learner
) -> None:
    # The learner's edit is stamped by Anki's clock: release before it, and again after it.
    now = int(time.time())
    learner.import_deck(project.build(now=now - 86_400))
    note = learner.notes()["2"]
    note["Answer"] = "my own words"
    learner.col.update_note(note)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    log = learner.import_deck(project.build(now=now + 1))
    assert log.updated == ["2-1"]
    assert learner.notes()["2"]["Answer"] == "my own words"


def test_css_change_reaches_learners_who_already_have_the_note_type(
    project: Project, learner: Learner, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from ml_anki import notetype

    learner.import_deck(project.build(now=1_800_000_000))
    original = notetype.look()
    changed = notetype.NoteTypeLook(original.templates, original.css + "\n.x{}")
    monkeypatch.setattr(notetype, "look", lambda kind="qa": changed)
    result = project.cli("build", now=1_800_000_500)
    assert result.exit_code == 0, result.output
    assert "note type (templates/CSS) updated" in result.stdout
    learner.import_deck(project.deck)
    model = learner.col.models.by_name("sample Q&A")
    assert model is not None and model["css"].endswith(".x{}")
    assert len(learner.col.models.all_names_and_ids()) == len(
        {m.name for m in learner.col.models.all_names_and_ids()}
    ), "no second copy of the note type"


def test_an_edit_always_gets_a_newer_mod_even_when_the_clock_is_behind(
    project: Project, learner: Learner
) -> None:
    learner.import_deck(project.build(now=1_800_000_000))
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    # SOURCE_DATE_EPOCH pinned to the same second as the first release.
    log = learner.import_deck(project.build(now=1_800_000_000))
    assert log.updated == ["2-1"]


def test_only_numbered_ids_and_declared_parents_give_a_card_context(
    project: Project, learner: Learner
) -> None:
    project.write(
        "cards/02-shell.md",
        "## #ls\n\n### List the files\n\n`ls`\n\n"
        "## #ls-h\n\n### Sizes for humans?\n\n`ls -h`\n\n"
        "## #ls-l {parent=ls}\n\n### ...one per line, with details?\n\n`ls -l`\n",
    )
    learner.import_deck(project.build())
    notes = learner.notes()
    assert notes["2-1"]["Context"] == "Why a bias?"
    assert notes["ls-h"]["Context"] == ""
    assert notes["ls-l"]["Context"] == "List the files"
