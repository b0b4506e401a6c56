"""A new author's first minutes: `ml-anki init`, a first build, and an identity of their own.

The end-to-end test imports a new deck into a collection that already holds this repository's
deck, with note ids that both decks use, and proves that neither deck touches the other's notes.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from learner import Learner
from ml_anki import build as build_mod
from ml_anki import config as config_mod
from ml_anki import scaffold
from ml_anki.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "pyproject.toml",
    "cards/01-getting-started.md",
    "media/circle.svg",
    ".gitignore",
    "README.md",
]


def run(*args: str, now: int = 1_800_000_000) -> Result:
    return CliRunner().invoke(main, list(args), env={"SOURCE_DATE_EPOCH": str(now)})


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_project_that_builds_at_once(workdir: Path) -> None:
    result = run("init", "spanish", "--name", "Spanish verbs")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Created the deck 'Spanish verbs' in spanish/:\n"
        + "".join(f"  {name}\n" for name in FILES)
        + "Next: cd spanish && ml-anki build, then import the .apkg it prints into Anki.\n"
    )
    assert sorted(str(p.relative_to(workdir / "spanish")) for p in (workdir / "spanish").rglob("*")
                  if p.is_file()) == sorted(FILES)  # fmt: skip
    assert (workdir / "spanish/.gitignore").read_text() == "/dist/\n/preview/\n/.ml-anki.busy\n"
    readme = (workdir / "spanish/README.md").read_text()
    for command in ("ml-anki build", "ml-anki preview", "ml-anki push", "ml-anki release"):
        assert command in readme

    check = run("-C", "spanish", "check")
    assert (check.exit_code, check.output) == (0, "5 notes checked: no errors\n")
    build = run("-C", "spanish", "build")
    assert build.exit_code == 0, build.output
    assert build.stdout == (
        "5 notes: 5 added, 0 changed, 0 unchanged · 1 media files\ndist/spanish-verbs-v0.1.0.apkg\n"
    )
    config = config_mod.load(workdir / "spanish")
    assert (config.deck_name, config.language, config.warnings) == ("Spanish verbs", "en", ())

    # A sample of each note type, as a learner's Anki has them after the import.
    learner = Learner(workdir / "learner" / "collection.anki2")
    try:
        log = learner.import_deck(workdir / "spanish/dist/spanish-verbs-v0.1.0.apkg")
        assert log.new == ["1", "1-1", "2", "circle-formulas", "pi"]
        notes = learner.notes()
        kinds = {i: (n.note_type()["name"], len(n.cards())) for i, n in notes.items()}  # type: ignore[index]
        assert kinds == {
            "1": ("Spanish verbs Q&A", 1), "1-1": ("Spanish verbs Q&A", 1),
            "2": ("Spanish verbs Q&A", 1), "pi": ("Spanish verbs reverse", 2),
            "circle-formulas": ("Spanish verbs cloze", 2),
        }  # fmt: skip
        assert notes["1-1"]["Context"] == "What does <code>ml-anki build</code> write?"
    finally:
        learner.close()


def test_init_in_korean_writes_korean_samples(workdir: Path) -> None:
    result = run("-q", "init", "--name", "스페인어", "--language", "ko")
    assert (result.exit_code, result.output) == (0, "")
    config = config_mod.load(workdir)
    # A name without Latin letters: the slug comes from the directory.
    assert config.deck_slug == scaffold.slug_for(workdir.name)
    assert (config.deck_name, config.language) == ("스페인어", "ko")
    assert (
        "### 반지름이 $r$인 원의 넓이는?" in (workdir / "cards/01-getting-started.md").read_text()
    )
    assert run("build", "-q").exit_code == 0


def test_init_refuses_to_overwrite_and_names_the_files(workdir: Path) -> None:
    (workdir / "README.md").write_text("mine")
    (workdir / "pyproject.toml").write_text("[project]\n")
    result = run("init", "--name", "Deck")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        ".: error: init would overwrite pyproject.toml, README.md: run it in an empty directory, "
        "or `ml-anki init NEW-DIR` to create one\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert sorted(p.name for p in workdir.iterdir()) == ["README.md", "pyproject.toml"]
    assert (workdir / "README.md").read_text() == "mine"


def test_init_needs_a_name(workdir: Path) -> None:
    result = run("init", "deck")
    assert result.exit_code == 2
    assert result.stderr.endswith('Error: give the deck a name: --name "My deck" (Anki shows it)\n')
    assert not (workdir / "deck").exists()


def test_two_inits_never_share_a_namespace_or_an_id(workdir: Path) -> None:
    for name in ("a", "b"):
        assert run("init", name, "--name", name.upper()).exit_code == 0
    a, b = (config_mod.load(workdir / name) for name in ("a", "b"))
    assert a.namespace != b.namespace
    assert len({a.deck_id, a.notetype_id, b.deck_id, b.notetype_id}) == 4
    identities = [scaffold.fresh_identity("x") for _ in range(2000)]
    assert len({i.namespace for i in identities}) == 2000
    ids = [
        n
        for i in identities
        for n in (i.deck_id, i.notetype_id, i.reverse_notetype_id, i.cloze_notetype_id)
    ]
    assert len(set(ids)) == len(ids)
    assert all(scaffold.ID_MIN <= n <= config_mod.ID_MAX for n in ids)


def test_print_ids_writes_nothing_and_prints_lines_to_paste(workdir: Path) -> None:
    result = run("init", "--print-ids", "--name", "Spanish verbs")
    assert result.exit_code == 0
    values = tomllib.loads(result.stdout)
    assert sorted(values) == [
        "cloze-notetype-id",
        "deck-id",
        "namespace",
        "notetype-id",
        "reverse-notetype-id",
    ]
    assert values["namespace"].startswith("spanish-verbs-") and len(values["namespace"]) == 30
    assert list(workdir.iterdir()) == []


CARDS = """\
# Verbs

