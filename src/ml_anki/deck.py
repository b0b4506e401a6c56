"""The deck as it ships: one frozen value that every command reads.

`decide()` turns the rendered notes and the updated lock into a `Deck`: its name, id and
description, its note types (ids, frozen schemas, templates, CSS, mods), its notes (GUID, note id,
mod, note type, field values in order, tags, retired or not, card ids) and its media. Everything
a learner's Anki will hold is decided here, once: `package.write(deck)` only serializes it,
`apkg.read(path)` yields the same kind of value from a package, `diff` compares two of them,
`preview` renders its cards, and `release` packages the one it decided.
"""

from __future__ import annotations

import functools
import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import notetype
from .errors import SourceSpan
from .lock import UNRELEASED, Lock, LockedNote, natural_key, version_key
from .render import card_ords

if TYPE_CHECKING:
    from .config import DeckConfig
    from .memo import Memo
    from .render import RenderedNote

_WHATS_NEW_SHOWN = 8


_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


@functools.lru_cache(maxsize=65536)
def guid(namespace: str, note_id: str) -> str:
    """A note's GUID: from the deck's namespace and the note's id, never from its content, file
    or position, so an edited or moved note is still the same note to Anki.

    The rule is genanki's `guid_for(namespace, note_id)` (the first 8 bytes of a SHA-256 in
    Anki's base 91), which every released note's GUID came from; written out here so deciding a
    deck needs no genanki (tested equal to it)."""
    number = int.from_bytes(hashlib.sha256(f"{namespace}__{note_id}".encode()).digest()[:8])
    digits = []
    while number > 0:
        number, digit = divmod(number, len(_BASE91))
        digits.append(_BASE91[digit])
    return "".join(reversed(digits))


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    id: int
    """Stable field id (Anki ≥ 23.10 updates a renamed field in place by it); 0 when unknown."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    id: int
    """Stable template id; 0 when unknown."""
    front: str
    """The question template (`qfmt`)."""
    back: str
    """The answer template (`afmt`)."""


@dataclass(frozen=True, slots=True)
class NoteType:
    id: int
    """How Anki matches a note type on import."""
    name: str
    cloze: bool
    """Anki's cloze kind (one card per cloze number) rather than one card per template."""
    fields: tuple[Field, ...]
    """In order: names and order are the schema, with the template names."""
    templates: tuple[Template, ...]
    css: str
    mod: int
    """Anki applies new templates or CSS only when this is newer than the learner's copy."""
    sort_field: int
    """Index of the field the browser sorts by."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True, slots=True)
class Card:
    ord: int
    """The template's index (a cloze number minus one, for a cloze note)."""
    id: int
    """Unique among all cards; Anki keeps a card's review history under it."""


@dataclass(frozen=True, slots=True)
class Note:
    guid: str
    """How Anki matches a note on import."""
    note_id: int
    """Anki's note id, its creation time in ms."""
    mod: int
    """Seconds; Anki updates a learner's copy only when this is newer."""
    notetype_id: int
    fields: tuple[str, ...]
    """Field values (HTML) in the note type's field order."""
    tags: tuple[str, ...]
    retired: bool
    """Left the sources after it shipped: it keeps shipping, marked retired."""
    cards: tuple[Card, ...]
    where: SourceSpan | None = field(default=None, repr=False, compare=False)
    """Where the note is in the cards (not part of what ships); None for a retired note and for
    a package read back."""


@dataclass(frozen=True, slots=True)
class Media:
    name: str
    """Its flat name in the package and in the learner's collection.media."""
    sha256: str
    """Of its bytes."""
    source: Path | None = field(default=None, compare=False)
    """The file it is read from when packaging; None for a package read back (the bytes are
    what ships, and `sha256` says what they are)."""


@dataclass(frozen=True, slots=True)
class Deck:
    name: str
    """Anki matches decks by name."""
    id: int
    description: str
    """HTML; Anki replaces a learner's deck description with it when it is not empty."""
    notetypes: tuple[NoteType, ...]
    notes: tuple[Note, ...]
    """In the study guide's order (by id)."""
    media: tuple[Media, ...]
    """Sorted by name."""

    def notetype(self, notetype_id: int) -> NoteType | None:
        return next((t for t in self.notetypes if t.id == notetype_id), None)

    def fields(self, note: Note) -> dict[str, str]:
        """Field name → value (`Field 1`, … when the note's type is not in the deck)."""
        return note_fields(self.notetype(note.notetype_id), note)

    def label(self, note: Note) -> str:
        """The note's source id (its `Id` field) when its note type has one, else its GUID."""
        return note_label(self.fields(note), note)

    def by_guid(self) -> dict[str, Note]:
        return {note.guid: note for note in self.notes}


