"""`ml-anki release`: ship the next version of the deck, or refuse when it would hurt learners.

Top to bottom: check the sources, decide the version, compare with the lock (refusals), stamp
every change since the last release with the new version and the release time, retire the notes
that left the sources, render the changelog section, package. Files are written only after all
of that succeeded, each atomically, the lock last: it records the release, so an interrupted
release leaves the lock naming the previous one, and running it again finishes it (without the
bump when pyproject.toml already names the new version; a leftover changelog section is replaced).

Why the release time: Anki applies an update only when its mod is newer than the learner's copy.
Stamping every change with the release time, rather than with when it was edited, means a
learner who imported the previous release late still gets all of this one.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from . import apkg, changelog, notetype
from . import deck as deck_mod
from .errors import Problem, SourceError, SourceSpan, UnreadablePackage
from .files import atomic_write, read_text, scratch_space
from .lock import Lock, LockedNote, Retirement, natural_key, version_key
from .notetype import KINDS

if TYPE_CHECKING:
    from .build import Progress
    from .config import DeckConfig
    from .render import RenderedNote

Bump = Literal["major", "minor", "patch"]
CHANGELOG = "CHANGELOG.md"
_PROJECT_TABLE = re.compile(r"^\[project\][ \t]*(#.*)?$")
_TABLE = re.compile(r"^\[")
_VERSION_LINE = re.compile(r"""^(\s*version\s*=\s*)(["'])([^"']*)\2""")


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    version: str
    previous: str | None
    """The release before this one; None for the first."""
    package_path: Path
    section: changelog.Section
    commit: tuple[Path, ...]
    """What the maintainer commits: pyproject.toml, the lock, CHANGELOG.md, cards and media."""
    warnings: tuple[Problem, ...]


def next_version(current: str, bump: Bump | None) -> str:
    """`1.2.3` + minor → `1.3.0`; no bump releases `current` as it is (e.g. the first release)."""
    major, minor, patch = version_key(current)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return current


def release(
    config: DeckConfig,
    bump: Bump | None = None,
    *,
    replaced_by: Mapping[str, str] | None = None,
    reworded: Collection[str] = (),
    relearn: Collection[str] = (),
    previous_package: Path | None = None,
    progress: Progress | None = None,
) -> ReleaseResult:
    """Check, refuse or release; see the module docstring. Writes only when nothing refuses."""
    from . import build, package

    replaced_by = dict(replaced_by or {})
    version = next_version(config.version, bump)
    planned = build.plan(config, progress, version=version)
    checked, old, stamped = planned.checked, planned.previous, planned.lock
    rendered = {note.id: note for note in checked.rendered}
    if old.released is not None and version_key(version) <= version_key(old.released):
        raise SourceError.single(
            _pyproject_span(config),
            f"v{version} is not newer than the last release, v{old.released} (recorded in "
            f"{config.lock_path.name}); name the next version: ml-anki release patch, minor or major",
        )
    leaving = [i for i, e in old.notes.items() if i not in rendered and e.retired is None]
    retiring = sorted(
        (i for i in leaving if old.is_released(old.notes[i].first_version)), key=natural_key
    )
    problems = _reused_ids(old, rendered, reworded) + _bad_replacements(
        replaced_by, retiring, rendered
    )
    pending = sorted(
        (i for i in rendered if not old.is_released(stamped.notes[i].version)), key=natural_key
    )
    problems += _bad_relearn(old, relearn, pending, rendered)
    if problems:
        raise SourceError(problems)
    types = {kind: t for kind in KINDS if (t := stamped.notetype_of(kind)) is not None}
    notetype_pending = any(not old.is_released(t.version) for t in types.values())
    if old.released is not None and not (pending or retiring or notetype_pending):
        raise SourceError.single(
            SourceSpan(config.lock_path),
            f"nothing changed since v{old.released}: every note, figure and the card templates "
            f"are as released, so learners would get nothing new; edit the cards first "
            f"(ml-anki diff {config.package_file(old.released)} shows what differs)",
        )
    retirements = (
        _retirements(config, old, retiring, replaced_by, rendered, version, previous_package)
        if retiring
        else {}
    )

    notes: dict[str, LockedNote] = {}
    for note_id, entry in stamped.notes.items():
        if note_id in retirements:
            notes[note_id] = retirements[note_id]
        elif note_id in leaving:
            continue  # never shipped: no learner has it, so there is nothing to retire
        elif note_id in pending:
            first = entry.first_version if old.is_released(entry.first_version) else version
            notes[note_id] = replace(
                entry,
                version=version,
                since=None if first == version else first,
                # The edit already got a mod above the released one; the release time is later.
                mod=max(config.run.now, entry.mod),
                question=rendered[note_id].question_text,
                relearn=version if note_id in relearn else None,
            )
        else:
            notes[note_id] = entry
    # Templates or CSS changed since the last release ship now, with the release time as mod.
    types = {
        kind: t
        if old.is_released(t.version)
        else replace(t, version=version, mod=max(config.run.now, t.mod))
        for kind, t in types.items()
    }
    qa_type = types.pop("qa", None)
    # From this release on, every note it changes carries the changed tag (see Lock.tagged_since).
    tagged_since = old.tagged_since or version
    released = Lock(qa_type, notes, version, types, tagged_since)

    released_config = replace(config, version=version)
    with scratch_space():
        apkg_bytes = package.write(deck_mod.decide(released_config, checked.rendered, released))
    section = replace(
        _section(config, old, released, rendered, pending, retirements, reworded, notetype_pending),
        package=config.package_file(version).name,
        sha256=hashlib.sha256(apkg_bytes).hexdigest(),
    )
    changelog_path = config.root / CHANGELOG
    existing = read_text(changelog_path) if changelog_path.is_file() else None
    changelog_text = changelog.with_section(existing, section, config.tag_prefix)
    pyproject_path = config.root / "pyproject.toml"
    pyproject_text = None
    if version != config.version:
        pyproject_text = _with_version(read_text(pyproject_path), version, config)

    # Every check passed: write. The lock goes last because it is what records the release.
    atomic_write(config.package_file(version), apkg_bytes)
    atomic_write(changelog_path, changelog_text.encode())
    if pyproject_text is not None:
        atomic_write(pyproject_path, pyproject_text.encode())
    atomic_write(config.lock_path, released.dumps().encode())
    return ReleaseResult(
        version=version,
        previous=old.released,
        package_path=config.package_file(version),
        section=section,
        commit=tuple(
            path
            for path in (
                pyproject_path,
                config.lock_path,
                changelog_path,
                config.cards_dir,
                config.media_dir,
            )
            if path.exists()
        ),
        warnings=tuple(p for p in checked.problems if p.severity == "warning"),
    )


def _reused_ids(
    old: Lock, rendered: Mapping[str, RenderedNote], reworded: Collection[str]
) -> list[Problem]:
    """An id is a promise that it is the same card: learners keep its review history."""
    problems = []
    for note_id, note in rendered.items():
        entry = old.notes.get(note_id)
        if entry is None or not old.is_released(entry.first_version):
            continue
        if entry.question != note.question_text and note_id not in reworded:
            problems.append(
                Problem(
                    note.where,
                    "error",
                    f"note #{note_id} was released asking {entry.question!r} and now asks "
                    f"{note.question_text!r}; learners would keep the old question's review "
                    f"history for the new one. Give the new question a new id, or, if this only "
                    f"rewords the same question, release with --reworded {note_id}",
                )
            )
    return problems


def _bad_relearn(
    old: Lock, relearn: Collection[str], pending: list[str], rendered: Mapping[str, RenderedNote]
) -> list[Problem]:
    """Relearning is for an answer learners memorized and this release corrects: a released
    note this release changes."""
    changed = {
        i
        for i in pending
        if (e := old.notes.get(i)) is not None
        and e.retired is None
        and old.is_released(e.first_version)
    }
    problems = []
    for note_id in sorted(relearn, key=natural_key):
        if note_id in changed:
            continue
        if note_id not in rendered:
            why = "is not in the cards"
        elif note_id in pending:
            why = "is new in this release: learners have nothing to relearn"
        else:
            why = "did not change since the last release: edit its answer first"
        listed = ", ".join(f"#{i}" for i in sorted(changed, key=natural_key)) or "none"
        problems.append(
            Problem(
                rendered[note_id].where if note_id in rendered else None,
                "error",
                f"--relearn {note_id}: #{note_id} {why} (released notes this release "
                f"changes: {listed})",
            )
        )
    return problems


def _bad_replacements(
    replaced_by: Mapping[str, str], retiring: list[str], rendered: Mapping[str, RenderedNote]
) -> list[Problem]:
    problems = []
    for old_id, new_id in sorted(replaced_by.items()):
        if old_id not in retiring:
            leaving = ", ".join(f"#{i}" for i in retiring) or "none"
            problems.append(
                Problem(
                    None,
                    "error",
                    f"--replaced-by {old_id}={new_id}: #{old_id} is not a released note leaving "
                    f"the cards in this release (leaving: {leaving})",
                )
            )
        if new_id not in rendered:
            problems.append(
                Problem(
                    None,
                    "error",
                    f"--replaced-by {old_id}={new_id}: #{new_id} (the replacement of "
                    f"#{old_id}) is not in the cards",
                )
            )
    return problems


def _retirements(
    config: DeckConfig,
    old: Lock,
    retiring: list[str],
    replaced_by: Mapping[str, str],
    rendered: Mapping[str, RenderedNote],
    version: str,
    previous_package: Path | None,
) -> dict[str, LockedNote]:
    """The retired lock entries, with the fields each note was last released with.

    Those fields come from the previous release's package: learners have exactly them, and an
    update with other (or empty) fields would overwrite their copy. They are then kept in the
    lock, so every later release ships the retired note without needing that package again.
    """
    assert old.released is not None
    path = previous_package or config.package_file(old.released)
    ids = ", ".join(f"#{i}" for i in retiring)
    try:
        previous = apkg.read(path)
    except UnreadablePackage as exc:
        raise SourceError.single(
            SourceSpan(exc.path),
            f"{exc.reason}; {ids} left the cards, and to keep shipping them retired (learners "
            f"keep their copy) ml-anki needs the fields they were released with: put the "
            f"v{old.released} release's .apkg here or pass --previous FILE, or restore the notes",
        ) from None
    retired_tag = f"{config.tag_prefix}::retired"
    shipped_notes = previous.by_guid()
    entries: dict[str, LockedNote] = {}
    missing = []
    for note_id in retiring:
        shipped = shipped_notes.get(deck_mod.guid(config.namespace, note_id))
        if shipped is None:
            missing.append(f"#{note_id}")
            continue
        text = config.strings
        line = html.escape(text.retired_line.format(version=version))
        replacement = replaced_by.get(note_id)
        if replacement is not None:
            # Escaped before formatting: the question is HTML already.
            line += html.escape(text.replaced_by).format(
                id=replacement, question=rendered[replacement].question_html
            )
        shipped_fields = previous.fields(shipped)
        kind = old.notes[note_id].kind
        fields = {name: shipped_fields.get(name, "") for name in notetype.field_names(kind)}
        fields.update(
            {
                notetype.ID_FIELD: note_id,
                notetype.VERSION_FIELD: version,
                notetype.RETIRED_FIELD: line,
            }
        )
        entry = old.notes[note_id]
        first = entry.first_version
        entries[note_id] = replace(
            entry,
            version=version,
            since=None if first == version else first,
            mod=max(config.run.now, entry.mod + 1),
            retired=Retirement(
                version=version,
                replaced_by=replacement,
                fields=fields,
                tags=tuple(t for t in shipped.tags if t != retired_tag) + (retired_tag,),
            ),
        )
    if missing:
        raise SourceError.single(
            SourceSpan(path),
            f"{', '.join(missing)} left the cards but are not in this package, so their released "
            f"fields are unknown; is it really the v{old.released} release? Pass the right file "
            f"with --previous FILE",
        )
    return entries


def _section(
    config: DeckConfig,
    old: Lock,
    released: Lock,
    rendered: Mapping[str, RenderedNote],
    pending: list[str],
    retirements: Mapping[str, LockedNote],
    reworded: Collection[str],
    notetype_changed: bool,
) -> changelog.Section:
    added, changed = [], []
    for note_id in pending:
        before = old.notes.get(note_id)
        question = rendered[note_id].question_text
        if before is None or not old.is_released(before.first_version):
            added.append(changelog.Entry(note_id, question))
        elif before.retired is not None:
            added.append(changelog.Entry(note_id, question, "restored"))
        else:
            detail = (
                "question reworded" if note_id in reworded and before.question != question else ""
            )
            changed.append(changelog.Entry(note_id, question, detail))
    relearn = tuple(
        changelog.Entry(note_id, rendered[note_id].question_text)
        for note_id in pending
        if released.notes[note_id].relearn == released.released
    )
    removed = []
    for note_id, entry in retirements.items():
        assert entry.retired is not None
        by = entry.retired.replaced_by
        removed.append(changelog.Entry(note_id, entry.question, f"replaced by #{by}" if by else ""))
    return changelog.Section(
        version=released.released or "",
        released=config.run.now,
        notes=len(rendered),
        retired=sum(1 for e in released.notes.values() if e.retired is not None),
        added=tuple(added),
        changed=tuple(changed),
        removed=tuple(sorted(removed, key=lambda e: natural_key(e.note_id))),
        notetype_changed=notetype_changed and old.released is not None,
        relearn=relearn,
        relearn_tag=f"{config.tag_prefix}::relearn::v{released.released}",
    )


def _pyproject_span(config: DeckConfig) -> SourceSpan:
    path = config.root / "pyproject.toml"
    line = _version_line(read_text(path).split("\n"))
    return SourceSpan(path, line + 1 if line is not None else 0)


def _version_line(lines: list[str]) -> int | None:
    """Index of the `version = "…"` line of the `[project]` table."""
    in_project = False
    for n, line in enumerate(lines):
        if _TABLE.match(line):
            in_project = bool(_PROJECT_TABLE.match(line.strip()))
        elif in_project and _VERSION_LINE.match(line):
            return n
    return None


def _with_version(text: str, version: str, config: DeckConfig) -> str:
    """pyproject.toml with only its `[project] version` line changed."""
    lines = text.split("\n")
    n = _version_line(lines)
    if n is None:
        raise SourceError.single(
            SourceSpan(config.root / "pyproject.toml"),
            f"cannot find the [project] version line to set it to {version}; write it on one line "
            f'as version = "{config.version}"',
        )
    lines[n] = _VERSION_LINE.sub(lambda m: f"{m[1]}{m[2]}{version}{m[2]}", lines[n], count=1)
    return "\n".join(lines)
