"""Faults a user can cause or meet: each is one clear line, never a traceback or a hang, and
nothing is half-written; a real bug keeps its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Project
from ml_anki import package


def test_a_lock_that_is_a_directory_is_reported_by_check_and_build(project: Project) -> None:
    project.lock.mkdir()
    for command in ("check", "build"):
        result = project.cli(command)
        assert result.exit_code == 1
        assert result.stderr == (
            "ml-anki.lock: error: is a directory where a file was expected\n"
            "ml-anki: 1 error; nothing was written\n"
        )
    assert not (project.root / "dist").exists()


def test_a_problem_that_is_not_about_a_file_names_no_path(project: Project) -> None:
    from click.testing import CliRunner

    from ml_anki.cli import main

    result = CliRunner().invoke(main, ["build"], env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the environment variable SOURCE_DATE_EPOCH must be whole seconds since 1970, "
        "got 'yesterday'; set it to e.g. $(git log -1 --format=%ct), or unset it\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_a_pyproject_that_is_not_utf8_is_one_line(project: Project) -> None:
    text = (project.root / "pyproject.toml").read_bytes()
    (project.root / "pyproject.toml").write_bytes(text.replace(b"Sample deck", b"Sample d\xe9ck"))
    result = project.cli("build")
    assert result.exit_code == 1
    offset = text.index(b"Sample deck") + len("Sample d")
    assert result.stderr == (
        f"pyproject.toml: error: is not valid UTF-8 (byte {offset} cannot be decoded); "
        "save it as UTF-8\n"
    )
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_an_unexpected_oserror_is_a_bug_and_keeps_its_traceback(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(package, "write", broken)
    result = project.cli("build")
    assert isinstance(result.exception, OSError), "not turned into a tidy user error"
    assert not (project.root / "dist").exists()


def test_an_unreadable_card_file_is_reported_with_the_others(project: Project) -> None:
    project.write("cards/02-more.md", "## #3\n\n### Q?\n\nA.\n")
    (project.root / "cards" / "02-more.md").chmod(0)
    try:
        result = project.cli("check")
    finally:
        (project.root / "cards" / "02-more.md").chmod(0o644)
    if Path("/").stat().st_uid == 0 and result.exit_code == 0:
        pytest.skip("running as root: permissions do not stop reads")
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/02-more.md: error: cannot be read: Permission denied\n"
        "ml-anki: 1 error; nothing was written\n"
    )
