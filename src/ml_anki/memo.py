"""What a long-running process (`ml-anki watch`) remembers from one build to the next.

A save changes one file, usually one note; every other note's steps would give what they gave
last time. Each table here keeps, per note, a step's complete input with its output, and gives
the output back only for an input equal to the one remembered (usually the very same objects:
the source stage returns the same notes for an unchanged file, and each step here returns the
same results for them), so a build with a memo returns exactly what a fresh build returns, only
sooner. What only the disk can confirm (a figure's bytes) is confirmed again on every build.
Entries the last build did not use are dropped, so memory follows the deck's size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import Problem
from .media import MediaFile, media_name
from .render import RenderedNote, RenderJob

if TYPE_CHECKING:
    from .deck import Note, NoteType
    from .preview import CardSides

RenderMany = Callable[[list[RenderJob]], tuple[list[RenderedNote], list[Problem]]]
"""Renders and lints notes the memo does not know, in order (the build's own `_render`)."""

Result = TypeVar("Result")


class Table(Generic[Result]):
    """One step's results by key (a note's id), each valid while its inputs stay equal."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[object, ...], Result]] = {}
        self._now: dict[str, tuple[tuple[object, ...], Result]] = {}

    def get(self, key: str, inputs: tuple[object, ...]) -> Result | None:
        found = self._now.get(key) or self._last.get(key)
        # Tuples compare item by item, the same object first: unchanged notes cost no more.
        if found is None or found[0] != inputs:
            return None
        self._now[key] = found
        return found[1]

    def put(self, key: str, inputs: tuple[object, ...], result: Result) -> Result:
        self._now[key] = (inputs, result)
        return result

    def next_build(self) -> None:
        """Forget what the last build did not use (a build that stopped early keeps the one
        before it: a card with an error does not make the next build start cold)."""
        if self._now:
            self._last, self._now = self._now, {}


class Memo:
    """Per-note results of the earlier builds in this process; `next_build()` before each."""

    def __init__(self) -> None:
        self.renders: Table[RenderedNote] = Table()
        self.notes: Table[Note] = Table()
        """The deck's notes (`deck.decide`)."""
        self.notetypes: Table[NoteType] = Table()
        """The deck's note types by id, so that equal ones are the same object."""
        self.sides: Table[tuple[CardSides, ...]] = Table()
        """The preview's card sides of each note."""
        self.sections: Table[bytes] = Table()
        """The preview's HTML of each note, encoded."""
        self.pickers: Table[str] = Table()
        """The preview's note picker (one entry, for the whole deck)."""

    def next_build(self) -> None:
        tables = (self.renders, self.notes, self.notetypes, self.sides, self.sections, self.pickers)
        for table in tables:
            table.next_build()

    def render(
        self, jobs: Sequence[RenderJob], media_dir: Path, tag_prefix: str, render: RenderMany
    ) -> tuple[list[RenderedNote], list[Problem]]:
        """The rendered notes of `jobs` in order, and the problems `render` finds in them:
        remembered notes are reused, the others rendered by `render`.

        Only a note that rendered and linted clean is remembered, as the render cache does,
        so every problem is found again on every build until it is fixed. Problems do not say
        which note they came from, only where: a file with any problem has none of its notes
        remembered, and a problem outside the rendered files leaves all of them out.
        """
        media_root = media_dir.resolve()
        figures: dict[Path, str | None] = {}
        results: list[RenderedNote | None] = []
        missing: list[int] = []
        for index, (note, parent) in enumerate(jobs):
            known = self.renders.get(note.id, (note, parent, media_dir, tag_prefix))
            if known is not None and _figures_unchanged(known.media, media_root, figures):
                results.append(known)
            else:
                results.append(None)
                missing.append(index)
        fresh, problems = render([jobs[i] for i in missing])
        assert len(fresh) == len(missing), "a render per job, in order"
        rendered_paths = {jobs[i][0].path for i in missing}
        troubled = {p.where.path for p in problems if p.where is not None}
        attributed = all(p.where is not None for p in problems) and troubled <= rendered_paths
        for index, rendered in zip(missing, fresh, strict=True):
            results[index] = rendered
            note, parent = jobs[index]
            if attributed and note.path not in troubled:
                self.renders.put(note.id, (note, parent, media_dir, tag_prefix), rendered)
        return [r for r in results if r is not None], problems


def _figures_unchanged(
    files: tuple[MediaFile, ...], media_root: Path, names: dict[Path, str | None]
) -> bool:
    """Whether every figure a remembered note shows is still inside media/ with the same bytes
    (its content-addressed name); `names` keeps what this build already read."""
    for file in files:
        if file.path not in names:
            try:
                inside = file.path.resolve().is_relative_to(media_root) and file.path.is_file()
                names[file.path] = media_name(file.path, file.path.read_bytes()) if inside else None
            except OSError:
                names[file.path] = None
        if names[file.path] != file.name:
            return False
    return True
