"""Reading a built `.apkg` back with the standard library: its notes, note types and media.

An `.apkg` is a zip holding an SQLite collection (`collection.anki21` or `collection.anki2`, the
schema genanki writes and Anki's "support older versions" export keeps), a JSON `media` index
and the media files named `0`, `1`, …. `ml-anki diff` compares two of them, and `release` reads
the previous release's package for the fields of notes that left the sources (to retire them).
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_COLLECTIONS = ("collection.anki21", "collection.anki2")
_LEGACY_SCHEMA = 11
"""The collection schema with note types as JSON in `col.models`; newer ones need Anki's code."""


class UnreadablePackage(Exception):
    """The file is not an `.apkg` this module can read; `reason` says why, for the user."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PackagedTemplate:
    name: str
    front: str
    """The question template (`qfmt`)."""
    back: str
    """The answer template (`afmt`)."""


@dataclass(frozen=True, slots=True)
class PackagedNoteType:
    id: int
    name: str
    fields: tuple[str, ...]
    """Field names in order: the schema (with the template names)."""
    templates: tuple[PackagedTemplate, ...]
    css: str


@dataclass(frozen=True, slots=True)
class PackagedNote:
    guid: str
    """How Anki matches a note on import."""
    label: str
    """The note's `Id` field when its note type has one (ml-anki's source id), else the GUID."""
    notetype_id: int
    fields: Mapping[str, str]
    """Field name → HTML, in the note type's order."""
    tags: tuple[str, ...]
    mod: int

    @property
    def retired(self) -> bool:
        """An ml-anki note that left the sources and ships only to say so."""
        return bool(self.fields.get("Retired", "").strip())


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    notes: Mapping[str, PackagedNote]
    """By GUID."""
    notetypes: Mapping[int, PackagedNoteType]
    media: Mapping[str, str]
    """Media file name → SHA-256 of its bytes."""


def read(path: Path) -> Package:
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


def read_bytes(data: bytes, path: Path) -> Package:
    """Like `read`, from the package's bytes; `path` only names it in messages."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadablePackage(
            path, "not an Anki package (.apkg files are zip archives)"
        ) from None
    with archive:
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
            media = {
                name: hashlib.sha256(archive.read(member)).hexdigest()
                for member, name in media_index.items()
                if member in names
            }
            collection_bytes = archive.read(collection)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise UnreadablePackage(path, f"damaged zip archive ({exc})") from None
    notetypes, notes = _read_collection(collection_bytes, path, collection)
    return Package(path, notes, notetypes, media)


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
    return {str(member): str(name) for member, name in index.items()}


def _read_collection(
    data: bytes, path: Path, member: str
) -> tuple[dict[int, PackagedNoteType], dict[str, PackagedNote]]:
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


def _query(
    conn: sqlite3.Connection, path: Path, member: str
) -> tuple[dict[int, PackagedNoteType], dict[str, PackagedNote]]:
    row = conn.execute("SELECT ver, models FROM col").fetchone()
    if row is None:
        raise UnreadablePackage(path, f"{member} has no collection record")
    version, models_json = row
    if version != _LEGACY_SCHEMA:
        raise UnreadablePackage(
            path,
            f"{member} uses collection schema {version}, which only Anki itself reads; export it "
            "again with 'Support older Anki versions' on",
        )
    try:
        models: dict[str, Any] = json.loads(models_json)
        notetypes = {int(mid): _notetype(model) for mid, model in models.items()}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise UnreadablePackage(path, f"{member} has damaged note types (col.models)") from None
    notes: dict[str, PackagedNote] = {}
    for guid, mid, mod, tags, flds in conn.execute(
        "SELECT guid, mid, mod, tags, flds FROM notes ORDER BY id"
    ):
        notetype = notetypes.get(int(mid))
        values = str(flds).split("\x1f")
        names = notetype.fields if notetype else tuple(f"Field {i + 1}" for i in range(len(values)))
        fields = dict(zip(names, values, strict=False))
        label = fields.get("Id", "") if notetype and "Id" in notetype.fields else ""
        notes[str(guid)] = PackagedNote(
            guid=str(guid),
            label=label or str(guid),
            notetype_id=int(mid),
            fields=fields,
            tags=tuple(str(tags).split()),
            mod=int(mod),
        )
    return notetypes, notes


def _notetype(model: dict[str, Any]) -> PackagedNoteType:
    fields = sorted(model["flds"], key=lambda f: f["ord"])
    templates = sorted(model["tmpls"], key=lambda t: t["ord"])
    return PackagedNoteType(
        id=int(model["id"]),
        name=str(model["name"]),
        fields=tuple(str(f["name"]) for f in fields),
        templates=tuple(
            PackagedTemplate(str(t["name"]), str(t["qfmt"]), str(t["afmt"])) for t in templates
        ),
        css=str(model.get("css", "")),
    )
