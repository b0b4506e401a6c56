"""Reading the user's files and writing outputs, at the edges, with errors a user can act on.

Writes go to a temporary file beside the target that is renamed into place, so a failure at
any moment (a full disk, a killed process) leaves the previous file exactly as it was. A file
that cannot be read or written is the user's to fix (a permission, a directory where a file
should be) and becomes a one-line error naming it; any other exception is a bug.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError, SourceError, UnreadableFile, describe

BUSY_FILE = ".ml-anki.busy"
"""Held (locked, not merely present) by a build or release while it runs, in the project root."""
WAIT_SECONDS = 120.0
"""How long a build waits for another one in the same project before giving up."""


@contextmanager
def one_writer_at_a_time(root: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """Builds and releases of one project take turns: both write the lock and the deck.

    An OS file lock (filelock: `flock` on POSIX, `msvcrt.locking` on Windows) and not a file's
    existence: the OS releases it when the process ends, even by `kill -9`, so it is never left
    stale. A second build waits for the first (`on_wait` is called once, to say so), and fails
    with a clear message after `WAIT_SECONDS`.
    """
    from filelock import FileLock, Timeout

    path = root / BUSY_FILE
    lock = FileLock(path)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            on_wait()
            lock.acquire(timeout=WAIT_SECONDS)
    except Timeout:
        raise SourceError.single(
            None,
            f"another ml-anki build or release in this project has held {path} for over "
            f"{WAIT_SECONDS:.0f} seconds; let it finish (or stop it), then run this again",
        ) from None
    except OSError as exc:
        raise OutputError(path, exc) from None
    try:
        yield
    finally:
        lock.release()


_SCRATCH_FAILURES = ("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_READONLY")


@contextmanager
def scratch_space() -> Iterator[None]:
    """A package is assembled in an SQLite file in the temporary directory before it is zipped:
    a full or unwritable temporary directory is the machine's problem, not a bug."""
    import sqlite3

    try:
        yield
    except sqlite3.OperationalError as exc:
        if not (exc.sqlite_errorname or "").startswith(_SCRATCH_FAILURES):
            raise
        raise SourceError.single(
            None,
            f"cannot assemble the deck in the temporary directory {tempfile.gettempdir()}: "
            f"{exc}; free some space there, or point TMPDIR elsewhere",
        ) from None


def read_input(path: Path) -> bytes:
    """The bytes of a file the project holds (a card, the lock, pyproject.toml, a figure)."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise UnreadableFile(path, "is a directory where a file was expected") from None
    except OSError as exc:
        raise UnreadableFile(path, f"cannot be read: {describe(exc)}") from None


def read_text(path: Path) -> str:
    """A UTF-8 text file the project holds (pyproject.toml, the lock, the changelog)."""
    data = read_input(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            path, f"is not valid UTF-8 (byte {exc.start:,} cannot be decoded); save it as UTF-8"
        ) from None


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as tmp:
            _write(tmp.fileno(), data)
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise OutputError(path, exc) from None
    except BaseException:  # includes KeyboardInterrupt: never leave the temporary file behind
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _write(fd: int, data: bytes) -> None:
    """Every byte of every output file goes through here, unbuffered: the fault tests stop the
    process inside it to prove that a build killed at any byte loses nothing."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
