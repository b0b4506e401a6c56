"""What a learner sees of a release in Anki: tags naming the release that changed each note, the
notes whose answer it corrected (to relearn), and the release's notes checked against its package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import BASICS, Project
from learner import Learner
from test_release import V1, V2, lock_entry, refused, release, sha256


def correct_2_1_and_edit_2() -> str:
    """#2-1's answer was wrong (a correction to relearn); #2 only gains a sentence."""
    return BASICS.replace("The intercept.", "The offset added to $wx$: the intercept.").replace(
        "$w_1 x_1 + w_2 x_2 + b$.", "$w_1 x_1 + w_2 x_2 + b$. Without it every line passes 0."
    )


def test_import_over_a_release_tags_its_changes_and_its_corrections(
    project: Project, learner: Learner
) -> None:
    release(project, now=V1)
    assert learner.import_deck(project.deck).new == ["1", "2", "2-1"]
    learner.review("1", ease=3)
    learner.review("2-1", ease=4)
    history = {i: learner.history(i) for i in ("1", "2-1")}
    before = {i: note.tags for i, note in learner.notes().items()}
    assert before["1"] == ["sample::basics", "sample::changed::v1.0.0"]

    project.write("cards/01-basics.md", correct_2_1_and_edit_2())
    out = release(project, "minor", "--relearn", "#2-1", "-v", now=V2)
    assert out.splitlines()[:4] == [
        "Released v1.1.0 (after v1.0.0): 3 notes, 0 added, 2 changed, 0 removed, 1 to relearn",
        "  ~ #2  Why a bias?",
        "  ~ #2-1  What is $b$ in $y = wx + b$?",
        "  ! #2-1  What is $b$ in $y = wx + b$?",
    ]
    v2 = project.root / "dist" / "sample-v1.1.0.apkg"
    assert lock_entry(project, "2-1")["relearn"] == "1.1.0"
    assert "relearn" not in lock_entry(project, "2")
    # A rebuild of the released sources reproduces the release, relearn tag included.
    assert project.build(now=V2 + 999) == v2
    assert sha256(v2) == project.read("CHANGELOG.md").split("sha256 `")[1].split("`")[0]

    log = learner.import_deck(v2)
    assert (log.new, log.updated, log.conflicting) == ([], ["2", "2-1"], [])
    after = {i: note.tags for i, note in learner.notes().items()}
    assert after == {
        "1": before["1"],
        "2": ["sample::basics", "sample::changed::v1.1.0"],
        "2-1": ["sample::basics", "sample::changed::v1.1.0", "sample::relearn::v1.1.0"],
    }
    found = {
        tag: learner.col.find_notes(f"tag:sample::{tag}::v1.1.0") for tag in ("changed", "relearn")
    }
    assert [learner.col.get_note(n)["Id"] for n in found["relearn"]] == ["2-1"]
    assert sorted(learner.col.get_note(n)["Id"] for n in found["changed"]) == ["2", "2-1"]
    assert {i: learner.history(i) for i in ("1", "2-1")} == history

    section = project.read("CHANGELOG.md").split("## v1.1.0")[1].split("## v1.0.0")[0]
    assert (
        "### Relearn\n\nAnswers corrected in this release: what you memorized was wrong. In Anki, "
        "Browse, search `tag:sample::relearn::v1.1.0`, select them all and Forget (Reset) them "
        "to learn them again.\n\n- #2-1 What is $b$ in $y = wx + b$?\n"
    ) in section
    deck = learner.col.decks.by_name("Sample deck")
    assert deck is not None
    assert deck["desc"].endswith(
        "<br>Corrected in v1.1.0, relearn these (tag:sample::relearn::v1.1.0, then Forget):"
        '<ul><li>#2-1 What is <span class="arithmatex">\\(b\\)</span> in '
        '<span class="arithmatex">\\(y = wx + b\\)</span>?</li></ul>'
    )


def test_relearn_accepts_only_notes_this_release_changes(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", correct_2_1_and_edit_2())
    basics = project.root / "cards" / "01-basics.md"
    line = BASICS.split("\n").index("## #1") + 1
    assert refused(project, "minor", "--relearn", "2-1,1") == (
        f"{basics.relative_to(project.root)}:{line}:1: error: --relearn 1: #1 did not change "
        "since the last release: edit its answer first (released notes this release changes: "
        "#2, #2-1)\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert refused(project, "minor", "--relearn", "9") == (
        "error: --relearn 9: #9 is not in the cards (released notes this release changes: "
        "#2, #2-1)\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_release_notes_print_the_section_and_verify_the_package(
    project: Project, tmp_path: Path
) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", correct_2_1_and_edit_2())
    release(project, "minor", "--relearn", "2-1", now=V2)
    v2 = project.root / "dist" / "sample-v1.1.0.apkg"
    changelog = project.read("CHANGELOG.md")
    section = "## v1.1.0" + changelog.split("## v1.1.0")[1].split("## v1.0.0")[0].rstrip("\n")

    for version in ("v1.1.0", "1.1.0"):
        shown = project.cli("release-notes", version)
        assert (shown.exit_code, shown.stdout) == (0, section + "\n")
    verified = project.cli("release-notes", "v1.1.0", "--verify", str(v2))
    assert (verified.exit_code, verified.stdout) == (0, section + "\n")

    tampered = tmp_path / "sample-v1.1.0.apkg"
    shutil.copy(v2, tampered)
    with tampered.open("ab") as file:
        file.write(b"\0")
    failed = project.cli("release-notes", "v1.1.0", "--verify", str(tampered))
    assert (failed.exit_code, failed.stdout) == (1, "")
    assert failed.stderr == (
        f"{tampered}: error: sha256 {sha256(tampered)} is not the {sha256(v2)} that v1.1.0 "
        "recorded in CHANGELOG.md: this is not the released package\n"
    )

    missing = project.cli("release-notes", "2.0.0")
    assert (missing.exit_code, missing.stderr) == (
        2,
        "CHANGELOG.md: error: no section for v2.0.0; name a released version\n",
    )
    # A section written before releases recorded their package has nothing to verify against.
    project.write(
        "CHANGELOG.md", changelog.replace(f"`sample-v1.1.0.apkg` sha256 `{sha256(v2)}`\n", "")
    )
    old = project.cli("release-notes", "1.1.0", "--verify", str(v2))
    assert old.exit_code == 2
    assert old.stderr == (
        "CHANGELOG.md: error: the v1.1.0 section records no package sha256 (released before "
        "ml-anki recorded it), so there is nothing to verify against\n"
    )
    assert json.loads(project.lock.read_text())["released"] == "1.1.0", "nothing was written"