def note_fields(kind: NoteType | None, note: Note) -> dict[str, str]:
    """Field name → value of a note of type `kind` (`Field 1`, … without one)."""
    names = kind.field_names if kind else ()
    names += tuple(f"Field {i + 1}" for i in range(len(names), len(note.fields)))
    return dict(zip(names, note.fields, strict=False))


def note_label(fields: Mapping[str, str], note: Note) -> str:
    """The note's source id (its `Id` field) when its note type has one, else its GUID."""
    return fields.get(notetype.ID_FIELD) or note.guid


def retired_ids(rendered: Sequence[RenderedNote], lock: Lock) -> list[str]:
    present = {n.id for n in rendered}
    retired = (i for i, e in lock.notes.items() if e.retired is not None and i not in present)
    return sorted(retired, key=natural_key)


def release_tags(prefix: str, lock: Lock, entry: LockedNote) -> tuple[str, ...]:
    """`<prefix>::changed::v<version>` of the release that last changed the note, and
    `<prefix>::relearn::v<version>` when that release corrected it.

    Decided here, not in the note's content: the lock's version already says when the note last
    changed, so the tag never moves a note's hash or mod, and an untouched note is not re-imported.
    A change not released yet carries no changed tag (no release made it; the version it will
    get is unknown until `release`), nor do notes last changed before `lock.tagged_since`.
    """
    if entry.version == UNRELEASED or lock.tagged_since is None:
        return ()
    if version_key(entry.version) < version_key(lock.tagged_since):
        return ()
    tags: tuple[str, ...] = (f"{prefix}::changed::v{entry.version}",)
    if entry.relearn == entry.version:
        tags += (f"{prefix}::relearn::v{entry.version}",)
    return tags


