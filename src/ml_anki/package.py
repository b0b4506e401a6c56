"""Rendered notes + lock → the bytes of a deterministic `.apkg`.

genanki writes the collection; we give it per-note mods and ids from the lock (its default stamps
every note with the build time, which re-"updates" every note on every import and makes builds
irreproducible), and write the zip ourselves with fixed entry dates and modes, so the same
sources and lock always give the same bytes.
"""

from __future__ import annotations

import html
import io
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import genanki

from . import notetype
from .config import DeckConfig
from .lock import UNRELEASED, Lock, LockedNoteType, natural_key
from .render import RenderedNote

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_WHATS_NEW_SHOWN = 8


class _NoteType(genanki.Model):  # type: ignore[misc]
    """A genanki model whose mod comes from the lock, not from the clock."""

    def __init__(self, mod: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mod = mod

    def to_json(self, timestamp: float, deck_id: int) -> dict[str, Any]:
        data: dict[str, Any] = super().to_json(timestamp, deck_id)
        # Anki applies new templates/CSS only when the note type's mod is newer than the learner's.
        data["mod"] = self.mod
        return data


class _Note(genanki.Note):  # type: ignore[misc]
    """A genanki note with its own id and mod (Anki skips an update whose mod is not newer)."""

    def __init__(self, note_id: int, mod: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.note_id = note_id
        self.mod = mod

    def write_to_db(
        self, cursor: sqlite3.Cursor, timestamp: float, deck_id: int, id_gen: Any
    ) -> None:
        self._check_number_model_fields_matches_num_fields()
        cursor.execute(
            "INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);",
            (self.note_id, self.guid, self.model.model_id, self.mod, -1, self._format_tags(),
             self._format_fields(), self.sort_field, 0, 0, ""),
        )  # fmt: skip
        for card in self.cards:
            # One card per note: its id can be the note's without colliding (separate tables).
            card_id = self.note_id + card.ord
            cursor.execute(
                "INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);",
                (card_id, self.note_id, deck_id, card.ord, self.mod, -1, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, ""),
            )  # fmt: skip


def note_type(config: DeckConfig, locked: LockedNoteType) -> genanki.Model:
    look = notetype.look()
    names = [name for name, _ in notetype.FIELDS]
    return _NoteType(
        mod=locked.mod,
        model_id=config.notetype_id,
        name=config.notetype_name,
        fields=[{"name": name, "id": field_id} for name, field_id in notetype.FIELDS],
        templates=[
            {
                "name": notetype.TEMPLATE_NAME,
                "id": notetype.TEMPLATE_ID,
                "qfmt": look.front_html,
                "afmt": look.back_html,
            }
        ],
        css=look.css,
        sort_field_index=names.index(notetype.SORT_FIELD),
    )


def note_ids(lock: Lock) -> dict[str, int]:
    """Anki note ids are creation times in ms: derive them from when each note first appeared.

    Notes added in the same second get consecutive milliseconds, in id order.
    """
    ids: dict[str, int] = {}
    previous = -1
    for note_id in sorted(lock.notes, key=lambda i: (lock.notes[i].added, natural_key(i))):
        previous = max(lock.notes[note_id].added * 1000, previous + 1)
        ids[note_id] = previous
    return ids


def shown_version(config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock) -> str:
    """`[project] version`, or `<version>+dev` for a build between releases (not a release)."""
    return lock.shown_version(config.version, {n.id for n in rendered})


def _retired_ids(rendered: Sequence[RenderedNote], lock: Lock) -> list[str]:
    present = {n.id for n in rendered}
    retired = (i for i, e in lock.notes.items() if e.retired is not None and i not in present)
    return sorted(retired, key=natural_key)


def description(config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock) -> str:
    """Deck overview text: version, size and what is new in this version.

    Anki replaces a learner's deck description on import whenever ours is not empty, so this is
    where learners read what the release they just imported changed.
    """
    text = config.strings
    shown = shown_version(config, rendered, lock)
    retired = _retired_ids(rendered, lock)
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
        (i, r.fields.get("Question", ""))
        for i in retired
        if (r := lock.notes[i].retired) is not None and r.version == shown
    ]
    if len(added) == len(rendered) and not retired:
        lines.append(text.first_release.format(version=shown))
    elif added or changed or removed:
        news = [
            f"<li>{label} #{note_id} {question}</li>"
            for label, notes in ((text.added, added), (text.changed, changed), (text.removed, removed))
            for note_id, question in notes
        ]
        if len(news) > _WHATS_NEW_SHOWN:
            more = text.more.format(n=len(news) - _WHATS_NEW_SHOWN)
            news[_WHATS_NEW_SHOWN:] = [f"<li>{html.escape(more)}</li>"]
        whats_new = html.escape(text.whats_new.format(version=shown))
        lines.append(f"{whats_new}<ul>{''.join(news)}</ul>")
    return "<br>".join(lines)


def write(config: DeckConfig, rendered: Sequence[RenderedNote], lock: Lock) -> bytes:
    """The complete `.apkg` as bytes (nothing is written to its final place here)."""
    assert lock.notetype is not None, "lock.updated_with() sets the note type"
    model = note_type(config, lock.notetype)
    deck = genanki.Deck(config.deck_id, config.deck_name, description(config, rendered, lock))
    ids = note_ids(lock)
    shown = shown_version(config, rendered, lock)
    notes: list[tuple[str, dict[str, str], list[str]]] = []
    for note in rendered:
        locked = lock.notes[note.id]
        fields = {
            "Id": note.id,
            "Question": note.question_html,
            "Context": note.context_html,
            "Answer": note.answer_html,
            "References": note.references_html,
            "Version": shown if locked.version == UNRELEASED else locked.version,
            "Retired": "",
            "Source": "",
            "Extra": "",
        }
        notes.append((note.id, fields, list(note.tags)))
    # Anki never deletes a learner's note: a note removed from the sources keeps shipping with
    # the fields it was released with (else an update would blank them), tagged and marked retired.
    for note_id in _retired_ids(rendered, lock):
        retirement = lock.notes[note_id].retired
        assert retirement is not None
        notes.append((note_id, dict(retirement.fields), list(retirement.tags)))
    for note_id, fields, tags in sorted(notes, key=lambda n: natural_key(n[0])):
        deck.add_note(
            _Note(
                note_id=ids[note_id],
                mod=lock.notes[note_id].mod,
                model=model,
                fields=[fields.get(name, "") for name, _ in notetype.FIELDS],
                tags=tags,
                guid=genanki.guid_for(config.namespace, note_id),
            )
        )
    media = sorted({m.name: m.path for n in rendered for m in n.media}.items())
    with tempfile.TemporaryDirectory(prefix="ml-anki-") as tmp:
        db_path = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        try:
            genanki.Package(deck).write_to_db(conn.cursor(), 0, iter(()))
            conn.commit()
        finally:
            conn.close()
        collection = db_path.read_bytes()
    return _zip(collection, media)


def _zip(collection: bytes, media: list[tuple[str, Path]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        _add(archive, "collection.anki2", collection)
        index = {str(i): name for i, (name, _) in enumerate(media)}
        _add(archive, "media", json.dumps(index, ensure_ascii=False, sort_keys=True).encode())
        for i, (_, path) in enumerate(media):
            _add(archive, str(i), path.read_bytes())
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)
