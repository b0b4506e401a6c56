"""The command line as a user meets it: messages, exit codes, and nothing written on failure."""

from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import BASICS, Project
from ml_anki import __version__
from ml_anki.cli import main


def test_build_prints_a_summary_and_the_deck_path_last(project: Project) -> None:
    result = project.cli("build")
    assert result.exit_code == 0
    assert (
        result.stdout
        == "3 notes: 3 added, 0 changed, 0 unchanged · 1 media files\ndist/sample-v1.0.0.apkg\n"
    )
    assert result.stderr == ""
    assert project.deck.is_file()


def test_quiet_prints_only_the_path_and_verbose_lists_changes(project: Project) -> None:
    assert project.cli("-q", "build").stdout == "dist/sample-v1.0.0.apkg\n"
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    verbose = project.cli("build", "-v", now=1_800_000_100).stdout
    assert "  ~ #2-1\n" in verbose
    assert verbose.splitlines()[0] == "3 notes: 0 added, 1 changed, 2 unchanged · 1 media files"


def test_source_errors_are_one_line_each_exit_1_and_nothing_is_written(project: Project) -> None:
    project.write(
        "cards/02-bad.md",
        "## #1\n\n### Duplicate id\n\nA\n\n## #9\n\nno question\n\n## #10\n\n### Q\n\n![x](../media/nope.svg)\n",
    )
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "cards/02-bad.md:1:1: error: duplicate note id #1, first used at cards/01-basics.md:7:1; "
        "neither is in ml-anki.lock yet (no learner has either), so give this later one a new id\n"
        "cards/02-bad.md:7:1: error: note #9 has no question: put a '### <question>' line right after '## #9'\n"
        "cards/02-bad.md:15:1: error: image '../media/nope.svg' not found (files in media/: relu.svg)\n"
        "ml-anki: 3 errors; nothing was written\n"
    )
    assert "Traceback" not in result.output
    assert not (project.root / "dist").exists()
    assert not project.lock.exists()


def test_a_failed_build_leaves_the_previous_deck_and_lock_untouched(project: Project) -> None:
    project.build()
    deck, lock = project.deck.read_bytes(), project.lock.read_bytes()
    project.write("cards/01-basics.md", BASICS.replace("### Why a bias?", "Why a bias?"))
    result = project.cli("build", now=1_800_000_500)
    assert result.exit_code == 1
    assert "note #2 has no question" in result.stderr
    assert project.deck.read_bytes() == deck and project.lock.read_bytes() == lock
    assert sorted(p.name for p in (project.root / "dist").iterdir()) == ["sample-v1.0.0.apkg"]


def test_check_writes_nothing_and_reports_toc_mismatches(project: Project) -> None:
    project.write(
        "cards/01-basics.md",
        BASICS.replace("- [Why a bias?](#2)", "- [Why bias?](#2)\n- [Gone](#7)"),
    )
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        (
            "cards/01-basics.md:4:3: error: table of contents text for #2 differs from its question at "
            "cards/01-basics.md:31: 'Why bias?' ≠ 'Why a bias?'"
        ),
        (
            "cards/01-basics.md:5:3: error: table of contents links to #7, but no note has that id; "
            "fix the link or add the note"
        ),
    ]
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_check_passes_on_clean_sources(project: Project) -> None:
    result = project.cli("check")
    assert (result.exit_code, result.stdout) == (0, "3 notes checked: no errors\n")


def test_changing_the_note_type_schema_is_refused_with_the_consequence(project: Project) -> None:
    project.build()
    locked = project.lock.read_text().replace('"Extra"', '"Extra", "Hint"')
    project.lock.write_text(locked)
    deck = project.deck.read_bytes()
    result = project.cli("build", now=1_800_000_900)
    assert result.exit_code == 1
    assert "ml-anki.lock:3: error: the note type's fields or templates changed" in result.stderr
    assert "mark every learner's note as conflicting" in result.stderr
    assert project.deck.read_bytes() == deck


