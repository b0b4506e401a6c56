"""Reading the user's files and writing outputs, at the edges, with errors a user can act on.

Writes go to a temporary file beside the target that is renamed into place, so a failure at
any moment (a full disk, a killed process) leaves the previous file exactly as it was. A file
that cannot be read or written is the user's to fix (a permission, a directory where a file
should be) and becomes a one-line error naming it; any other exception is a bug.
"""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

from .errors import OutputError, UnreadableFile, describe


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


_KILL_AFTER = "ML_ANKI_TEST_KILL_AFTER_BYTES"
"""Test hook: when set to N, the process kills itself with SIGKILL (as `kill -9` would) once N
bytes of output files have been written in this run, to prove that a build interrupted at any
point loses nothing. Never set outside the tests."""
_written = 0


def _write(fd: int, data: bytes) -> None:
    global _written
    limit = os.environ.get(_KILL_AFTER)
    view = memoryview(data)
    while view:
        size = len(view)
        if limit:
            size = min(size, int(limit) - _written)
            if size <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
        done = os.write(fd, view[:size])
        _written += done
        view = view[done:]
