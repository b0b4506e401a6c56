"""`ml-anki check` as a user meets it: every problem in one run, located; JSON for tools; exit
codes; and what `build` then refuses or writes (nothing unsafe, nothing lost)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BASICS, Project
from learner import Learner
from ml_anki.cli import main
from ml_anki.errors import OutputError
from ml_anki.files import atomic_write


def test_every_problem_of_every_file_is_reported_in_one_run(project: Project) -> None:
    project.write(
        "cards/02-more.md",
        "# More\n\n- [Q](#5)\n- [Sigmoid?](#6)\n\n## #5\n\n### Q\n\n"
        "So $\\sigma(x = \\frac{1}{1+e^{-x}$ and it costs $x.\n\n"
        "![x](../../secret.svg)\n\n## #6\n\n### Sigmoid\n\nA <b onclick='x()'>bold</b> answer.\n",
    )
    (project.root / "cards" / "03-latin1.md").write_bytes("## #7\n\n### Café\n".encode("latin-1"))
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "cards/02-more.md:4:3: error: table of contents text for #6 differs from its question at "
        "cards/02-more.md:16: 'Sigmoid?' ≠ 'Sigmoid'\n"
        "cards/02-more.md:10:24: error: unbalanced '{' in math: it is never closed; add the "
        "matching '}'\n"
        "cards/02-more.md:10:48: error: '$' is left open at the end of the paragraph, so the card "
        "shows a raw '$'; close the math with '$', or write '\\$' for a dollar sign\n"
        "cards/02-more.md:12:1: error: image '../../secret.svg' is outside media/ (media); figures "
        "must live in media/ (symlinks pointing elsewhere are refused too)\n"
        "cards/02-more.md:18:3: warning: raw HTML <b>: the sanitizer removes onclick='x()' (cards "
        "keep no scripts, event handlers, inline styles or links other than http, https and "
        "mailto)\n"
        "cards/03-latin1.md:3:8: error: not valid UTF-8 (byte 0xe9 at offset 14); save the file as "
        "UTF-8\n"
        "ml-anki: 5 errors; nothing was written\n"
    )
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_a_note_missing_from_its_files_table_of_contents(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("- [Why a bias?](#2)\n", ""))
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "cards/01-basics.md:27:1: error: note #2 is missing from this file's table of contents; "
        "add '- [Why a bias?](#2)'"
    )


def test_a_symlink_out_of_media_is_an_error_at_the_figure(project: Project) -> None:
    (project.root / "private.svg").write_text("<svg>secret</svg>")
    (project.root / "media" / "link.svg").symlink_to(project.root / "private.svg")
    project.write("cards/01-basics.md", BASICS.replace("media/relu.svg", "media/link.svg"))
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "cards/01-basics.md:17:1: error: image '../media/link.svg' is outside media/ (media); "
        "figures must live in media/ (symlinks pointing elsewhere are refused too)"
    )


def test_warnings_alone_pass_and_are_counted(project: Project) -> None:
    project.write("media/old-plot.svg", "<svg/>")
    project.write("media/.gitkeep", "")
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr == (
        "media/old-plot.svg: warning: no card shows this file; delete it, or show it with "
        "![alt](../media/old-plot.svg)\n"
    )
    assert result.stdout == "3 notes checked: no errors, 1 warning\n"
    assert project.cli("-q", "check").stderr == ""


def test_a_released_id_that_now_asks_another_question_is_a_warning(project: Project) -> None:
    assert project.cli("release").exit_code == 0
    assert project.cli("check").stderr == ""
    project.write(
        "cards/01-basics.md", BASICS.replace("Why a bias?", "Why do we need a bias term?")
    )
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr == (
        "cards/01-basics.md:30:1: warning: note #2 was released asking 'Why a bias?' and now asks "
        "'Why do we need a bias term?'; an id is a promise to learners that it is the same card "
        "(they keep its review history): give a new question a new id, or, if this only rewords "
        "the same question, release with --reworded 2\n"
    )


def test_a_damaged_lock_is_found_by_check(project: Project) -> None:
    project.build()
    project.lock.write_text(project.lock.read_text().replace('"hash": ', '"hash" ', 1))
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ml-anki.lock:5:39: error: lock file is not valid JSON (Expecting ':' delimiter); "
    )


def test_json_output_lists_every_problem_for_tools(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The $\\alpah$."))
    project.write("media/old.svg", "<svg/>")
    result = project.cli("check", "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    assert json.loads(result.stdout) == [
        {
            "path": "cards/01-basics.md",
            "line": 38,
            "col": 6,
            "severity": "error",
            "message": "unknown TeX command \\alpah: MathJax in Anki would show the formula's "
            "source instead; did you mean \\alpha?",
            "rule": "tex",
        },
        {
            "path": "media/old.svg",
            "line": 0,
            "col": 0,
            "severity": "warning",
            "message": "no card shows this file; delete it, or show it with "
            "![alt](../media/old.svg)",
            "rule": "unused-media",
        },
    ]


def test_json_output_when_clean_and_for_errors_outside_the_cards(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = project.cli("check", "--format", "json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])
    monkeypatch.chdir(tmp_path)
    result = project.cli("check", "--format", "json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)
    assert problem["severity"] == "error" and "no pyproject.toml" in problem["message"]


def test_usage_errors_exit_2(project: Project) -> None:
    result = project.cli("check", "--format", "xml")
    assert result.exit_code == 2
    assert "Invalid value for '--format': 'xml' is not one of 'text', 'json'" in result.stderr


def test_colour_only_on_a_terminal(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The $\\alpah$."))
    plain = project.cli("check")
    assert "\x1b[" not in plain.stderr
    coloured = CliRunner().invoke(main, ["check"], color=True)
    assert "\x1b[1mcards/01-basics.md:38:6\x1b[0m: \x1b[31m\x1b[1merror\x1b[0m: " in (
        coloured.stderr
    )


def test_build_runs_the_same_checks_and_writes_nothing_on_a_math_error(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The $\\frac{1}{2$."))
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        (
            "cards/01-basics.md:38:14: error: unbalanced '{' in math: it is never closed; add the "
            "matching '}'"
        ),
        "ml-anki: 1 error; nothing was written",
    ]
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_raw_html_is_reported_and_never_reaches_a_card(project: Project, learner: Learner) -> None:
    project.write(
        "cards/01-basics.md",
        BASICS.replace(
            "The intercept.",
            'The <b onclick="steal()">intercept</b>.<script>alert(1)</script> '
            '<a href="javascript:alert(1)">more</a> <iframe src="https://e.org"></iframe> '
            "<kbd>b</kbd>",
        ),
    )
    result = project.cli("build")
    assert result.exit_code == 0, result.output
    assert [line.split(": warning: ")[1][:40] for line in result.stderr.splitlines()] == [
        "raw HTML <b>: the sanitizer removes oncl",
        "raw HTML <script> is removed from the ca",
        "raw HTML <a>: the sanitizer removes href",
        "raw HTML <iframe> is removed from the ca",
    ]
    learner.import_deck(project.deck)
    answer = learner.notes()["2-1"]["Answer"]
    assert answer == (
        '<p>The <b>intercept</b>. <a rel="noopener noreferrer">more</a>  <kbd>b</kbd></p>'
    )


def test_an_interrupted_build_leaves_the_previous_deck_and_lock(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.build()
    deck, lock = project.deck.read_bytes(), project.lock.read_bytes()
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C at the worst moment: both files about to be replaced

    monkeypatch.setattr(os, "replace", interrupted)
    result = project.cli("build", now=1_800_000_500)
    monkeypatch.undo()
    assert result.exit_code == 1 and "Aborted!" in result.output
    assert project.deck.read_bytes() == deck and project.lock.read_bytes() == lock
    leftovers = [p.name for p in project.root.rglob(".*.tmp")]
    assert leftovers == []


def test_a_full_disk_leaves_the_previous_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"previous release")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError) as raised:
        atomic_write(target, b"new release")
    assert [str(p) for p in raised.value.problems] == [
        (
            f"{target}: error: cannot write it: No space left on device; nothing was "
            "half-written (the previous file, if any, is unchanged)"
        )
    ]
    assert target.read_bytes() == b"previous release"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg"]