def test_a_mangled_lock_is_reported_with_its_line_and_a_repair(project: Project) -> None:
    project.build()
    lines = project.lock.read_text().splitlines()
    lines.insert(4, "<<<<<<< HEAD")
    project.lock.write_text("\n".join(lines))
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ml-anki.lock:5:1: error: merge conflict marker in the lock file;"
    )
    project.lock.write_text(
        project.lock.read_text().replace("<<<<<<< HEAD\n", "").replace('"hash"', '"hsh"', 1)
    )
    result = project.cli("build")
    assert result.exit_code == 1
    assert "ml-anki.lock:5:1: error: damaged entry for note #1" in result.stderr
    assert "delete the damaged note lines" in result.stderr


def test_lock_is_one_sorted_line_per_note(project: Project) -> None:
    project.build()
    text = project.lock.read_text()
    data = json.loads(text)
    assert list(data["notes"]) == ["1", "2", "2-1"]
    note_lines = [line for line in text.splitlines() if line.startswith('    "')]
    assert [line.split('"')[1] for line in note_lines] == ["1", "2", "2-1"]
    assert data["notes"]["1"] == {
        "added": 1_800_000_000, "hash": data["notes"]["1"]["hash"], "mod": 1_800_000_000,
        "question": "What is ReLU?", "version": "1.0.0",
    }  # fmt: skip


def test_outside_a_project_the_error_says_where_to_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 1
    assert (
        "no pyproject.toml with a [tool.ml-anki] table here or in any parent directory"
        in result.stderr
    )


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).stdout == f"ml-anki, version {__version__}\n"
    help_text = runner.invoke(main, ["--help"]).stdout
    assert "ml-anki build" in help_text and "## #<id>" in help_text
    for command in ("build", "check"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "--cards" in result.stdout


def test_unknown_option_is_a_usage_error_with_status_2(project: Project) -> None:
    result = project.cli("build", "--frobnicate")
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_cards_and_out_options(project: Project) -> None:
    (project.root / "cards").rename(project.root / "src-cards")
    result = project.cli("build", "--cards", "src-cards", "--out", "release")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "release/sample-v1.0.0.apkg"


def test_an_unwritable_output_is_one_clear_line_not_a_traceback(project: Project) -> None:
    project.build()
    deck = project.deck.read_bytes()
    (project.root / "afile").write_text("not a directory")
    result = project.cli("build", "--out", "afile/sub", now=1_800_000_900)
    assert result.exit_code == 1
    assert result.stderr == (
        "afile/sub/sample-v1.0.0.apkg: error: cannot write it: Not a directory (afile/sub); "
        "nothing was half-written (the previous file, if any, is unchanged)\n"
    )
    assert project.deck.read_bytes() == deck


def test_a_mistyped_anchor_stops_the_build_with_the_anchor_meant(project: Project) -> None:
    project.write("cards/02-more.md", "## #3\n\n### What is tanh?\n\nA.\n\n## dos\n\n### Two?\n\nB.\n")
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/02-more.md:7:1: error: '## dos' looks like a note anchor but is not one: did you "
        "mean `## #dos`?\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_a_duplicate_id_blames_the_note_learners_do_not_have(project: Project) -> None:
    project.build()
    # A new note, in a file that sorts first, reuses the id of a note already built.
    project.write("cards/00-new.md", "## #2\n\n### What is a neuron?\n\nA unit.\n")
    result = project.cli("build", now=1_800_000_100)
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/00-new.md:1:1: error: duplicate note id #2: learners already have the note at "
        "cards/01-basics.md:28:1 (its question is the one ml-anki.lock has for #2); give this "
        "note a new id\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    # When the lock knows neither question, the later one in file order is told to move.
    project.write("cards/00-new.md", "## #7\n\n### A?\n\nA.\n")
    project.write("cards/02-new.md", "## #7\n\n### B?\n\nB.\n")
    result = project.cli("check")
    assert result.stderr.splitlines()[0] == (
        "cards/02-new.md:1:1: error: duplicate note id #7, first used at cards/00-new.md:1:1; "
        "neither is in ml-anki.lock yet (no learner has either), so give this later one a new id"
    )
