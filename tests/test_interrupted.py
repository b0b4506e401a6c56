"""Faults and races around writing: a build killed at any moment, two builds at once, an output
that cannot be written. Each leaves the previous deck and lock intact and readable, and the
next build writes exactly what an uninterrupted one would."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import BASICS, Project

NOW = "1800000000"


KILLED_AFTER = """\
import os, signal, sys
from ml_anki import files
from ml_anki.cli import main

limit, written, write = int(sys.argv[1]), 0, files._write

def write_until_killed(fd, data):
    # As `kill -9` would: the process dies with no chance to clean up.
    global written
    if written + len(data) > limit:
        write(fd, data[: limit - written])
        os.kill(os.getpid(), signal.SIGKILL)
    write(fd, data)
    written += len(data)

files._write = write_until_killed
main(sys.argv[2:], prog_name="ml-anki")
"""
"""Runs ml-anki in a process that kills itself once N bytes of output files are written."""


def run(
    root: Path, *args: str, kill_after: int | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SOURCE_DATE_EPOCH": NOW,
        "ML_ANKI_CACHE_DIR": str(root.parent / "render-cache"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "ml_anki", *args]
        if kill_after is None
        else [sys.executable, "-c", KILLED_AFTER, str(kill_after), *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def outputs(root: Path) -> dict[str, bytes]:
    """Every file a build writes (the lock, the deck), by path."""
    files = [root / "ml-anki.lock", *sorted((root / "dist").glob("*.apkg"))]
    return {str(p.relative_to(root)): p.read_bytes() for p in files if p.exists()}


def edited(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The intercept, b."))


def test_a_build_killed_at_any_point_loses_nothing(project: Project, tmp_path: Path) -> None:
    assert run(project.root, "build").returncode == 0
    edited(project)
    before = outputs(project.root)
    reference = tmp_path / "reference"
    shutil.copytree(project.root, reference)
    assert run(reference, "build").returncode == 0
    after = outputs(reference)
    lock_size = len(after["ml-anki.lock"])
    deck_size = len(after["dist/sample-v1.0.0.apkg"])
    kill_points = [1, lock_size // 2, lock_size, lock_size + 1, lock_size + deck_size // 2,
                   lock_size + deck_size - 1]  # fmt: skip
    for kill_after in kill_points:
        attempt = tmp_path / f"killed-{kill_after}"
        shutil.copytree(project.root, attempt)
        killed = run(attempt, "build", kill_after=kill_after)
        assert killed.returncode == -signal.SIGKILL, (kill_after, killed.stderr)
        left = outputs(attempt)
        # The deck is the previous one; the lock is the previous one or the new one, whole.
        assert left["dist/sample-v1.0.0.apkg"] == before["dist/sample-v1.0.0.apkg"], kill_after
        assert left["ml-anki.lock"] in (before["ml-anki.lock"], after["ml-anki.lock"]), kill_after
        json.loads(left["ml-anki.lock"])
        again = run(attempt, "build")
        assert again.returncode == 0, again.stderr
        assert outputs(attempt) == after, kill_after
    assert len(kill_points) == 6


def test_a_full_disk_is_one_line_and_leaves_the_previous_deck(project: Project) -> None:
    assert run(project.root, "build").returncode == 0
    edited(project)
    before = outputs(project.root)
    limit = len(before["dist/sample-v1.0.0.apkg"]) // 2

    def small_disk() -> None:
        # A file may not grow past `limit`: writes then fail as on a full disk (EFBIG, not
        # ENOSPC, but through the same path). SIGXFSZ would kill the process instead.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "ml_anki", "build"],
        cwd=project.root,
        env={**os.environ, "SOURCE_DATE_EPOCH": NOW, "ML_ANKI_CACHE_DIR": "/nonexistent/cache"},
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=small_disk,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot assemble the deck in the temporary directory {tempfile.gettempdir()}: "
        "disk I/O error; free some space there, or point TMPDIR elsewhere\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert outputs(project.root)["dist/sample-v1.0.0.apkg"] == before["dist/sample-v1.0.0.apkg"]
    assert list(project.root.rglob("*.tmp")) == []


def test_two_builds_at_once_take_turns_and_the_lock_stays_whole(
    project: Project, tmp_path: Path
) -> None:
    assert run(project.root, "build").returncode == 0
    edited(project)
    reference = tmp_path / "reference"
    shutil.copytree(project.root, reference)
    assert run(reference, "build").returncode == 0
    environment = {
        **os.environ,
        "SOURCE_DATE_EPOCH": NOW,
        "ML_ANKI_CACHE_DIR": str(tmp_path / "cache"),
    }
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "ml_anki", "build"],
            cwd=project.root,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(b.wait(timeout=300), b.communicate()[1]) for b in builds]
    assert [code for code, _ in results] == [0, 0, 0], results
    for _, stderr in results:
        assert stderr in ("", "ml-anki: waiting for another build or release in this project…\n")
    assert outputs(project.root) == outputs(reference)


def test_a_build_gives_up_with_a_clear_message_when_another_never_finishes(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    from ml_anki import files

    project.build()
    before = outputs(project.root)
    edited(project)
    monkeypatch.setattr(files, "WAIT_SECONDS", 0.2)
    with FileLock(project.root / files.BUSY_FILE):
        result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr == (
        "ml-anki: waiting for another build or release in this project…\n"
        "error: another ml-anki build or release in this project has held .ml-anki.busy for over "
        "0 seconds; let it finish (or stop it), then run this again\n"
        "ml-anki: 1 error; nothing was written\n"
    )
    assert outputs(project.root) == before
    assert project.cli("build").exit_code == 0, "the lock was released, not lost"
