"""The lock file: what each released note looked like, and since when.

Anki applies an incoming note only when its mod is newer than the learner's copy, and never
otherwise. The lock (committed next to the cards) records per note a hash of its rendered
content and its mod, so a build gives a new mod to exactly the notes whose content changed and
keeps every other note byte-for-byte: learners get the edits, and their own edits to untouched
notes survive. The same goes for the note type's templates and CSS.

Format: JSON with one line per note, sorted by id, so diffs and merges stay readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem, SourceError, SourceSpan
from .render import RenderedNote

FORMAT = 1


@dataclass(frozen=True, slots=True)
class LockedNote:
    hash: str
    """`RenderedNote.content_hash` when the note last changed."""
    mod: int
    """The note's modification time (seconds) as shipped; only ever grows."""
    added: int
    """When the note first appeared; its Anki note id derives from it."""
    version: str
    """Deck version in which the content last changed (shown on the card's back)."""
    question: str
    """Plain question text, so a reused id can be told apart from an edit."""


@dataclass(frozen=True, slots=True)
class LockedNoteType:
    fields: tuple[str, ...]
    templates: tuple[str, ...]
    fingerprint: str
    """Hash of templates + CSS; when it changes the note type's mod must grow."""
    mod: int


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """In the lock but no longer in the sources (their entries are kept, never shipped)."""
    notetype_changed: bool = False


@dataclass(frozen=True, slots=True)
class Lock:
    notetype: LockedNoteType | None = None
    notes: Mapping[str, LockedNote] = field(default_factory=dict)

    def updated_with(
        self,
        rendered: Sequence[RenderedNote],
        *,
        schema: Mapping[str, Sequence[str]],
        fingerprint: str,
        version: str,
        now: int,
        path: Path,
    ) -> tuple[Lock, Changes]:
        """The lock after this build, and what changed; refuses a changed note type schema."""
        fields, templates = tuple(schema["fields"]), tuple(schema["templates"])
        old_type = self.notetype
        if old_type is not None and (old_type.fields, old_type.templates) != (fields, templates):
            raise SourceError.single(
                SourceSpan(path, _line_of(path, '"notetype"')),
                "the note type's fields or templates changed "
                f"(locked fields: {', '.join(old_type.fields)}; now: {', '.join(fields)}). "
                "Anki would mark every learner's note as conflicting and leave it un-updated; "
                "restore the field list in notetype.py, or ship a new note type id as a breaking "
                "release",
            )
        if old_type is None:
            notetype = LockedNoteType(fields, templates, fingerprint, now)
        elif old_type.fingerprint != fingerprint:
            notetype = LockedNoteType(fields, templates, fingerprint, max(now, old_type.mod + 1))
        else:
            notetype = old_type

        notes = dict(self.notes)
        added, changed, unchanged = [], [], []
        for note in rendered:
            digest = note.content_hash
            old = self.notes.get(note.id)
            if old is None:
                notes[note.id] = LockedNote(digest, now, now, version, note.question_text)
                added.append(note.id)
            elif old.hash != digest:
                # Anki ignores an update whose mod is not newer than the learner's copy.
                mod = max(now, old.mod + 1)
                notes[note.id] = LockedNote(digest, mod, old.added, version, note.question_text)
                changed.append(note.id)
            else:
                unchanged.append(note.id)
        present = {note.id for note in rendered}
        removed = sorted((i for i in self.notes if i not in present), key=natural_key)
        changes = Changes(
            added=tuple(added),
            changed=tuple(changed),
            unchanged=tuple(unchanged),
            removed=tuple(removed),
            notetype_changed=old_type is not None and notetype is not old_type,
        )
        return Lock(notetype, notes), changes

    def dumps(self) -> str:
        lines = ["{", f'  "format": {FORMAT},']
        if self.notetype is not None:
            t = self.notetype
            notetype = {
                "fields": list(t.fields),
                "fingerprint": t.fingerprint,
                "mod": t.mod,
                "templates": list(t.templates),
            }
            lines.append(f'  "notetype": {_compact(notetype)},')
        lines.append('  "notes": {')
        ids = sorted(self.notes, key=natural_key)
        for n, note_id in enumerate(ids):
            entry = self.notes[note_id]
            record = {
                "added": entry.added,
                "hash": entry.hash,
                "mod": entry.mod,
                "question": entry.question,
                "version": entry.version,
            }
            comma = "," if n + 1 < len(ids) else ""
            lines.append(f"    {_compact(note_id)}: {_compact(record)}{comma}")
        lines += ["  }", "}", ""]
        return "\n".join(lines)


