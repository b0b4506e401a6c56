"""The lock file: what each released note looked like, and since when.

Anki applies an incoming note only when its mod is newer than the learner's copy, and never
otherwise. The lock (committed next to the cards) records per note a hash of its rendered
content and its mod, so a build gives a new mod to exactly the notes whose content changed and
keeps every other note byte-for-byte: learners get the edits, and their own edits to untouched
notes survive. The same goes for the note type's templates and CSS.

Release state lives here too: `released` names the last version `ml-anki release` shipped, and
a note (or the note type) whose `version` is not yet released is pending: `build` stamps changes
made after a release `"unreleased"`, and the next `release` stamps them with its own version and
time. A note removed from the sources after it shipped stays in the lock as a retired note, with
the fields it was released with, and keeps shipping (Anki never deletes a learner's note).

Format: JSON with one line per note, sorted by id, so diffs and merges stay readable.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from .errors import Problem, SourceError, SourceSpan
from .files import read_text
from .notetype import KINDS, Kind
from .render import RenderedNote

FORMAT = 1
UNRELEASED = "unreleased"
"""`version` of content changed since the last release; `release` replaces it with its version."""
_VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Retirement:
    """A note removed from the sources after it shipped: it keeps shipping, marked retired."""

    version: str
    """The release that retired it."""
    replaced_by: str | None
    """The note that replaces it, when the maintainer named one (`release --replaced-by`)."""
    fields: Mapping[str, str]
    """Every field as shipped: the last released content plus the Retired line and Version."""
    tags: tuple[str, ...]
    """Its tags as released plus `<tag-prefix>::retired`."""


@dataclass(frozen=True, slots=True)
class LockedNote:
    hash: str
    """`RenderedNote.content_hash` when the note last changed."""
    mod: int
    """The note's modification time (seconds) as shipped; only ever grows."""
    added: int
    """When the note first appeared; its Anki note id derives from it."""
    version: str
    """Deck version in which the content last changed (shown on the card's back); `UNRELEASED`
    for a change made since the last release."""
    question: str
    """Plain question text as last released (as last built, for a note never released), so a
    reused id can be told apart from an edit."""
    since: str | None = None
    """The release that first shipped the note, when it differs from `version` (None: the same)."""
    retired: Retirement | None = None
    """Set once the note left the sources after shipping; it then ships retired, for ever."""
    kind: Kind = "qa"
    """Its note type; a released note never changes it (Anki cannot change it on import)."""
    cards: Mapping[int, int] = field(default_factory=dict)
    """Card ord → card id for the cards after the first (whose id is the note id), drawn once
    when the card first appeared, so every card keeps its id, and its review history, for ever."""
    relearn: str | None = None
    """The release that corrected this note's answer (`release --relearn`): learners should
    relearn it. Kept only while `version` is that release; a later change clears it."""

    @property
    def first_version(self) -> str:
        return self.since if self.since is not None else self.version


@dataclass(frozen=True, slots=True)
class LockedNoteType:
    fields: tuple[str, ...]
    templates: tuple[str, ...]
    fingerprint: str
    """Hash of templates + CSS; when it changes the note type's mod must grow."""
    mod: int
    version: str = UNRELEASED
    """The release that shipped these templates and CSS, or `UNRELEASED`."""


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """In the lock but no longer in the sources and not retired yet (`release` retires them)."""
    notetype_changed: bool = False


