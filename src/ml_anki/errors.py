"""Everything a user can cause, as one kind of error: problems located by file, line and column.

Every stage collects `Problem`s instead of raising on the first one, so a single run reports all
of them; `SourceError` — the root of every error a user can cause and fix, a
`click.ClickException` — carries the sorted list to the command line, which prints it once.
A file the user gave that cannot be read, an output that cannot be written, a package that is
not one: each is a `SourceError` naming the file. Internal bugs are ordinary exceptions and
keep their traceback (an `OSError` nobody expected is one of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import click

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class SourceSpan:
    """A place in a source file, for messages."""

    path: Path
    """The file, as given (relative to the working directory when it was given that way)."""
    line: int = 0
    """1-based line; 0 when the problem concerns the whole file."""
    col: int = 0
    """1-based column; 0 when unknown."""

    def __str__(self) -> str:
        text = str(self.path)
        if self.line:
            text += f":{self.line}"
            if self.col:
                text += f":{self.col}"
        return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in the sources, and what to do about it."""

    where: SourceSpan | None
    """None when the problem is not about a file (an environment variable, an option)."""
    severity: Severity
    message: str
    rule: str = ""
    """The id of the lint rule that found it (`lint.rules.RULES`), which can silence it; empty for
    problems no rule may silence (structure, configuration, files)."""

    def __str__(self) -> str:
        location = f"{self.where}: " if self.where is not None else ""
        return f"{location}{self.severity}: {self.message}"

    def __lt__(self, other: Problem) -> bool:
        return self._order() < other._order()

    def _order(self) -> tuple[bool, SourceSpan, str, str]:
        # Problems that concern no file come first, in the order found (options in the order
        # given): they usually explain the rest.
        if self.where is None:
            return (False, SourceSpan(Path()), "", "")
        return (True, self.where, self.severity, self.message)


class SourceError(click.ClickException):
    """The root of every error a user can cause: the sources, the lock, the configuration, an
    option, a file to read or write. It is printed as its problems, one per line, then
    `summary`; the exit status is 1 (2 for a file given on the command line that is unusable)."""

    exit_code = 1

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        if summary is None:
            summary = f"{len(errors)} error{'s' if len(errors) != 1 else ''}; nothing was written"
        super().__init__(summary)
        self.summary: str | None = summary

    @classmethod
    def single(cls, where: SourceSpan | None, message: str) -> SourceError:
        return cls([Problem(where, "error", message)])


class UnreadableFile(SourceError):
    """A file the user gave (or the project holds) cannot be read: missing, a directory, no
    permission. One line naming it; nothing was written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__([Problem(SourceSpan(path), "error", reason)], summary="")
        self.path = path
        self.reason = reason


class UnreadablePackage(UnreadableFile):
    """The file is not an `.apkg` ml-anki can read; `reason` says why, for the user. Exit 2, as
    for any unusable file given on the command line."""

    exit_code = 2


class BadArgument(SourceError):
    """An argument naming what is not there (e.g. a version the changelog has no section for):
    one line, exit 2, as for any unusable command line."""

    exit_code = 2

    def __init__(self, where: SourceSpan | None, message: str) -> None:
        super().__init__([Problem(where, "error", message)], summary="")


class OutputError(SourceError):
    """An output could not be written (no such directory, no permission, a full disk). Writes
    go to a temporary file renamed into place, so the previous file is untouched."""

    def __init__(self, path: Path, exc: OSError) -> None:
        reason = describe(exc)
        if exc.filename and Path(exc.filename).name != path.name:
            reason += f" ({exc.filename})"  # a parent directory, not the file itself
        message = (
            f"cannot write it: {reason}; nothing was half-written (the previous file, if any, "
            "is unchanged)"
        )
        super().__init__([Problem(SourceSpan(path), "error", message)], summary="")
        self.path = path


def describe(exc: OSError) -> str:
    """An OSError's reason, without the path it repeats (the message names the file itself)."""
    return exc.strerror or str(exc) or type(exc).__name__


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
