"""`ml-anki release`: what learners get from a release, and every refusal, as a maintainer sees it."""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from pathlib import Path

import pytest

from conftest import BASICS, PYPROJECT, Project
from learner import Learner
from ml_anki import changelog

V1 = 1_800_000_000
BUILD = 1_800_050_000
V2 = 1_800_100_000
V3 = 1_800_200_000

MORE = "## #3\n\n### What is tanh?\n\nA squashing function, $\\tanh(x) \\in (-1, 1)$.\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release(project: Project, *args: str, now: int) -> str:
    result = project.cli("release", *args, now=now)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(project: Project, *args: str, now: int = V2) -> str:
    """The release is refused with exit 1, and not a byte of the project changed."""
    before = snapshot(project)
    result = project.cli("release", *args, now=now)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert snapshot(project) == before
    return result.stderr


def snapshot(project: Project) -> dict[str, bytes]:
    return {
        str(p.relative_to(project.root)): p.read_bytes()
        for p in sorted(project.root.rglob("*"))
        if p.is_file()
    }


def lock_entry(project: Project, note_id: str) -> dict[str, object]:
    entry: dict[str, object] = json.loads(project.lock.read_text())["notes"][note_id]
    return entry


def retire_relu_edit_bias_add_tanh(project: Project) -> None:
    """The v1.1.0 edits: #1 (and its figure) removed, #2-1 edited, #3 added."""
    basics = BASICS.replace("The intercept.", "The intercept (offset).")
    basics = basics.replace("- [What is ReLU?](#1)\n", "")
    start, end = basics.index("## #1\n"), basics.index("## #2\n")
    project.write("cards/01-basics.md", basics[:start] + basics[end:])
    (project.root / "media" / "relu.svg").unlink()
    project.write("cards/02-more.md", MORE)


def test_first_release_names_the_project_version_and_writes_everything(project: Project) -> None:
    pyproject = project.read("pyproject.toml")
    out = release(project, now=V1)
    assert out == (
        "Released v1.0.0 (first release): 3 notes, 3 added, 0 changed, 0 removed\n"
        "dist/sample-v1.0.0.apkg\n"
        "Commit and tag it, then publish the deck (keep it: the next release reads it to retire "
        "notes):\n"
        "  git add pyproject.toml ml-anki.lock CHANGELOG.md cards media && git commit -m "
        '"Release v1.0.0" && git tag v1.0.0\n'
    )
    assert project.read("pyproject.toml") == pyproject
    assert json.loads(project.lock.read_text())["released"] == "1.0.0"
    assert project.read("CHANGELOG.md") == (
        "# Changelog\n"
        "\n"
        "What each release of the deck added, changed and removed, newest first. Import a release "
        "over\nthe one you have: changed notes are updated in place and keep their review "
        "history. Removed\nnotes stay in your collection (Anki never deletes them) with a line on "
        "the card saying so and\nthe tag `sample::retired`: search `tag:sample::retired` to "
        "suspend or delete them.\n"
        "\n"
        "## v1.0.0 — 2027-01-15\n"
        "\n"
        "3 notes · 3 added · 0 changed · 0 removed\n"
        "\n"
        "### Added\n"
        "\n"
        "- #1 What is ReLU?\n"
        "- #2 Why a bias?\n"
        "- #2-1 What is $b$ in $y = wx + b$?\n"
        "\n"
        f"`sample-v1.0.0.apkg` sha256 `{sha256(project.deck)}`\n"
    )
    # A rebuild of the released sources is the release, byte for byte.
    released = sha256(project.deck)
    assert project.build(now=V1 + 999) == project.deck
    assert sha256(project.deck) == released


def test_a_bump_changes_only_the_version_line_of_pyproject(project: Project) -> None:
    project.write("pyproject.toml", PYPROJECT.format(version="1.0.0") + "# version = 'x'\n")
    out = release(project, "minor", now=V1)
    assert out.startswith("Released v1.1.0 (first release): 3 notes, 3 added")
    assert project.read("pyproject.toml") == (
        PYPROJECT.format(version="1.1.0") + "# version = 'x'\n"
    )
    assert (project.root / "dist" / "sample-v1.1.0.apkg").is_file()
    assert not project.deck.exists()


