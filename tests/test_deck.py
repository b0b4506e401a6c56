"""The decided deck: the one value `build`, `diff`, `preview` and `release` read."""

from __future__ import annotations

from pathlib import Path

from conftest import Project
from ml_anki import apkg, config, package
from ml_anki.build import plan


def decided(project: Project, now: int = 1_800_000_000):  # type: ignore[no-untyped-def]
    return plan(config.load(project.root, now=now)).deck


def test_a_package_reads_back_as_the_deck_it_was_written_from(project: Project) -> None:
    deck = decided(project)
    assert apkg.read_bytes(package.write(deck), Path("x.apkg")) == deck
    assert apkg.read(project.build()) == deck


def test_the_deck_value_describes_everything_that_ships(project: Project) -> None:
    deck = decided(project)
    assert (deck.name, deck.id) == ("Sample deck", 1700000000002)
    assert deck.description.startswith("<b>Sample deck</b> v1.0.0 · 3 notes")
    (qa,) = deck.notetypes
    assert (qa.id, qa.name, qa.cloze, qa.sort_field) == (1700000000001, "sample Q&A", False, 0)
    assert [deck.label(n) for n in deck.notes] == ["1", "2", "2-1"]
    relu = deck.notes[0]
    assert deck.fields(relu)["Question"] == "What is ReLU?"
    assert relu.tags == ("sample::basics",)
    assert [(c.ord, c.id) for c in relu.cards] == [(0, relu.note_id)]
    assert relu.note_id == 1_800_000_000_000 and relu.mod == 1_800_000_000
    (media,) = deck.media
    assert media.name.startswith("relu-") and media.source == project.root / "media/relu.svg"


def test_the_guid_rule_is_genankis_which_every_released_note_has() -> None:
    import genanki

    from ml_anki.deck import guid

    for namespace, note_id in [
        ("ml-interview", "12-1"),
        ("sample", "1"),
        ("ns", "한국어"),
        ("", ""),
    ]:
        assert guid(namespace, note_id) == genanki.guid_for(namespace, note_id)