@dataclass(frozen=True, slots=True)
class Lock:
    notetype: LockedNoteType | None = None
    """The Q&A note type."""
    notes: Mapping[str, LockedNote] = field(default_factory=dict)
    released: str | None = None
    """The version the last `ml-anki release` shipped; None before the first release."""
    notetypes: Mapping[Kind, LockedNoteType] = field(default_factory=dict)
    """The other note types (reverse, cloze), once a note used them."""
    tagged_since: str | None = None
    """The first release whose changed notes carry `<tag-prefix>::changed::v…`. Notes last
    changed before it shipped without that tag, and keep shipping without it, so a rebuild of an
    older release's sources gives that release's package byte for byte."""

    def notetype_of(self, kind: Kind) -> LockedNoteType | None:
        return self.notetype if kind == "qa" else self.notetypes.get(kind)

    def note_ids(self) -> dict[str, int]:
        """Anki note ids are creation times in ms: derive them from when each note first
        appeared. Notes added in the same second get consecutive milliseconds, in id order.

        A note's first card has the note's id as its own, so a note id never takes an id the
        lock gave to another card."""
        taken = {card_id for entry in self.notes.values() for card_id in entry.cards.values()}
        ids: dict[str, int] = {}
        previous = -1
        for note_id in sorted(self.notes, key=lambda i: (self.notes[i].added, natural_key(i))):
            previous = max(self.notes[note_id].added * 1000, previous + 1)
            while previous in taken:
                previous += 1
            ids[note_id] = previous
        return ids

    def is_released(self, version: str) -> bool:
        """Whether content stamped with `version` already shipped in a release."""
        return (
            self.released is not None
            and version != UNRELEASED
            and version_key(version) <= version_key(self.released)
        )

    def shown_version(self, version: str, present: Collection[str]) -> str:
        """The version a deck of this lock names: `version`, or `<version>+dev` for a build made
        after `version` was released from sources changed since (`present`: their note ids)."""
        if not self.is_released(version):
            return version
        notetype_pending = self.notetype is not None and not self.is_released(self.notetype.version)
        notes_pending = any(
            not self.is_released(entry.version)
            or (entry.retired is None and note_id not in present)
            for note_id, entry in self.notes.items()
        )
        return f"{version}+dev" if notetype_pending or notes_pending else version

    def kind_change(self, note_id: str, kind: Kind, where: SourceSpan) -> Problem | None:
        """The refusal of a released note that changed its note type, if it did."""
        old = self.notes.get(note_id)
        if old is None or old.kind == kind or not self.is_released(old.first_version):
            return None
        return Problem(
            where,
            "error",
            f"note #{note_id} was released as a {_TYPE_NAMES[old.kind]} note and is now a "
            f"{_TYPE_NAMES[kind]} note; Anki cannot change a note's type on import (learners' "
            f"copies would conflict and stop updating). Give it a new id, and leave #{note_id} "
            "out of the cards: the next release retires it",
        )

    def updated_with(
        self,
        rendered: Sequence[RenderedNote],
        *,
        looks: Mapping[Kind, tuple[Mapping[str, Sequence[str]], str]],
        version: str,
        now: int,
        path: Path,
    ) -> tuple[Lock, Changes]:
        """The lock after this build, and what changed; refuses a changed note type schema and a
        released note that changed its note type.

        `looks` gives, per note type the notes use, its schema and the fingerprint of its
        templates and CSS."""
        # Content changed after `version` was released is stamped pending, never with a version
        # that already shipped: `release` must find it, even after several builds.
        stamp = UNRELEASED if self.is_released(version) else version
        problems: list[Problem] = []
        types: dict[Kind, LockedNoteType] = {}
        changed_types = False
        used = {note.kind for note in rendered} | {
            e.kind for e in self.notes.values() if e.retired is not None
        }
        for kind, (schema, fingerprint) in looks.items():
            old_type = self.notetype_of(kind)
            if kind not in used and old_type is None:
                continue
            fields, templates = tuple(schema["fields"]), tuple(schema["templates"])
            if old_type is not None and (old_type.fields, old_type.templates) != (
                fields,
                templates,
            ):
                key = '"notetype"' if kind == "qa" else '"notetypes"'
                problems.append(
                    Problem(
                        SourceSpan(path, _line_of(path, key)),
                        "error",
                        f"the {'' if kind == 'qa' else kind + ' '}note type's fields or "
                        "templates changed "
                        f"({_schema_change(old_type, fields, templates)}). "
                        "Anki would mark every learner's note as conflicting and leave it "
                        "un-updated; restore the field list in notetype.py, or ship a new note "
                        "type id as a breaking release",
                    )
                )
                continue
            if old_type is None:
                types[kind] = LockedNoteType(fields, templates, fingerprint, now, stamp)
            elif old_type.fingerprint != fingerprint:
                mod = max(now, old_type.mod + 1)
                types[kind] = LockedNoteType(fields, templates, fingerprint, mod, stamp)
                changed_types = True
            else:
                types[kind] = old_type
        for kind in ("reverse", "cloze"):
            if kind not in types and (kept := self.notetypes.get(kind)) is not None:
                types[kind] = kept  # no note uses it now; it still is what learners may have

        notes = dict(self.notes)
        added, changed, unchanged = [], [], []
        for note in rendered:
            digest = note.content_hash
            old = self.notes.get(note.id)
            if old is None:
                notes[note.id] = LockedNote(
                    digest, now, now, stamp, note.question_text, kind=note.kind
                )
                added.append(note.id)
            elif (refused := self.kind_change(note.id, note.kind, note.where)) is not None:
                problems.append(refused)
            elif old.hash != digest or old.retired is not None or old.kind != note.kind:
                # Anki ignores an update whose mod is not newer than the learner's copy (a note
                # back from retirement must lose its retired line and tag, so it changed too).
                mod = max(now, old.mod + 1)
                since = old.first_version
                question = old.question if self.is_released(since) else note.question_text
                notes[note.id] = LockedNote(
                    digest,
                    mod,
                    old.added,
                    stamp,
                    question,
                    None if since == stamp else since,
                    kind=note.kind,
                    # A note type change (never released) starts its cards afresh.
                    cards=old.cards if old.kind == note.kind else {},
                )
                changed.append(note.id)
            else:
                unchanged.append(note.id)
        if problems:
            raise SourceError(problems)
        notes = _with_card_ids(notes, rendered, now)
        present = {note.id for note in rendered}
        removed = sorted(
            (i for i, e in self.notes.items() if i not in present and e.retired is None),
            key=natural_key,
        )
        qa_type = types.pop("qa", None)
        changes = Changes(
            added=tuple(added),
            changed=tuple(changed),
            unchanged=tuple(unchanged),
            removed=tuple(removed),
            notetype_changed=changed_types,
        )
        return Lock(qa_type, notes, self.released, types, self.tagged_since), changes

    def dumps(self) -> str:
        lines = ["{", f'  "format": {FORMAT},']
        if self.notetype is not None:
            t = self.notetype
            notetype = {
                "fields": list(t.fields),
                "fingerprint": t.fingerprint,
                "mod": t.mod,
                "templates": list(t.templates),
                "version": t.version,
            }
            lines.append(f'  "notetype": {_compact(notetype)},')
        if self.notetypes:
            others = {kind: _notetype_record(t) for kind, t in self.notetypes.items()}
            lines.append(f'  "notetypes": {_compact(others)},')
        if self.released is not None:
            lines.append(f'  "released": {_compact(self.released)},')
        if self.tagged_since is not None:
            lines.append(f'  "tagged_since": {_compact(self.tagged_since)},')
        lines.append('  "notes": {')
        ids = sorted(self.notes, key=natural_key)
        for n, note_id in enumerate(ids):
            entry = self.notes[note_id]
            record: dict[str, object] = {
                "added": entry.added,
                "hash": entry.hash,
                "mod": entry.mod,
                "question": entry.question,
                "version": entry.version,
            }
            if entry.since is not None:
                record["since"] = entry.since
            if entry.kind != "qa":
                record["type"] = entry.kind
            if entry.relearn is not None:
                record["relearn"] = entry.relearn
            if entry.cards:
                record["cards"] = {str(o): i for o, i in sorted(entry.cards.items())}
            if entry.retired is not None:
                r = entry.retired
                record["retired"] = {
                    "fields": dict(r.fields),
                    "replaced_by": r.replaced_by,
                    "tags": list(r.tags),
                    "version": r.version,
                }
            comma = "," if n + 1 < len(ids) else ""
            lines.append(f"    {_compact(note_id)}: {_compact(record)}{comma}")
        lines += ["  }", "}", ""]
        return "\n".join(lines)


