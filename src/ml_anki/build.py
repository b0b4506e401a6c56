"""The pipeline, top to bottom: sources → rendered notes → lock → package → files.

Everything is read, validated and rendered before anything is written; the deck and the lock
are then replaced atomically, so an error leaves the previous release untouched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import deck as deck_mod
from . import lint, notetype, source
from . import lock as lock_mod
from .cache import CachedRender, RenderCache, epoch
from .cache import key as cache_key
from .config import INIT_HINT, NOTETYPE_KEYS, DeckConfig
from .errors import Problem, SourceError, has_errors
from .files import atomic_write, read_input, scratch_space
from .lint import rules
from .memo import Memo
from .notetype import KINDS
from .render import RenderedNote, RenderJob, render_many

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


def check(
    config: DeckConfig, progress: Progress | None = None, memo: Memo | None = None
) -> CheckResult:
    """Read and render every note, collecting every problem; writes nothing.

    `memo` (a long-running process's) gives back the notes an earlier build rendered clean.
    """
    lock = _lock_or_empty(config.lock_path)
    locked = {note_id: entry.question for note_id, entry in lock.notes.items()}
    cache = RenderCache(config.run.cache_dir)
    try:
        sources = source.load(config.cards_dir, locked, cache)
    finally:
        cache.close()
    # Config warnings (unknown keys, identities shared with another deck) are the deck's too.
    problems = list(config.warnings) + list(sources.problems)
    notes = sources.notes
    by_id = source.keepers(notes, locked)  # a duplicate id is reported at the other note
    known = frozenset(by_id)
    jobs = [(note, by_id.get(source.parent_of(note, known) or "")) for note in notes]
    if memo is None:
        rendered, found = _render(jobs, config, progress)
    else:
        rendered, found = memo.render(
            jobs, config.media_dir, config.tag_prefix, lambda todo: _render(todo, config, progress)
        )
    problems += found
    problems += _toc_problems(sources, by_id)
    problems += _notetype_ids(config, notes)
    problems += [p for n in notes if (p := lock.kind_change(n.id, n.kind, n.where)) is not None]
    # Per note, lint (math, TeX, raw HTML, size) ran with rendering; now what only the whole
    # deck shows.
    problems += lint.unused_media(config.media_dir, config.cards_dir, rendered)
    problems += lint.changed_questions(notes, config.lock_path)
    problems = _silenced_per_file(problems, [file.path for file in sources.files])
    return CheckResult(tuple(rendered), tuple(sorted(problems)))


def _silenced_per_file(problems: list[Problem], paths: list[Path]) -> list[Problem]:
    """`<!-- ml-anki: allow RULE -->` before a file's first note silences RULE in that file."""
    allow: dict[Path, frozenset[str]] = {}
    for path in paths:
        text = read_input(path).decode("utf-8", "replace")
        first_note = re.search(r"^## #", text, re.MULTILINE)
        ids = rules.allowed(text[: first_note.start() if first_note else len(text)])
        if ids:
            allow[path] = ids
    if not allow:
        return problems
    return [
        p
        for p in problems
        if not (p.rule and p.where is not None and p.rule in allow.get(p.where.path, ()))
    ]


def _lock_or_empty(lock_path: Path) -> lock_mod.Lock:
    """The lock, for what learners already have: which of two notes sharing an id they know,
    and each released note's type. A damaged lock is reported by `lint.changed_questions`."""
    try:
        return lock_mod.load(lock_path)
    except SourceError:
        return lock_mod.Lock()


def _render(
    jobs: list[RenderJob], config: DeckConfig, progress: Progress | None
) -> tuple[list[RenderedNote], list[Problem]]:
    """Rendered and linted notes in source order; from the cache where nothing changed.

    Only notes that rendered and linted without any problem are cached, so a cache hit skips
    both, and every problem is reported again on every run until it is fixed.
    """
    cache = RenderCache(config.run.cache_dir)
    try:
        keys = [
            cache_key(note, parent, config.media_dir, config.tag_prefix) for note, parent in jobs
        ]
        hits = cache.get(keys, config.media_dir)
        done = len(hits)
        if progress is not None:
            progress(done, len(jobs))

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, len(jobs))

        missing = [i for i, k in enumerate(keys) if k not in hits]
        fresh = render_many(
            [jobs[i] for i in missing],
            config.media_dir,
            config.tag_prefix,
            config.run.workers,
            advance,
            also=lint.note,
        )
        problems: list[Problem] = []
        results: list[RenderedNote | None] = [None] * len(jobs)
        new_entries = {}
        for i, (note, found) in zip(missing, fresh, strict=True):
            results[i] = note
            problems += found
            if not found:
                new_entries[keys[i]] = CachedRender.of(note)
        for i, k in enumerate(keys):
            if k in hits:
                results[i] = hits[k].to_note(jobs[i][0])
        cache.put(new_entries)
    finally:
        cache.close()
    return [r for r in results if r is not None], problems