## #1

### *hablar*

to speak

## #2

### *comer*

to eat
"""


def deck_notes(learner: Learner, deck_name: str) -> dict[str, dict[str, object]]:
    """A deck's notes by `Id` field: fields, tags, mod and GUID."""
    notes = {}
    for note_id in learner.col.find_notes(f'"deck:{deck_name}"'):
        note = learner.col.get_note(note_id)
        notes[note["Id"]] = {
            "guid": note.guid, "mod": note.mod, "fields": dict(note.items()),
            "tags": list(note.tags), "type": note.mid,
        }  # fmt: skip
    return notes


def test_a_new_deck_and_this_repositorys_deck_never_touch_each_other(
    workdir: Path, tmp_path: Path
) -> None:
    # A learner who already studies this repository's deck...
    lock = tmp_path / "ml-interview.lock"
    lock.write_bytes((ROOT / "ml-anki.lock").read_bytes())
    ours = config_mod.load(ROOT, now=1_800_000_000)
    ours = dataclasses.replace(ours, out_dir=tmp_path / "ours", lock_path=lock)
    ml_deck = build_mod.build(ours).path
    learner = Learner(tmp_path / "learner" / "collection.anki2")
    try:
        learner.import_deck(ml_deck)
        learner.review("1")
        before = deck_notes(learner, ours.deck_name)
        assert {"1", "2", "12-1"} <= set(before)

        # ...gets a new author's deck whose notes are #1 and #2 as well.
        assert run("init", "verbs", "--name", "Spanish verbs").exit_code == 0
        (workdir / "verbs/cards/01-getting-started.md").unlink()
        (workdir / "verbs/media/circle.svg").unlink()
        (workdir / "verbs/cards/01-verbs.md").write_text(CARDS)
        check = run("-C", "verbs", "check")
        assert (check.exit_code, check.output) == (0, "2 notes checked: no errors\n")
        build = run("-C", "verbs", "build", "-q")
        assert build.exit_code == 0, build.output
        log = learner.import_deck(workdir / "verbs" / build.stdout.strip())
        assert (log.new, log.updated, log.duplicate, log.conflicting) == (["1", "2"], [], [], [])
        assert deck_notes(learner, ours.deck_name) == before
        assert learner.col.card_count() == len(before) + 2
        new = deck_notes(learner, "Spanish verbs")
        assert new["1"]["fields"]["Question"] == "<em>hablar</em>"
        assert {n["type"] for n in new.values()}.isdisjoint({n["type"] for n in before.values()})

        # An update of either deck changes only its own notes.
        (workdir / "verbs/cards/01-verbs.md").write_text(CARDS.replace("to eat", "to eat, to dine"))
        rebuilt = run("-C", "verbs", "build", "-q", now=1_800_000_500)
        log = learner.import_deck(workdir / "verbs" / rebuilt.stdout.strip())
        assert (log.new, log.updated) == ([], ["2"])
        assert deck_notes(learner, ours.deck_name) == before
        after_new = deck_notes(learner, "Spanish verbs")
        log = learner.import_deck(ml_deck)
        assert (log.new, log.updated, log.conflicting) == ([], [], [])
        assert deck_notes(learner, "Spanish verbs") == after_new
        # The review of this repository's #1 is still its only history.
        assert learner.col.db.scalar("select count() from revlog") == 1
    finally:
        learner.close()


def test_the_installed_command_as_a_new_author_types_it(tmp_path: Path) -> None:
    """The console script pip installs, typed as in a shell: init, check and build on another
    folder with -C, and init refusing to overwrite, each with its exit status."""
    import shutil
    import subprocess
    import sys

    script = shutil.which("ml-anki", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the ml-anki console script is not installed next to this Python")

    def shell(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
            env={"PATH": str(Path(sys.executable).parent), "SOURCE_DATE_EPOCH": "1800000000",
                 "ML_ANKI_CACHE_DIR": str(tmp_path / "cache")},
        )  # fmt: skip

    created = shell("init", "verbs", "--name", "Spanish verbs")
    assert created.returncode == 0, created.stderr
    assert "Created the deck 'Spanish verbs' in verbs/" in created.stdout
    checked = shell("-C", "verbs", "check")
    assert checked.returncode == 0, checked.stderr
    built = shell("-C", "verbs", "-q", "build")
    assert (built.returncode, built.stderr) == (0, "")
    assert built.stdout.strip().endswith(".apkg")
    assert (tmp_path / "verbs" / built.stdout.strip()).is_file()
    again = shell("init", "verbs", "--name", "Spanish verbs")
    assert again.returncode == 1
    assert "Traceback" not in again.stderr and "verbs/pyproject.toml" in again.stderr