def _schema_change(old: LockedNoteType, fields: tuple[str, ...], templates: tuple[str, ...]) -> str:
    if old.fields != fields:
        return f"locked fields: {', '.join(old.fields)}; now: {', '.join(fields)}"
    return f"locked templates: {', '.join(old.templates)}; now: {', '.join(templates)}"


_TYPE_NAMES: Mapping[Kind, str] = {"qa": "Q&A", "reverse": "reverse", "cloze": "cloze"}


def _with_card_ids(
    notes: Mapping[str, LockedNote], rendered: Sequence[RenderedNote], now: int
) -> dict[str, LockedNote]:
    """Give every card after a note's first an id of its own, once, for ever.

    A note's first card has the note's id (as every card of the Q&A deck always had), and note
    ids are consecutive milliseconds, so `note id + ord` would be another note's first card.
    A new card gets the next id above every note and card id in use (at least now, in ms, as
    Anki's own ids are creation times), and the lock keeps it, so later notes never take it
    (`Lock.note_ids` skips it) and a card that comes back gets its old id and history."""
    result = dict(notes)
    wanted = [
        (note.id, ord_)
        for note in sorted(rendered, key=lambda n: natural_key(n.id))
        for ord_ in note.card_ords
        if ord_ > 0 and ord_ not in notes[note.id].cards
    ]
    if not wanted:
        return result
    in_use = list(Lock(notes=notes).note_ids().values())
    in_use += [card_id for entry in notes.values() for card_id in entry.cards.values()]
    next_id = max([now * 1000, *(i + 1 for i in in_use)])
    for note_id, ord_ in wanted:
        entry = result[note_id]
        result[note_id] = replace(entry, cards={**entry.cards, ord_: next_id})
        next_id += 1
    return result