def _notetype_ids(config: DeckConfig, notes: list[source.SourceNote]) -> list[Problem]:
    """A reverse or cloze note needs its note type's id in the config: an id is a promise to
    learners, so ml-anki never makes one up."""
    problems = []
    for kind in KINDS:
        first = next((n for n in notes if n.kind == kind), None)
        if first is not None and config.notetype_ids[kind] is None:
            key = NOTETYPE_KEYS[kind][0]
            problems.append(
                Problem(
                    first.where,
                    "error",
                    f"note #{first.id} is a {kind} note, but [tool.ml-anki] has no {key}; add "
                    f"one, drawn at random for this deck alone ({INIT_HINT})",
                )
            )
    return problems


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


@dataclass(frozen=True, slots=True)
class Plan:
    """What a build would ship, decided in memory: the checked notes, the lock after them, and
    the deck they make."""

    checked: CheckResult
    previous: lock_mod.Lock
    """The lock on disk."""
    lock: lock_mod.Lock
    """The lock after these notes: new mods for changed content, the note types' look."""
    changes: lock_mod.Changes
    deck: deck_mod.Deck
    """Everything the package holds; `package.write` only serializes it."""
    version: str
    """The version the deck names: `[project] version`, or `<version>+dev` between releases."""


def plan(
    config: DeckConfig,
    progress: Progress | None = None,
    version: str | None = None,
    memo: Memo | None = None,
) -> Plan:
    """Check the sources (any error stops here), update the lock with them and decide the deck;
    writes nothing.

    `version` stamps changed notes (default: `[project] version`); `release` passes the new one.
    """
    checked = check(config, progress, memo)
    if has_errors(list(checked.problems)):
        raise SourceError(list(checked.problems))
    previous = lock_mod.load(config.lock_path)
    # Refuses a changed note type schema, with what it would do to learners' imports.
    lock, changes = previous.updated_with(
        checked.rendered,
        looks={kind: (notetype.schema(kind), notetype.look(kind).fingerprint) for kind in KINDS},
        version=version or config.version,
        now=config.run.now,
        path=config.lock_path,
    )
    decided = deck_mod.decide(config, checked.rendered, lock, memo)
    shown = deck_mod.shown_version(config, checked.rendered, lock)
    return Plan(checked, previous, lock, changes, decided, shown)


def build(config: DeckConfig, progress: Progress | None = None) -> BuildResult:
    planned = plan(config, progress)
    lock_text = planned.lock.dumps()
    # After a release, a build from changed sources is not that release: never overwrite it.
    path = config.package_file(planned.version)
    inputs = _package_inputs(planned.deck)
    cache = RenderCache(config.run.cache_dir)
    try:
        # Packaging is most of a no-change rebuild: skip it when the deck on disk was written
        # from exactly this deck value (and still has the bytes it was written with).
        known = cache.package_sha256(inputs)
        unchanged_file = (
            known is not None and path.is_file() and _sha256(path.read_bytes()) == known
        )
        apkg = b"" if unchanged_file else _package(planned.deck)
        # The lock goes first: if writing the deck then fails, the next build finds every hash
        # in the lock already and rebuilds the very same deck, mods included.
        if (
            not config.lock_path.is_file()
            or config.lock_path.read_text(encoding="utf-8") != lock_text
        ):
            atomic_write(config.lock_path, lock_text.encode())
        if not unchanged_file:
            unchanged_file = path.is_file() and path.read_bytes() == apkg
            if not unchanged_file:
                atomic_write(path, apkg)
            cache.remember_package(inputs, _sha256(apkg))
    finally:
        cache.close()
    warnings = tuple(p for p in planned.checked.problems if p.severity == "warning")
    return BuildResult(path, planned.changes, len(planned.deck.media), warnings, unchanged_file)


def _package_inputs(decided: deck_mod.Deck) -> str:
    """Everything the package bytes are a function of: the deck value and the code writing it."""
    digest = hashlib.sha256()
    for part in (
        epoch(),
        repr(decided),
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _package(decided: deck_mod.Deck) -> bytes:
    from . import package  # genanki is only needed when the deck really is (re)written

    with scratch_space():
        return package.write(decided)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
