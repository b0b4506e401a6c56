"""`ml-anki diff`: what a maintainer reads before releasing, and what unreadable input gets."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from conftest import BASICS, Project

MORE = "## #3\n\n### What is tanh?\n\nA squashing function.\n"


def built_copy(project: Project, name: str, now: int = 1_800_000_000) -> str:
    """Build the current sources and keep the deck under `name` (the next build overwrites it)."""
    shutil.copy(project.build(now=now), project.root / name)
    return name


def diff(project: Project, *args: str) -> str:
    result = project.cli("diff", *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def test_added_changed_and_removed_notes_in_id_order_then_a_summary(project: Project) -> None:
    old = built_copy(project, "old.apkg")
    basics = BASICS.replace("The intercept.", "The intercept (offset).")
    basics = basics.replace("- [What is ReLU?](#1)\n", "")
    project.write(
        "cards/01-basics.md", basics[: basics.index("## #1\n")] + basics[basics.index("## #2\n") :]
    )
    project.write("cards/02-more.md", MORE)
    new = built_copy(project, "new.apkg", now=1_800_000_100)
    relu = next(name for name in json.loads(zip_member(old, "media")).values())
    assert diff(project, old, new) == (
        "- #1  What is ReLU?\n"
        "~ #2-1  What is \\(b\\) in \\(y = wx + b\\)?\n"
        "+ #3  What is tanh?\n"
        f"- media {relu}\n"
        "1 added, 1 changed, 1 removed, 1 unchanged · media: 1 removed\n"
    )
    # -q: nothing but errors; the decks were readable, so nothing at all.
    assert diff(project, "-q", old, new) == ""


def test_verbose_shows_the_words_a_learner_reads_not_the_html(project: Project) -> None:
    old = built_copy(project, "old.apkg")
    project.write(
        "cards/01-basics.md",
        BASICS.replace("**ReLU is", "**The rectifier, ReLU, is").replace("derivative", "slope"),
    )
    assert diff(project, "-v", old) == (
        "~ #1  What is ReLU?\n"
        "    Answer: [-ReLU-]{+The rectifier, ReLU,+} is \\(\\max(0, x)\\). Its "
        "[-derivative-]{+slope+} is \\(1\\) for \\(x > 0\\) …\n"
        "0 added, 1 changed, 0 removed, 2 unchanged\n"
    )


def test_a_changed_figure_shows_as_new_media_and_in_the_note(project: Project) -> None:
    old = built_copy(project, "old.apkg")
    (before,) = json.loads(zip_member(old, "media")).values()
    project.write("media/relu.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    new = built_copy(project, "new.apkg")
    (after,) = json.loads(zip_member(new, "media")).values()
    out = diff(project, "-v", old, new).splitlines()
    assert out[0] == "~ #1  What is ReLU?"
    assert f"[-image:{before}-]{{+image:{after}+}}" in out[1]
    assert out[2:] == [
        *sorted([f"- media {before}", f"+ media {after}"], key=lambda line: line[8:]),
        "0 added, 1 changed, 0 removed, 2 unchanged · media: 1 added, 1 removed",
    ]


def test_template_and_css_changes_of_the_note_type(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_anki import notetype

    old = built_copy(project, "old.apkg")
    look = notetype.look()
    changed = notetype.NoteTypeLook(
        ((look.front_html, look.back_html + "<!-- -->"),), look.css + ".x{}"
    )
    monkeypatch.setattr(notetype, "look", lambda kind="qa": changed)
    assert diff(project, old) == (
        "~ note type 'sample Q&A' changed: back template, CSS\n"
        "0 added, 0 changed, 0 removed, 3 unchanged · note type changed\n"
    )


def test_a_schema_change_is_named_with_its_consequence(project: Project) -> None:
    new = built_copy(project, "new.apkg")
    old = project.root / "old.apkg"
    with_models(
        project.root / new,
        old,
        lambda model: model["flds"].append({**model["flds"][-1], "name": "Hint", "ord": 9}),
    )
    assert diff(project, "old.apkg", new) == (
        "~ note type 'sample Q&A' changed: fields (Id, Question, Context, Answer, References, "
        "Version, Retired, Source, Extra, Hint → Id, Question, Context, Answer, References, "
        "Version, Retired, Source, Extra) — a schema change: Anki marks every learner's existing "
        "note as conflicting and stops updating it\n"
        "0 added, 0 changed, 0 removed, 3 unchanged · note type changed\n"
    )


def test_identical_decks_and_the_current_sources_write_nothing(project: Project) -> None:
    old = built_copy(project, "old.apkg")
    files = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()}
    assert diff(project, old, old) == "no differences: 3 notes, same note type and media\n"
    # Without NEW: the deck the sources would build now, with nothing written.
    assert diff(project, old) == "no differences: 3 notes, same note type and media\n"
    project.write("cards/02-more.md", MORE)
    files[project.root / "cards" / "02-more.md"] = (project.root / "cards/02-more.md").read_bytes()
    assert diff(project, old) == "+ #3  What is tanh?\n1 added, 0 changed, 0 removed, 3 unchanged\n"
    assert {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()} == files


def test_a_retired_note_counts_as_removed(project: Project) -> None:
    assert project.cli("release", now=1_800_000_000).exit_code == 0
    project.write(
        "cards/01-basics.md", BASICS.replace("## #2-1", "## #2-2").replace("(#2-1)", "(#2-2)")
    )
    result = project.cli("release", "minor", now=1_800_000_100)
    assert result.exit_code == 0, result.output
    assert diff(project, "dist/sample-v1.0.0.apkg", "dist/sample-v1.1.0.apkg") == (
        "- #2-1  What is \\(b\\) in \\(y = wx + b\\)?\n"
        "+ #2-2  What is \\(b\\) in \\(y = wx + b\\)?\n"
        "1 added, 0 changed, 1 removed, 2 unchanged\n"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "nope.apkg: error: file not found"),
        (lambda p: p.mkdir(), "nope.apkg: error: is a directory, not an .apkg file"),
        (
            lambda p: p.write_text("hello"),
            "nope.apkg: error: not an Anki package (.apkg files are zip archives)",
        ),
        (
            lambda p: write_zip(p, {"media": b"{}"}),
            (
                "nope.apkg: error: not an Anki package: it holds no collection.anki21 or "
                "collection.anki2"
            ),
        ),
        (
            lambda p: write_zip(p, {"collection.anki21b": b"\x28\xb5\x2f\xfd", "media": b""}),
            (
                "nope.apkg: error: the collection is in the compressed format of recent Anki exports, "
                "which ml-anki cannot read; export it again with 'Support older Anki versions' on"
            ),
        ),
        (
            lambda p: write_zip(p, {"collection.anki2": b"not sqlite at all" * 100}),
            (
                "nope.apkg: error: collection.anki2 is not a readable Anki collection (file is not a "
                "database)"
            ),
        ),
    ],
    ids=["missing", "directory", "not-zip", "no-collection", "anki21b", "not-sqlite"],
)
def test_unreadable_input_exits_2_with_a_clear_message(project: Project, make, message) -> None:  # type: ignore[no-untyped-def]
    good = built_copy(project, "good.apkg")
    if make is not None:
        make(project.root / "nope.apkg")
    for args in (("nope.apkg", good), (good, "nope.apkg"), ("nope.apkg",)):
        result = project.cli("diff", *args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", message + "\n"), args


def zip_member(path: str, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def with_models(source: Path, target: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Copy a package, changing its note types' JSON as `edit` does to each."""
    work = target.with_suffix(".anki2")
    work.write_bytes(zip_member(str(source), "collection.anki2"))
    conn = sqlite3.connect(work)
    models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
    for model in models.values():
        edit(model)
    conn.execute("UPDATE col SET models = ?", (json.dumps(models),))
    conn.commit()
    conn.close()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = work.read_bytes() if info.filename == "collection.anki2" else original.read(info)
            copy.writestr(info.filename, data)
    work.unlink()
