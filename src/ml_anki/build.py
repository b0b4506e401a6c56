"""The pipeline, top to bottom: sources → rendered notes → lock → package → files.

Everything is read, validated and rendered before anything is written; the deck and the lock
are then replaced atomically, so an error leaves the previous release untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import lock as lock_mod
from . import notetype, package, source
from .config import DeckConfig
from .errors import Problem, SourceError, has_errors
from .files import atomic_write
from .render import RenderedNote, Renderer

Progress = Callable[[int, int], None]
"""Called with (notes rendered so far, notes in all) as rendering goes; the CLI draws a bar."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    rendered: tuple[RenderedNote, ...]
    problems: tuple[Problem, ...]
    """Errors and warnings, sorted by file and line."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    path: Path
    changes: lock_mod.Changes
    media_count: int
    warnings: tuple[Problem, ...]
    unchanged_file: bool
    """The package already had exactly these bytes."""


def check(config: DeckConfig, progress: Progress | None = None) -> CheckResult:
    """Read and render every note, collecting every problem; writes nothing."""
    sources = source.load(config.cards_dir)
    problems = list(sources.problems)
    notes = sources.notes
    by_id: dict[str, source.SourceNote] = {}
    for note in notes:
        by_id.setdefault(note.id, note)  # a duplicate id is reported; the first one stands
    known = frozenset(by_id)
    renderer = Renderer(config.media_dir, config.tag_prefix)
    rendered: list[RenderedNote] = []
    for done, note in enumerate(notes, 1):
        parent = source.parent_id(note.id, known)
        result, found = renderer.note(note, by_id[parent] if parent else None)
        rendered.append(result)
        problems += found
        if progress is not None:
            progress(done, len(notes))
    problems += _toc_problems(sources, by_id)
    return CheckResult(tuple(rendered), tuple(sorted(problems)))


def _toc_problems(sources: source.Sources, by_id: dict[str, source.SourceNote]) -> list[Problem]:
    problems = []
    for file in sources.files:
        listed = {entry.target for entry in file.toc}
        for entry in file.toc:
            note = by_id.get(entry.target)
            if note is None:
                problems.append(
                    Problem(entry.where, "error", f"table of contents links to #{entry.target}, "
                            "but no note has that id; fix the link or add the note")
                )  # fmt: skip
            elif entry.text != note.question:
                problems.append(
                    Problem(entry.where, "error", f"table of contents text for #{entry.target} "
                            f"differs from its question at {note.where.path}:{note.question_line}: "
                            f"{entry.text!r} ≠ {note.question!r}")
                )  # fmt: skip
        if file.toc:
            for note in file.notes:
                if note.id not in listed:
                    problems.append(
                        Problem(note.where, "error", f"note #{note.id} is missing from this file's "
                                f"table of contents; add '- [{note.question}](#{note.id})'")
                    )  # fmt: skip
    return problems


def build(config: DeckConfig, progress: Progress | None = None) -> BuildResult:
    checked = check(config, progress)
    if has_errors(list(checked.problems)):
        raise SourceError(list(checked.problems))
    rendered = checked.rendered
    old_lock = lock_mod.load(config.lock_path)
    look = notetype.look()
    lock, changes = old_lock.updated_with(
        rendered,
        schema=notetype.schema(),
        fingerprint=look.fingerprint,
        version=config.version,
        now=config.now,
        path=config.lock_path,
    )
    apkg = package.write(config, rendered, lock)
    # The lock goes first: if writing the deck then fails, the next build finds every hash in
    # the lock already and rebuilds the very same deck, mods included.
    lock_text = lock.dumps()
    if not config.lock_path.is_file() or config.lock_path.read_text(encoding="utf-8") != lock_text:
        atomic_write(config.lock_path, lock_text.encode())
    path = config.package_path
    unchanged_file = path.is_file() and path.read_bytes() == apkg
    if not unchanged_file:
        atomic_write(path, apkg)
    warnings = tuple(p for p in checked.problems if p.severity == "warning")
    return BuildResult(path, changes, _media_count(rendered), warnings, unchanged_file)


def _media_count(rendered: Sequence[RenderedNote]) -> int:
    return len({m.name for n in rendered for m in n.media})