def test_release_cycle_with_the_official_importer(project: Project, learner: Learner) -> None:
    release(project, now=V1)
    v1 = project.deck
    v1_bytes = v1.read_bytes()
    assert learner.import_deck(v1).new == ["1", "2", "2-1"]
    learner.review("1", ease=3)
    learner.review("2-1", ease=4)
    relu_before = dict(learner.notes()["1"].items())
    history = {i: learner.history(i) for i in ("1", "2-1")}
    (relu_figure,) = [m for m in learner.media_files() if m.startswith("relu-")]

    retire_relu_edit_bias_add_tanh(project)
    # A build between releases is not a release: the released deck stays as it was shipped.
    assert project.build(now=BUILD).name == "sample-v1.0.0+dev.apkg"
    assert v1.read_bytes() == v1_bytes
    assert lock_entry(project, "2-1")["version"] == "unreleased"
    assert lock_entry(project, "2-1")["since"] == "1.0.0"
    assert lock_entry(project, "3")["version"] == "unreleased"

    out = release(project, "minor", "--replaced-by", "1=3", "-v", now=V2)
    assert out.splitlines()[:5] == [
        "Released v1.1.0 (after v1.0.0): 3 notes, 1 added, 1 changed, 1 removed",
        "  + #3  What is tanh?",
        "  ~ #2-1  What is $b$ in $y = wx + b$?",
        "  - #1  What is ReLU?",
        "dist/sample-v1.1.0.apkg",
    ]
    assert out.splitlines()[-1] == (
        "  git add pyproject.toml ml-anki.lock CHANGELOG.md cards media && "
        'git commit -m "Release v1.1.0" && git tag v1.1.0'
    )
    assert 'version = "1.1.0"' in project.read("pyproject.toml")
    # Every change since v1.0.0 carries the release time, not the time of the build in between.
    assert {i: lock_entry(project, i)["mod"] for i in ("1", "2", "2-1", "3")} == {
        "1": V2, "2": V1, "2-1": V2, "3": V2,
    }  # fmt: skip

    log = learner.import_deck(project.root / "dist" / "sample-v1.1.0.apkg")
    assert (log.new, log.updated, log.conflicting) == (["3"], ["1", "2-1"], [])
    notes = learner.notes()  # asserts that no note was duplicated
    assert sorted(notes) == ["1", "2", "2-1", "3"]
    assert notes["2-1"]["Answer"] == "<p>The intercept (offset).</p>"
    assert notes["2-1"]["Version"] == "1.1.0"
    assert notes["3"]["Version"] == "1.1.0"
    assert {i: learner.history(i) for i in ("1", "2-1")} == history
    # The retired note: same content, marked, tagged under the deck's prefix.
    relu = notes["1"]
    assert relu["Retired"] == "Retired in v1.1.0 · replaced by #3 What is tanh?"
    assert relu["Version"] == "1.1.0"
    for field in ("Question", "Context", "Answer", "References"):
        assert relu[field] == relu_before[field], field
    assert f'src="{relu_figure}"' in relu["Answer"]
    assert relu_figure in learner.media_files()
    # Retiring it is its change in v1.1.0: it is found among that release's changes too.
    assert relu.tags == ["sample::basics", "sample::changed::v1.1.0", "sample::retired"]
    assert learner.col.find_notes("tag:sample::retired") == [relu.id]
    _, back = learner.card_html("1")
    assert '<div class="mla-retired">Retired in v1.1.0 · replaced by #3 What is tanh?</div>' in back
    description = learner.col.decks.by_name("Sample deck")["desc"]
    assert description == (
        "<b>Sample deck</b> v1.1.0 · 3 notes · 1 retired<br>New in v1.1.0:<ul>"
        "<li>added #3 What is tanh?</li>"
        '<li>changed #2-1 What is <span class="arithmatex">\\(b\\)</span> in '
        '<span class="arithmatex">\\(y = wx + b\\)</span>?</li>'
        "<li>retired #1 What is ReLU?</li></ul>"
    )
    section = project.read("CHANGELOG.md").split("## v1.1.0")[1].split("## v1.0.0")[0]
    assert section == (
        " — 2027-01-16\n"
        "\n"
        "3 notes · 1 retired · 1 added · 1 changed · 1 removed\n"
        "\n"
        "### Added\n"
        "\n"
        "- #3 What is tanh?\n"
        "\n"
        "### Changed\n"
        "\n"
        "- #2-1 What is $b$ in $y = wx + b$?\n"
        "\n"
        "### Removed\n"
        "\n"
        "- #1 What is ReLU? (replaced by #3)\n"
        "\n"
        f"`sample-v1.1.0.apkg` sha256 `{sha256(project.root / 'dist' / 'sample-v1.1.0.apkg')}`\n"
        "\n"
    )

    # The next release still ships the retired note, unchanged, with no v1.0.0 package around.
    v1.unlink()
    project.write("cards/02-more.md", MORE.replace("A squashing", "An S-shaped"))
    release(project, "patch", now=V3)
    log = learner.import_deck(project.root / "dist" / "sample-v1.1.1.apkg")
    assert (log.new, log.updated) == ([], ["3"])
    assert learner.notes()["1"]["Retired"] == "Retired in v1.1.0 · replaced by #3 What is tanh?"
    late = Learner(project.root.parent / "late" / "collection.anki2")
    try:
        assert late.import_deck(project.root / "dist" / "sample-v1.1.1.apkg").new == [
            "1", "2", "2-1", "3",
        ]  # fmt: skip
        assert late.notes()["1"].tags == [
            "sample::basics",
            "sample::changed::v1.1.0",
            "sample::retired",
        ]
    finally:
        late.close()