def _without_release_tags(prefix: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    marks = (f"{prefix}::changed::", f"{prefix}::relearn::")
    return tuple(t for t in tags if not t.startswith(marks))


def shown_version(config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock) -> str:
    """`[project] version`, or `<version>+dev` for a build between releases (not a release)."""
    return lock.shown_version(config.version, {n.id for n in rendered})


def note_type(config: DeckConfig, kind: notetype.Kind, lock: Lock) -> NoteType:
    """Note type `kind` as this deck ships it: its configured id and name, its frozen schema,
    today's templates and CSS, and the mod the lock gave that look."""
    spec = notetype.SPECS[kind]
    look = notetype.look(kind)
    locked = lock.notetype_of(kind)
    notetype_id = config.notetype_ids[kind]
    assert locked is not None, "lock.updated_with() records every note type in use"
    assert notetype_id is not None, "build.check() refuses a note type without an id"
    return NoteType(
        id=notetype_id,
        name=config.notetype_names[kind],
        cloze=spec.cloze,
        fields=tuple(Field(f.name, f.id) for f in spec.fields),
        templates=tuple(
            Template(t.name, t.id, front, back)
            for t, (front, back) in zip(spec.templates, look.templates, strict=True)
        ),
        css=look.css,
        mod=locked.mod,
        sort_field=spec.field_names.index(spec.field_name(spec.sort_field)),
    )


def decide(
    config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock, memo: Memo | None = None
) -> Deck:
    """The deck these notes and this lock ship (the lock is the one after `updated_with`).

    `memo` gives back the notes an earlier build decided from the same inputs."""
    ids = lock.note_ids()
    shown = shown_version(config, rendered, lock)
    retired = retired_ids(rendered, lock)
    used = {note.kind for note in rendered} | {lock.notes[i].kind for i in retired}
    kinds = {kind: note_type(config, kind, lock) for kind in notetype.KINDS if kind in used}
    notes: list[Note] = []

    def cards(note_id: str, ords: Sequence[int]) -> tuple[Card, ...]:
        # The first card has the note's id, as every Q&A card always had; the others the ids
        # the lock drew for them once (see lock._with_card_ids).
        extra = lock.notes[note_id].cards
        return tuple(Card(o, ids[note_id] if o == 0 else extra[o]) for o in ords)

    for note in rendered:
        locked = lock.notes[note.id]
        # Everything the note below is made of.
        inputs = (note, locked, ids[note.id], shown, kinds[note.kind].id, lock.tagged_since,
                  config.namespace, config.tag_prefix)  # fmt: skip
        known = memo.notes.get(note.id, inputs) if memo is not None else None
        if known is not None:
            notes.append(known)
            continue
        spec = notetype.SPECS[note.kind]
        values: dict[notetype.Role, str] = {
            "id": note.id,
            "question": note.question_html,
            "context": note.context_html,
            "answer": note.answer_html,
            "references": note.references_html,
            "version": shown if locked.version == UNRELEASED else locked.version,
            "retired": "",
            "source": "",
            "extra": "",
        }
        notes.append(
            Note(
                guid=guid(config.namespace, note.id),
                note_id=ids[note.id],
                mod=locked.mod,
                notetype_id=kinds[note.kind].id,
                fields=tuple(values[f.role] for f in spec.fields),
                tags=note.tags + release_tags(config.tag_prefix, lock, locked),
                retired=False,
                cards=cards(note.id, note.card_ords),
                where=note.where,
            )
        )
        if memo is not None:
            memo.notes.put(note.id, inputs, notes[-1])
    # Anki never deletes a learner's note: a note removed from the sources keeps shipping with
    # the fields it was released with (else an update would blank them), tagged and marked retired.
    for note_id in retired:
        entry = lock.notes[note_id]
        retirement = entry.retired
        assert retirement is not None
        spec = notetype.SPECS[entry.kind]
        notes.append(
            Note(
                guid=guid(config.namespace, note_id),
                note_id=ids[note_id],
                mod=entry.mod,
                notetype_id=kinds[entry.kind].id,
                fields=tuple(retirement.fields.get(name, "") for name in spec.field_names),
                tags=_without_release_tags(config.tag_prefix, retirement.tags)
                + release_tags(config.tag_prefix, lock, entry),
                retired=True,
                cards=cards(
                    note_id,
                    card_ords(entry.kind, retirement.fields.get(spec.field_name("answer"), "")),
                ),
            )
        )
    notes.sort(key=lambda n: natural_key(n.fields[0]))
    files = {m.name: m.path for n in rendered for m in n.media}
    media = tuple(
        Media(name, hashlib.sha256(path.read_bytes()).hexdigest(), path)
        for name, path in sorted(files.items())
    )
    return Deck(
        name=config.deck_name,
        id=config.deck_id,
        description=description(config, rendered, lock),
        notetypes=tuple(sorted(kinds.values(), key=lambda t: t.id)),
        notes=tuple(notes),
        media=media,
    )


def description(config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock) -> str:
    """Deck overview text: version, size and what is new in this version.

    Anki replaces a learner's deck description on import whenever ours is not empty, so this is
    where learners read what the release they just imported changed.
    """
    text = config.strings
    shown = shown_version(config, rendered, lock)
    retired = retired_ids(rendered, lock)
    size = text.notes(len(rendered))
    if retired:
        size += " · " + text.retired_count.format(n=len(retired))
    lines = [f"<b>{html.escape(config.deck_name)}</b> v{shown} · {html.escape(size)}"]
    added: list[tuple[str, str]] = []
    changed: list[tuple[str, str]] = []
    for note in sorted(rendered, key=lambda n: natural_key(n.id)):
        entry = lock.notes[note.id]
        if (shown if entry.version == UNRELEASED else entry.version) != shown:
            continue
        first = shown if entry.first_version == UNRELEASED else entry.first_version
        (added if first == shown else changed).append((note.id, note.question_html))
    removed = [
        (i, r.fields.get(_question_field(r.fields), ""))
        for i in retired
        if (r := lock.notes[i].retired) is not None and r.version == shown
    ]
    if len(added) == len(rendered) and not retired:
        lines.append(text.first_release.format(version=shown))
    elif added or changed or removed:
        labelled = ((text.added, added), (text.changed, changed), (text.removed, removed))
        news = [
            f"<li>{label} #{note_id} {question}</li>"
            for label, notes in labelled
            for note_id, question in notes
        ]
        if len(news) > _WHATS_NEW_SHOWN:
            more = text.more.format(n=len(news) - _WHATS_NEW_SHOWN)
            news[_WHATS_NEW_SHOWN:] = [f"<li>{html.escape(more)}</li>"]
        whats_new = html.escape(text.whats_new.format(version=shown))
        lines.append(f"{whats_new}<ul>{''.join(news)}</ul>")
    # Never cut: a corrected answer a learner does not hear about stays wrong in their memory.
    relearn = [(i, q) for i, q in changed if lock.notes[i].relearn == shown]
    if relearn:
        heading = html.escape(
            text.relearn.format(version=shown, tag=f"{config.tag_prefix}::relearn::v{shown}")
        )
        items = "".join(f"<li>#{note_id} {question}</li>" for note_id, question in relearn)
        lines.append(f"{heading}<ul>{items}</ul>")
    return "<br>".join(lines)


def _question_field(fields: Mapping[str, str]) -> str:
    """The question's field name among a retired note's fields, whichever its note type."""
    for spec in notetype.SPECS.values():
        name = spec.field_name("question")
        if name in fields:
            return name
    return ""