def natural_key(note_id: str) -> tuple[tuple[int, int | str], ...]:
    """`2` < `12` < `12-1` < `12-2`: the order of the study guide."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", note_id)
        if part
    )


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _line_of(path: Path, needle: str) -> int:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if needle in line:
                return number
    except OSError:
        pass
    return 0


_REPAIR = (
    "fix it by hand, or delete the damaged note lines: the next build re-creates them from the "
    "sources with a fresh mod (learners then get those notes once more as an update)"
)


def load(path: Path) -> Lock:
    """The lock at `path`; an empty lock when there is none yet. A damaged lock is an error."""
    if not path.exists():
        return Lock()
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            raise SourceError.single(
                SourceSpan(path, number, 1),
                f"merge conflict marker in the lock file; keep, for each note, the line with the "
                f"larger mod, or {_REPAIR}",
            )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError.single(
            SourceSpan(path, exc.lineno, exc.colno),
            f"lock file is not valid JSON ({exc.msg}); {_REPAIR}",
        ) from None
    problems: list[Problem] = []
    lock = _from_json(data, path, text, problems)
    if problems:
        raise SourceError(problems)
    return lock


def _from_json(data: Any, path: Path, text: str, problems: list[Problem]) -> Lock:
    where = SourceSpan(path, 1, 1)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        problems.append(
            Problem(where, "error", f"not an ml-anki lock file of format {FORMAT}; {_REPAIR}")
        )
        return Lock()
    notetype = None
    raw_type = data.get("notetype")
    if raw_type is not None:
        try:
            notetype = LockedNoteType(
                fields=tuple(_typed(raw_type["fields"], list)),
                templates=tuple(_typed(raw_type["templates"], list)),
                fingerprint=_typed(raw_type["fingerprint"], str),
                mod=_typed(raw_type["mod"], int),
            )
        except (KeyError, TypeError):
            problems.append(
                Problem(
                    SourceSpan(path, _line_of(path, '"notetype"'), 1),
                    "error",
                    "damaged notetype entry (needs fields, templates, fingerprint, mod); restore it "
                    "from the last release's lock in git",
                )
            )
    notes: dict[str, LockedNote] = {}
    raw_notes = data.get("notes", {})
    if not isinstance(raw_notes, dict):
        problems.append(Problem(where, "error", f'"notes" must be an object; {_REPAIR}'))
        return Lock(notetype)
    lines = text.split("\n")
    for note_id, raw in raw_notes.items():
        try:
            notes[note_id] = LockedNote(
                hash=_typed(raw["hash"], str),
                mod=_typed(raw["mod"], int),
                added=_typed(raw["added"], int),
                version=_typed(raw["version"], str),
                question=_typed(raw["question"], str),
            )
        except (KeyError, TypeError):
            line = next(
                (n for n, ln in enumerate(lines, 1) if ln.lstrip().startswith(f'"{note_id}"')), 0
            )
            problems.append(
                Problem(
                    SourceSpan(path, line, 1),
                    "error",
                    f"damaged entry for note #{note_id} (needs added, hash, mod, question, "
                    f"version); {_REPAIR}",
                )
            )
    return Lock(notetype, notes)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value
