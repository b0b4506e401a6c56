"""The one kind of error a user sees: a problem in their sources, located by file, line and column.

Every stage collects `Problem`s instead of raising on the first one, so a single run reports all
of them; `SourceError` carries the sorted list to the command line, which prints it once.
Internal bugs are ordinary exceptions and keep their traceback.
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


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in the sources, and what to do about it."""

    where: SourceSpan
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


class SourceError(click.ClickException):
    """The sources (or the lock file) are wrong; nothing was written."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} error{'s' if len(errors) != 1 else ''}; nothing was written"
        )

    @classmethod
    def single(cls, where: SourceSpan, message: str) -> SourceError:
        return cls([Problem(where, "error", message)])


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