def test_a_retired_note_that_comes_back_is_restored_for_learners(
    project: Project, learner: Learner
) -> None:
    release(project, now=V1)
    learner.import_deck(project.deck)
    retire_relu_edit_bias_add_tanh(project)
    release(project, "minor", now=V2)
    learner.import_deck(project.root / "dist" / "sample-v1.1.0.apkg")
    assert learner.notes()["1"]["Retired"] == "Retired in v1.1.0"

    project.write("media/relu.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    project.write("cards/03-relu.md", BASICS[BASICS.index("## #1\n") : BASICS.index("## #2\n")])
    out = release(project, "minor", now=V3)
    assert out.startswith("Released v1.2.0 (after v1.1.0): 4 notes, 1 added, 0 changed, 0 removed")
    assert "- #1 What is ReLU? (restored)\n" in project.read("CHANGELOG.md")
    log = learner.import_deck(project.root / "dist" / "sample-v1.2.0.apkg")
    assert (log.new, log.updated) == ([], ["1"])
    relu = learner.notes()["1"]
    assert (relu["Retired"], relu.tags, relu["Version"]) == (
        "",
        ["sample::changed::v1.2.0", "sample::relu"],
        "1.2.0",
    )
    assert "retired" not in lock_entry(project, "1")


def test_a_version_set_by_hand_is_released_as_it_is(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    project.set_version("2.0.0")
    assert project.build(now=BUILD).name == "sample-v2.0.0.apkg"
    assert lock_entry(project, "2-1")["version"] == "2.0.0"
    out = release(project, now=V2)
    assert out.startswith("Released v2.0.0 (after v1.0.0): 3 notes, 0 added, 1 changed")
    assert lock_entry(project, "2-1")["mod"] == V2


def test_nothing_changed_since_the_last_release_is_refused(project: Project) -> None:
    release(project, now=V1)
    project.build(now=BUILD)  # a build in between changes nothing either
    assert refused(project, "patch") == (
        "ml-anki.lock: error: nothing changed since v1.0.0: every note, figure and the card "
        "templates are as released, so learners would get nothing new; edit the cards first "
        "(ml-anki diff dist/sample-v1.0.0.apkg shows what differs)\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_an_edit_built_before_the_release_is_still_released(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    project.build(now=BUILD)
    project.build(now=BUILD + 1)  # the lock now agrees with the sources: only it knows
    out = release(project, "patch", now=V2)
    assert out.startswith("Released v1.0.1 (after v1.0.0): 3 notes, 0 added, 1 changed")
    assert lock_entry(project, "2-1") == {
        "added": V1, "hash": lock_entry(project, "2-1")["hash"], "mod": V2,
        "question": "What is $b$ in $y = wx + b$?", "since": "1.0.0", "version": "1.0.1",
    }  # fmt: skip


def test_a_card_template_or_css_change_alone_is_a_release(
    project: Project, learner: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_anki import notetype

    release(project, now=V1)
    learner.import_deck(project.deck)
    look = notetype.look()
    changed = notetype.NoteTypeLook(look.templates, look.css + "\n.x{}")
    monkeypatch.setattr(notetype, "look", lambda kind="qa": changed)
    out = release(project, "patch", now=V2)
    assert out.startswith(
        "Released v1.0.1 (after v1.0.0): 3 notes, 0 added, 0 changed, 0 removed · note type "
        "(templates/CSS) updated\n"
    )
    assert "3 notes · 0 added · 0 changed · 0 removed · card templates/CSS updated\n" in (
        project.read("CHANGELOG.md")
    )
    learner.import_deck(project.root / "dist" / "sample-v1.0.1.apkg")
    model = learner.col.models.by_name("sample Q&A")
    assert model is not None and model["css"].endswith(".x{}")


def test_a_note_type_schema_change_is_refused_with_its_consequence(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    project.lock.write_text(project.lock.read_text().replace('"Extra"]', '"Extra", "Hint"]'))
    assert refused(project, "minor") == (
        "ml-anki.lock:3: error: the note type's fields or templates changed (locked fields: Id, "
        "Question, Context, Answer, References, Version, Retired, Source, Extra, Hint; now: Id, "
        "Question, Context, Answer, References, Version, Retired, Source, Extra). Anki would "
        "mark every learner's note as conflicting and leave it un-updated; restore the field "
        "list in notetype.py, or ship a new note type id as a breaking release\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_a_reused_id_is_refused_unless_the_question_was_only_reworded(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", BASICS.replace("Why a bias?", "What is a kernel?"))
    project.build(now=BUILD)  # the lock keeps the released question until the next release
    line = project.read("cards/01-basics.md").split("\n").index("## #2") + 1
    assert refused(project, "minor").endswith(
        f"cards/01-basics.md:{line}:1: error: note #2 was released asking 'Why a bias?' and now asks "
        "'What is a kernel?'; learners would keep the old question's review history for the new "
        "one. Give the new question a new id, or, if this only rewords the same question, "
        "release with --reworded 2\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    project.write("cards/01-basics.md", BASICS.replace("Why a bias?", "Why a bias term?"))
    release(project, "minor", "--reworded", "2", now=V2)
    assert "- #2 Why a bias term? (question reworded)\n" in project.read("CHANGELOG.md")
    assert lock_entry(project, "2")["question"] == "Why a bias term?"


def test_errors_in_the_cards_stop_the_release(project: Project) -> None:
    release(project, now=V1)
    broken = BASICS.replace("The intercept.", "The intercept ![b](../media/b.svg).")
    project.write("cards/01-basics.md", broken)
    stderr = refused(project, "patch")
    assert "error: image '../media/b.svg' not found (files in media/: relu.svg)\n" in stderr
    assert stderr.endswith("ml-anki: 1 error; nothing was written\n")


def test_a_released_version_is_never_released_again(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    assert refused(project) == (
        "pyproject.toml:3: error: v1.0.0 is not newer than the last release, v1.0.0 (recorded in "
        "ml-anki.lock); name the next version: ml-anki release patch, minor or major\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_retiring_needs_the_previous_release_package(project: Project) -> None:
    release(project, now=V1)
    kept = project.root.parent / "v1.0.0.apkg"
    project.deck.rename(kept)
    retire_relu_edit_bias_add_tanh(project)
    assert refused(project, "minor") == (
        "dist/sample-v1.0.0.apkg: error: file not found; #1 left the cards, and to keep shipping "
        "them retired (learners keep their copy) ml-anki needs the fields they were released "
        "with: put the v1.0.0 release's .apkg here or pass --previous FILE, or restore the notes\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    release(project, "minor", "--previous", str(kept), now=V2)
    assert lock_entry(project, "1")["retired"] is not None


def test_a_note_added_and_removed_between_releases_is_simply_forgotten(project: Project) -> None:
    release(project, now=V1)
    project.write("cards/02-more.md", MORE)
    project.build(now=BUILD)
    project.write("cards/02-more.md", MORE.replace("#3", "#4"))
    project.deck.unlink()  # not needed: #3 never shipped, so there is nothing to retire
    release(project, "minor", now=V2)
    notes = json.loads(project.lock.read_text())["notes"]
    assert sorted(notes) == ["1", "2", "2-1", "4"]


def test_bad_replacements_are_refused(project: Project) -> None:
    release(project, now=V1)
    retire_relu_edit_bias_add_tanh(project)
    assert refused(project, "minor", "--replaced-by", "2=3", "--replaced-by", "1=9") == (
        "error: --replaced-by 1=9: #9 (the replacement of #1) is not in the cards\n"
        "error: --replaced-by 2=3: #2 is not a released note leaving the cards in this release "
        "(leaving: #1)\n"
        "ml-anki: 2 errors; nothing was written\n"
    )
    result = project.cli("release", "minor", "--replaced-by", "1")
    assert result.exit_code == 2
    assert "Invalid value for '--replaced-by': '1': write OLD=NEW, e.g. 7=12-5" in result.stderr


def test_an_unknown_bump_is_a_usage_error(project: Project) -> None:
    result = project.cli("release", "huge")
    assert result.exit_code == 2
    assert "'huge' is not one of 'major', 'minor', 'patch'" in result.stderr
    assert not project.lock.exists()


def test_a_leftover_section_for_the_version_is_replaced_not_duplicated(project: Project) -> None:
    project.write("CHANGELOG.md", "# Changelog\n\nIntro.\n\n## v1.0.0 — 2020-01-01\n\nby hand\n")
    release(project, now=V1)
    text = project.read("CHANGELOG.md")
    assert text.startswith("# Changelog\n\nIntro.\n\n## v1.0.0 — 2027-01-15\n\n3 notes · 3 added")
    assert text.count("## v1.0.0") == 1 and "by hand" not in text


def test_the_changelog_records_the_first_release_of_the_real_deck() -> None:
    from test_cards import GUIDE

    text = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith(changelog.HEADER.format(prefix="ml-interview"))
    first = text[text.index("## v1.0.0 — ") :]
    date = first.split("\n")[0].removeprefix("## v1.0.0 — ")
    added = tuple(changelog.Entry(note_id, question) for note_id, question in GUIDE.items())
    section = changelog.Section(
        version="1.0.0",
        released=calendar.timegm(time.strptime(date, "%Y-%m-%d")),
        notes=len(GUIDE),
        retired=0,
        added=added,
        changed=(),
        removed=(),
        notetype_changed=False,
    )
    assert first == changelog.render(section), "the format `ml-anki release` writes"


def test_a_damaged_release_record_in_the_lock_is_reported(project: Project) -> None:
    release(project, now=V1)
    project.lock.write_text(
        project.lock.read_text().replace('"released": "1.0.0"', '"released": 1')
    )
    assert refused(project, "patch") == (
        'ml-anki.lock:4:1: error: "released" must be the last released version, like "1.2.0", '
        "got 1; restore it from the last release's lock in git\n"
        "ml-anki: 1 error; nothing was written\n"
    )
