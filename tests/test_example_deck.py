"""`examples/linux-commands/`, the deck authors copy to start their own, builds and imports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from learner import Learner
from ml_anki.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "linux-commands"


def build_example(tmp_path: Path) -> Path:
    """The example built from a copy (the repository's folder stays as it is)."""
    root = tmp_path / "linux-commands"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "preview", "*.lock"))
    result = CliRunner().invoke(
        main, ["-C", str(root), "build"], env={"SOURCE_DATE_EPOCH": "1800000000"}
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "", "the example has no warnings"
    return root / "dist" / "linux-commands-v1.0.0.apkg"


def test_the_example_uses_every_note_type_and_imports_with_every_card(
    tmp_path: Path, learner: Learner
) -> None:
    log = learner.import_deck(build_example(tmp_path))
    assert log.new == ["cd-back", "chmod-octal", "ls-a", "ls-long", "mode-bits", "pwd", "umask"]
    notes = learner.notes()
    shape = {
        note_id: (note.note_type()["name"], len(note.cards())) for note_id, note in notes.items()
    }
    assert shape == {
        "pwd": ("Linux commands reverse", 2),
        "cd-back": ("Linux commands reverse", 2),
        "ls-a": ("Linux commands reverse", 2),
        "ls-long": ("Linux commands Q&A", 1),
        "umask": ("Linux commands Q&A", 1),
        "chmod-octal": ("Linux commands cloze", 3),
        "mode-bits": ("Linux commands cloze", 2),
    }
    assert notes["ls-a"].tags == ["linux::files", "linux::navigation", "linux::shell"]
    third = notes["chmod-octal"].cards()[2]
    assert 'data-ordinal="3">[what?]</span>' in third.question()
    assert '<span class="cloze" data-ordinal="3">read only</span>' in third.answer()
    # The probability's TeX `}}` stays inside the deletion (Anki's best-known cloze pitfall).
    second = notes["mode-bits"].cards()[1]
    assert '<span class="arithmatex">\\(\\frac{1}{2^{9} }\\)</span></span>.' in second.answer()
    (deck,) = [d for d in learner.col.decks.all_names_and_ids() if d.name == "Linux commands"]
    assert learner.col.decks.get(deck.id)["desc"].startswith("<b>Linux commands</b> v1.0.0")


@pytest.mark.parametrize("command", ["check", "preview"])
def test_the_example_checks_and_previews_cleanly(tmp_path: Path, command: str) -> None:
    root = tmp_path / "linux-commands"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "preview", "*.lock"))
    result = CliRunner().invoke(main, ["-C", str(root), command])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
