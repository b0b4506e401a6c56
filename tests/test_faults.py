"""Faults a user can cause or meet: each is one clear line, never a traceback or a hang, and
nothing is half-written; a real bug keeps its traceback."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from conftest import Project
from ml_anki import apkg, package


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


# --- Hostile packages: diff and release --previous read packages from anywhere -----------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _sqlite(path: Path, script: str) -> bytes:
    connection = sqlite3.connect(path)
    connection.executescript(script)
    connection.close()
    return path.read_bytes()


def hostile_packages(directory: Path, good: bytes) -> dict[str, tuple[Path, str]]:
    """name → (file, the one line `diff` must print for it)."""
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        collection = archive.read("collection.anki2")
    cases = {
        "not-a-zip": (
            b"PK? no, a text file\n",
            "not an Anki package (.apkg files are zip archives)",
        ),
        "truncated": (good[: len(good) // 2], "not an Anki package (.apkg files are zip archives)"),
        "empty": (b"", "not an Anki package (.apkg files are zip archives)"),
    }
    found: dict[str, tuple[Path, str]] = {}
    for name, (data, message) in cases.items():
        path = directory / f"{name}.apkg"
        path.write_bytes(data)
        found[name] = (path, message)
    bomb = directory / "bomb.apkg"
    _zip(bomb, {"collection.anki2": b"\0" * (apkg.MAX_UNPACKED + 1)})
    found["zip-bomb"] = (
        bomb,
        (
            f"collection.anki2 would unpack to {apkg.MAX_UNPACKED + 1:,} bytes, more than a deck "
            f"holds ({apkg.MAX_UNPACKED:,} at most); refusing to read it"
        ),
    )
    for label, member in (("dotdot", "../../evil.txt"), ("absolute", "/tmp/ml-anki-evil.txt")):
        path = _zip(directory / f"{label}.apkg", {"collection.anki2": collection, member: b"x"})
        found[label] = (
            path,
            (
                f"holds a file named {member!r}, outside the package (an absolute path or '..'); "
                "refusing to read it"
            ),
        )
    index = _zip(directory / "media-name.apkg", {
        "collection.anki2": collection, "media": json.dumps({"0": "../evil.svg"}).encode(),
        "0": b"<svg/>",
    })  # fmt: skip
    found["media-name"] = (
        index,
        "its media index names '../evil.svg', which is not a plain file name; refusing to read it",
    )
    not_sqlite = _zip(directory / "not-sqlite.apkg", {"collection.anki2": b"hello" * 100})
    found["not-sqlite"] = (
        not_sqlite,
        "collection.anki2 is not a readable Anki collection (file is not a database)",
    )
    no_tables = _zip(directory / "no-tables.apkg", {
        "collection.anki2": _sqlite(directory / "empty.sqlite", "create table x (y);"),
    })  # fmt: skip
    found["no-tables"] = (
        no_tables,
        "collection.anki2 is not a readable Anki collection (no such table: col)",
    )
    return found


def test_hostile_packages_are_one_line_each_and_nothing_is_written(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apkg, "MAX_UNPACKED", 5_000_000)  # a smaller cap, for a quick test
    good = project.build().read_bytes()
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    cases = hostile_packages(hostile, good)
    before = sorted(p for p in tmp_path.rglob("*") if "render-cache" not in p.parts)
    for name, (path, message) in cases.items():
        result = project.cli("diff", str(path))
        assert result.exit_code == 2, (name, result.output)
        assert result.stderr == f"{path}: error: {message}\n", name
    after = sorted(p for p in tmp_path.rglob("*") if "render-cache" not in p.parts)
    assert after == before
    assert not Path("/tmp/ml-anki-evil.txt").exists()
    assert len(cases) == 9


# --- Hostile inputs in the project -----------------------------------------------------------


def test_a_10_mb_card_file_is_refused_unread_at_once(project: Project) -> None:
    huge = project.root / "cards" / "03-huge.md"
    huge.write_bytes(b"## #h\n\n### H?\n\n" + b"word " * 2_000_000)
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/03-huge.md: error: 10,000,015 bytes is not a file of cards (a 100-note file is "
        "about 100 KB); split it into files under 2,000,000 bytes, or move it out of cards/\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_symlink_loops_under_cards_and_media_are_warnings_and_errors_not_hangs(
    project: Project,
) -> None:
    cards = project.root / "cards"
    (cards / "up").symlink_to("..")
    (cards / "a").symlink_to("b")
    (cards / "b").symlink_to("a")
    result = project.cli("check")
    assert result.exit_code == 0, result.output
    not_followed = (
        "is not followed, so no cards are read through it; move the cards into cards/ itself"
    )
    assert result.stderr == (
        f"cards/a: warning: a symbolic link to nothing readable (a loop, or missing) {not_followed}\n"
        f"cards/b: warning: a symbolic link to nothing readable (a loop, or missing) {not_followed}\n"
        f"cards/up: warning: a symbolic link to a directory {not_followed}\n"
    )
    (project.root / "media" / "l1.svg").symlink_to("l2.svg")
    (project.root / "media" / "l2.svg").symlink_to("l1.svg")
    project.write("cards/02-loop.md", "## #3\n\n### Loop?\n\n![x](../media/l1.svg)\n")
    result = project.cli("check")
    assert result.exit_code == 1
    assert (
        "cards/02-loop.md:5:1: error: image '../media/l1.svg' is a symbolic link in a loop; "
        "point it at a file\n"
    ) in result.stderr


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("fake.png", b"not a png", "PNG"),
        ("fake.svg", b"hello", "SVG"),
        ("fake.jpg", b"\x89PNG\r\n\x1a\n", "JPG"),
        ("fake.gif", b"", "GIF"),
        ("fake.webp", b"RIFF0000WAVE", "WEBP"),
    ],
)
def test_a_figure_that_is_not_an_image_is_an_error(
    project: Project, name: str, data: bytes, kind: str
) -> None:
    (project.root / "media" / name).write_bytes(data)
    project.write("cards/02-fig.md", f"## #3\n\n### Figure?\n\n![x](../media/{name})\n")
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"cards/02-fig.md:5:1: error: image '../media/{name}' is not a {kind} file (its bytes do "
        "not start like one), so learners would see a broken image; export the figure again"
    )
    assert not (project.root / "dist").exists()
