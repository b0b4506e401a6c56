"""Reading an `.apkg` with the standard library, as the same `Deck` value a build decides.

An `.apkg` is a zip holding an SQLite collection (`collection.anki21` or `collection.anki2`, the
schema genanki writes and Anki's "support older versions" export keeps), a JSON `media` index
and the media files named `0`, `1`, …. `ml-anki diff` compares two of them, and `release` reads
the previous release's package for the fields of notes that left the sources (to retire them).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from .deck import Card, Deck, Field, Media, Note, NoteType, Template
from .errors import UnreadablePackage
from .lock import natural_key
from .notetype import ID_FIELD, RETIRED_FIELD

_COLLECTIONS = ("collection.anki21", "collection.anki2")
MAX_UNPACKED = 512 * 1024 * 1024
"""Bytes a package may unpack to, all files together: packages come from anywhere, and a few
kilobytes of zip can claim gigabytes. (zipfile never inflates a file past its declared size.)"""
_LEGACY_SCHEMA = 11
"""The collection schema with note types as JSON in `col.models`; newer ones need Anki's code."""


def read(path: Path) -> Deck:
    """The package at `path`, or `UnreadablePackage` saying what is wrong with it."""
    if not path.exists():
        raise UnreadablePackage(path, "file not found")
    if path.is_dir():
        raise UnreadablePackage(path, "is a directory, not an .apkg file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadablePackage(path, f"cannot be read ({exc.strerror})") from None
    return read_bytes(data, path)


def read_bytes(data: bytes, path: Path) -> Deck:
    """Like `read`, from the package's bytes; `path` only names it in messages."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadablePackage(
            path, "not an Anki package (.apkg files are zip archives)"
        ) from None
    with archive:
        _refuse_hostile_members(archive, path)
        names = set(archive.namelist())
        collection = next((name for name in _COLLECTIONS if name in names), None)
        if collection is None:
            if "collection.anki21b" in names:
                raise UnreadablePackage(
                    path,
                    "the collection is in the compressed format of recent Anki exports, which "
                    "ml-anki cannot read; export it again with 'Support older Anki versions' on",
                )
            raise UnreadablePackage(
                path, "not an Anki package: it holds no collection.anki21 or collection.anki2"
            )
        try:
            media_index = _media_index(archive, names, path)
            media = tuple(
                sorted(
                    (
                        Media(name, hashlib.sha256(archive.read(member)).hexdigest(), None)
                        for member, name in media_index.items()
                        if member in names
                    ),
                    key=lambda m: m.name,
                )
            )
            collection_bytes = archive.read(collection)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise UnreadablePackage(path, f"damaged zip archive ({exc})") from None
    return replace(_read_collection(collection_bytes, path, collection), media=media)


def _refuse_hostile_members(archive: zipfile.ZipFile, path: Path) -> None:
    """Member names that point outside the package, and more data than a deck ever holds.

    Nothing here is ever extracted to a path, but a package that names such files was not made
    by Anki or ml-anki, and nothing in it is worth reading."""
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"[A-Za-z]:", name):
            raise UnreadablePackage(
                path,
                f"holds a file named {name!r}, outside the package (an absolute path or '..'); "
                "refusing to read it",
            )
        total += info.file_size
        if info.file_size > MAX_UNPACKED:
            raise UnreadablePackage(
                path,
                f"{name} would unpack to {info.file_size:,} bytes, more than a deck holds "
                f"({MAX_UNPACKED:,} at most); refusing to read it",
            )
        if total > MAX_UNPACKED:
            raise UnreadablePackage(
                path,
                f"its files would unpack to over {MAX_UNPACKED:,} bytes, more than a deck holds; "
                "refusing to read it",
            )


def _media_index(archive: zipfile.ZipFile, names: set[str], path: Path) -> dict[str, str]:
    """Zip member → media file name (the `media` entry is JSON: {"0": "relu-3f9c2a1b.svg"})."""
    if "media" not in names:
        return {}
    raw = archive.read("media")
    try:
        index = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadablePackage(
            path,
            "its media index is not JSON (a package from a recent Anki export?); export it "
            "again with 'Support older Anki versions' on",
        ) from None
    if not isinstance(index, dict):
        return {}
    for name in map(str, index.values()):
        if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
            raise UnreadablePackage(
                path,
                f"its media index names {name!r}, which is not a plain file name; refusing to "
                "read it",
            )
    return {str(member): str(name) for member, name in index.items()}


def _read_collection(data: bytes, path: Path, member: str) -> Deck:
    with tempfile.TemporaryDirectory(prefix="ml-anki-apkg-") as tmp:
        db_path = Path(tmp) / "collection.sqlite"
        db_path.write_bytes(data)
        try:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        except sqlite3.Error as exc:  # pragma: no cover - connect is lazy; errors come below
            raise UnreadablePackage(path, f"{member} cannot be opened ({exc})") from None
        try:
            return _query(conn, path, member)
        except sqlite3.DatabaseError as exc:
            raise UnreadablePackage(
                path, f"{member} is not a readable Anki collection ({exc})"
            ) from None
        finally:
            conn.close()


def _query(conn: sqlite3.Connection, path: Path, member: str) -> Deck:
    row = conn.execute("SELECT ver, models, decks FROM col").fetchone()
    if row is None:
        raise UnreadablePackage(path, f"{member} has no collection record")
    version, models_json, decks_json = row
    if version != _LEGACY_SCHEMA:
        raise UnreadablePackage(
            path,
            f"{member} uses collection schema {version}, which only Anki itself reads; export it "
            "again with 'Support older Anki versions' on",
        )
    try:
        models: dict[str, Any] = json.loads(models_json)
        notetypes = tuple(
            sorted((_notetype(model) for model in models.values()), key=lambda t: t.id)
        )
        decks: dict[str, Any] = json.loads(decks_json)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise UnreadablePackage(path, f"{member} has damaged note types (col.models)") from None
    cards: dict[int, list[Card]] = {}
    deck_ids: list[int] = []
    for card_id, note_id, deck_id, ord_ in conn.execute(
        "SELECT id, nid, did, ord FROM cards ORDER BY nid, ord"
    ):
        cards.setdefault(int(note_id), []).append(Card(int(ord_), int(card_id)))
        deck_ids.append(int(deck_id))
    by_id = {t.id: t for t in notetypes}
    notes: list[Note] = []
    for note_id, guid, mid, mod, tags, flds in conn.execute(
        "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id"
    ):
        values = tuple(str(flds).split("\x1f"))
        kind = by_id.get(int(mid))
        fields = dict(zip(kind.field_names if kind else (), values, strict=False))
        notes.append(
            Note(
                guid=str(guid),
                note_id=int(note_id),
                mod=int(mod),
                notetype_id=int(mid),
                fields=values,
                tags=tuple(str(tags).split()),
                # An ml-anki note that left the sources ships only to say so.
                retired=bool(fields.get(RETIRED_FIELD, "").strip()),
                cards=tuple(cards.get(int(note_id), ())),
            )
        )
    notes.sort(key=lambda n: natural_key(_label(n, by_id)))
    # The deck the cards are in (a package also holds Anki's "Default" deck).
    main = max(set(deck_ids), key=deck_ids.count) if deck_ids else None
    record: dict[str, Any] = next(
        (d for d in decks.values() if isinstance(d, dict) and d.get("id") == main),
        {"name": "", "id": 0, "desc": ""},
    )
    return Deck(
        name=str(record.get("name", "")),
        id=int(record.get("id") or 0),
        description=str(record.get("desc", "")),
        notetypes=notetypes,
        notes=tuple(notes),
        media=(),
    )


def _label(note: Note, notetypes: dict[int, NoteType]) -> str:
    kind = notetypes.get(note.notetype_id)
    if kind is not None and ID_FIELD in kind.field_names:
        return note.fields[kind.field_names.index(ID_FIELD)] or note.guid
    return note.guid


def _notetype(model: dict[str, Any]) -> NoteType:
    fields = sorted(model["flds"], key=lambda f: f["ord"])
    templates = sorted(model["tmpls"], key=lambda t: t["ord"])
    names = [str(f["name"]) for f in fields]
    sort_field = int(model.get("sortf", 0))
    return NoteType(
        id=int(model["id"]),
        name=str(model["name"]),
        cloze=int(model.get("type", 0)) == 1,
        fields=tuple(Field(str(f["name"]), int(f.get("id") or 0)) for f in fields),
        templates=tuple(
            Template(str(t["name"]), int(t.get("id") or 0), str(t["qfmt"]), str(t["afmt"]))
            for t in templates
        ),
        css=str(model.get("css", "")),
        mod=int(model.get("mod", 0)),
        sort_field=sort_field if 0 <= sort_field < len(names) else 0,
    )
