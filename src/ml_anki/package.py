"""A decided `Deck` → the bytes of a deterministic `.apkg`; nothing is decided here.

genanki writes the collection; we give it each note's own mod, note id and card ids (its default
stamps every note with the build time, which re-"updates" every note on every import and makes
builds irreproducible), and write the zip ourselves with fixed entry dates and modes, so the same
deck always gives the same bytes.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import genanki

from . import deck as deck_mod

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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
    """A genanki note with its own id, mod (Anki skips an update whose mod is not newer) and
    card ids (Anki keeps a card's review history under its id)."""

    def __init__(
        self, note_id: int, mod: int, card_ids: list[tuple[int, int]], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.note_id = note_id
        self.mod = mod
        self.card_ids = card_ids

    def write_to_db(
        self, cursor: sqlite3.Cursor, timestamp: float, deck_id: int, id_gen: Any
    ) -> None:
        self._check_number_model_fields_matches_num_fields()
        cursor.execute(
            "INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);",
            (self.note_id, self.guid, self.model.model_id, self.mod, -1, self._format_tags(),
             self._format_fields(), self.sort_field, 0, 0, ""),
        )  # fmt: skip
        for ord_, card_id in self.card_ids:
            cursor.execute(
                "INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);",
                (card_id, self.note_id, deck_id, ord_, self.mod, -1, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, ""),
            )  # fmt: skip


def _model(kind: deck_mod.NoteType) -> genanki.Model:
    return _NoteType(
        mod=kind.mod,
        model_id=kind.id,
        name=kind.name,
        fields=[{"name": f.name, "id": f.id} for f in kind.fields],
        templates=[
            {"name": t.name, "id": t.id, "qfmt": t.front, "afmt": t.back} for t in kind.templates
        ],
        css=kind.css,
        model_type=genanki.Model.CLOZE if kind.cloze else genanki.Model.FRONT_BACK,
        sort_field_index=kind.sort_field,
    )


def write(deck: deck_mod.Deck) -> bytes:
    """The complete `.apkg` of `deck` as bytes (nothing is written to its final place here)."""
    models = {kind.id: _model(kind) for kind in deck.notetypes}
    package_deck = genanki.Deck(deck.id, deck.name, deck.description)
    for note in deck.notes:
        package_deck.add_note(
            _Note(
                note_id=note.note_id,
                mod=note.mod,
                card_ids=[(card.ord, card.id) for card in note.cards],
                model=models[note.notetype_id],
                fields=list(note.fields),
                tags=list(note.tags),
                guid=note.guid,
            )
        )
    with tempfile.TemporaryDirectory(prefix="ml-anki-") as tmp:
        db_path = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        try:
            genanki.Package(package_deck).write_to_db(conn.cursor(), 0, iter(()))
            conn.commit()
        finally:
            conn.close()
        collection = db_path.read_bytes()
    media = [(m.name, m.source) for m in deck.media]
    return _zip(collection, media)


def _zip(collection: bytes, media: list[tuple[str, Path | None]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        _add(archive, "collection.anki2", collection)
        index = {str(i): name for i, (name, _) in enumerate(media)}
        _add(archive, "media", json.dumps(index, ensure_ascii=False, sort_keys=True).encode())
        for i, (name, path) in enumerate(media):
            assert path is not None, f"media {name} has no source file: a deck read back"
            _add(archive, str(i), path.read_bytes())
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)