def version_key(version: str) -> tuple[int, ...]:
    """`1.10.0` > `1.9.2`: release versions compare as numbers."""
    return tuple(int(part) for part in version.split("."))


@cache  # sorted by several times per build, for thousands of ids
def natural_key(note_id: str) -> tuple[tuple[int, int | str], ...]:
    """`2` < `12` < `12-1` < `12-2`: the order of the study guide."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", note_id)
        if part
    )


def _notetype_record(t: LockedNoteType) -> dict[str, object]:
    return {
        "fields": list(t.fields),
        "fingerprint": t.fingerprint,
        "mod": t.mod,
        "templates": list(t.templates),
        "version": t.version,
    }


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _released_version(
    data: dict[str, Any], key: str, meaning: str, path: Path, problems: list[Problem]
) -> str | None:
    """`data[key]`, a version like "1.2.0" when present; a problem at its line otherwise."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and _VERSION.fullmatch(value)):
        return value
    problems.append(
        Problem(
            SourceSpan(path, _line_of(path, f'"{key}"'), 1),
            "error",
            f'"{key}" must be {meaning}, like "1.2.0", got {value!r}; '
            "restore it from the last release's lock in git",
        )
    )
    return None


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
    text = read_text(path)
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            raise SourceError.single(
                SourceSpan(path, number, 1),
                f"merge conflict marker in the lock file; keep, for each note, the line with the "
                f"larger mod, or {_REPAIR}",
            )
    return _parsed(text, path)


@functools.lru_cache(maxsize=4)
def _parsed(text: str, path: Path) -> Lock:
    # Several stages of one build read the same lock; a long-running process (`ml-anki watch`)
    # reads it on every rebuild. The Lock is immutable, so one parse serves them all.
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
            notetype = _locked_notetype(raw_type)
        except (KeyError, TypeError, AttributeError):
            problems.append(
                Problem(
                    SourceSpan(path, _line_of(path, '"notetype"'), 1),
                    "error",
                    "damaged notetype entry (needs fields, templates, fingerprint, mod, version); "
                    "restore it from the last release's lock in git",
                )
            )
    others: dict[Kind, LockedNoteType] = {}
    try:
        for kind, raw in _typed(data.get("notetypes", {}), dict).items():
            if kind not in ("reverse", "cloze"):
                raise TypeError(kind)
            others[kind] = _locked_notetype(raw)
    except (KeyError, TypeError, AttributeError):
        problems.append(
            Problem(
                SourceSpan(path, _line_of(path, '"notetypes"'), 1),
                "error",
                "damaged notetypes entry (reverse and cloze, each with fields, templates, "
                "fingerprint, mod, version); restore it from the last release's lock in git",
            )
        )
    notes: dict[str, LockedNote] = {}
    raw_notes = data.get("notes", {})
    if not isinstance(raw_notes, dict):
        problems.append(Problem(where, "error", f'"notes" must be an object; {_REPAIR}'))
        return Lock(notetype, notetypes=others)
    released = _released_version(data, "released", "the last released version", path, problems)
    lines = text.split("\n")
    for note_id, raw in raw_notes.items():
        try:
            notes[note_id] = LockedNote(
                hash=_typed(raw["hash"], str),
                mod=_typed(raw["mod"], int),
                added=_typed(raw["added"], int),
                version=_version(raw["version"]),
                question=_typed(raw["question"], str),
                since=_version(raw["since"]) if "since" in raw else None,
                retired=_retirement(raw["retired"]) if "retired" in raw else None,
                relearn=_version(raw["relearn"]) if "relearn" in raw else None,
                kind=_kind(raw.get("type", "qa")),
                cards={
                    int(_typed(o, str)): _typed(i, int)
                    for o, i in _typed(raw.get("cards", {}), dict).items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError):
            line = next(
                (n for n, ln in enumerate(lines, 1) if ln.lstrip().startswith(f'"{note_id}"')), 0
            )
            problems.append(
                Problem(
                    SourceSpan(path, line, 1),
                    "error",
                    f"damaged entry for note #{note_id} (needs added, hash, mod, question, "
                    "version; since, retired, relearn, type (qa, reverse, cloze) and cards (ord → id) are "
                    f"optional); {_REPAIR}",
                )
            )
    tagged_since = _released_version(data, "tagged_since", "a released version", path, problems)
    return Lock(notetype, notes, released, others, tagged_since)


def _locked_notetype(raw: Any) -> LockedNoteType:
    return LockedNoteType(
        fields=tuple(_typed(raw["fields"], list)),
        templates=tuple(_typed(raw["templates"], list)),
        fingerprint=_typed(raw["fingerprint"], str),
        mod=_typed(raw["mod"], int),
        version=_version(raw.get("version", UNRELEASED)),
    )


def _kind(value: Any) -> Kind:
    if value not in KINDS:
        raise TypeError("type")
    kind: Kind = value
    return kind


def _version(value: Any) -> str:
    if value != UNRELEASED and not _VERSION.fullmatch(_typed(value, str)):
        raise TypeError("version")
    return str(value)


def _retirement(raw: Any) -> Retirement:
    fields = _typed(raw["fields"], dict)
    replaced_by = raw.get("replaced_by")
    return Retirement(
        version=_version(raw["version"]),
        replaced_by=None if replaced_by is None else _typed(replaced_by, str),
        fields={_typed(k, str): _typed(v, str) for k, v in fields.items()},
        tags=tuple(_typed(t, str) for t in _typed(raw["tags"], list)),
    )


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value
