"""A render cache: notes whose Markdown did not change are not rendered again.

Rendering is the slow part of a build (Markdown, Pygments, math); everything else is cheap. The
cache maps a key over everything that can change a note's HTML — its Markdown, its parent's
question, its file, and `epoch()`: ml-anki's own code and the libraries' versions — to the
rendered fields (and a clean lint verdict). A hit
is used only after re-checking the figures it points to (still inside media/, same content), so
a cached build writes exactly the bytes a fresh one would. It lives in the platform's user cache
directory (`ML_ANKI_CACHE_DIR` overrides it); losing it only costs time, so any problem with it
(corrupt, read-only, locked) turns it off for the run instead of failing the build.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .errors import Problem, SourceSpan
from .media import MediaFile, media_name
from .render import RenderedNote
from .source import ParsedFile, SourceFile, SourceNote, TocEntry

_SCHEMA = """
create table if not exists renders (key text primary key, value text not null, used real not null);
create table if not exists packages (inputs text primary key, sha256 text not null, used real not null);
create table if not exists parses (key text primary key, value text not null, used real not null);
"""
_STALE_AFTER = 30 * 86_400
"""Entries no build has used for this long are dropped (seconds)."""
_TOUCH_AFTER = 86_400
"""A hit refreshes its entry's last use only when older than this, to keep rebuilds read-only."""


@dataclass(frozen=True, slots=True)
class CachedRender:
    """A `RenderedNote` without its location (lines move when other notes are edited)."""

    question_html: str
    context_html: str
    answer_html: str
    references_html: str
    tags: tuple[str, ...]
    media: tuple[MediaFile, ...]
    content_hash: str
    """`RenderedNote.content_hash` of these fields (the key holds the note's id and kind)."""

    def to_note(self, note: SourceNote) -> RenderedNote:
        return RenderedNote(
            id=note.id,
            question_html=self.question_html,
            context_html=self.context_html,
            answer_html=self.answer_html,
            references_html=self.references_html,
            tags=self.tags,
            media=self.media,
            question_text=note.question,
            where=note.where,
            kind=note.kind,
            computed_before=self.content_hash,
        )

    @classmethod
    def of(cls, rendered: RenderedNote) -> CachedRender:
        return cls(
            rendered.question_html,
            rendered.context_html,
            rendered.answer_html,
            rendered.references_html,
            rendered.tags,
            rendered.media,
            rendered.content_hash,
        )


_SHAPING_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "nh3", "genanki")
"""The libraries whose version can change a rendered field or a package's bytes."""


@cache
def epoch() -> str:
    """One key for everything besides the sources that shapes a render, its lint verdict or a
    package: every file of this package (code, templates, the TeX vocabulary) and the versions
    of Python and of the libraries that shape output. Any change to ml-anki's code thus
    invalidates both caches at once; there is no version number to remember to bump."""
    return code_epoch(Path(__file__).parent)


def code_epoch(package_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if "__pycache__" in relative.parts or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\x00")
        digest.update(path.read_bytes() + b"\x00")
    for name in _SHAPING_LIBRARIES:
        digest.update(f"{name}=={version(name)}\x00".encode())
    digest.update(platform.python_version().encode())
    return digest.hexdigest()


def key(note: SourceNote, parent: SourceNote | None, media_dir: Path, tag_prefix: str) -> str:
    parts = [
        epoch(),
        str(note.path),
        str(media_dir),
        tag_prefix,
        note.id,
        note.question,
        note.body_md,
        note.refs_md,
        parent.question if parent else "",
        str(parent.path) if parent else "",
        note.kind,
        " ".join(note.tags),
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


_remembered: dict[str, CachedRender] = {}
"""Renders this process has read or written: a long-running process (`ml-anki watch`) goes to
SQLite only for notes it has not seen, and keeps the whole cache in memory after one build."""
_REMEMBERED_MAX = 100_000


def _remember(entry_key: str, entry: CachedRender) -> None:
    if len(_remembered) >= _REMEMBERED_MAX:
        _remembered.clear()  # far beyond any deck; start over rather than grow without bound
    _remembered[entry_key] = entry


class RenderCache:
    def __init__(self, directory: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        self._media_names: dict[Path, str | None] = {}
        self._touch: list[str] = []
        self._new_parses: list[tuple[str, str]] = []
        if directory is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(directory / "renders.sqlite3", timeout=5)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error):
            self._db = None

    def get(self, keys: Iterable[str], media_dir: Path) -> dict[str, CachedRender]:
        if self._db is None:
            return {}
        found: dict[str, CachedRender] = {}
        media_root = media_dir.resolve()
        wanted = []
        for wanted_key in keys:
            entry = _remembered.get(wanted_key)
            if entry is not None and self._media_still_valid(entry.media, media_root):
                found[wanted_key] = entry
            else:
                wanted.append(wanted_key)
        touch_before = time.time() - _TOUCH_AFTER
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"select key, value, used from renders where key in ({marks})"
                for row_key, value, used in self._db.execute(query, chunk):
                    entry = _decode(value)
                    if entry is not None and self._media_still_valid(entry.media, media_root):
                        found[row_key] = entry
                        _remember(row_key, entry)
                        if used < touch_before:
                            self._touch.append(row_key)
        except sqlite3.Error:
            self._db = None
            return {}
        return found

    def put(self, entries: Mapping[str, CachedRender]) -> None:
        """Store new renders, and mark the hits of `get` as used (at most daily: it is a write)."""
        if self._db is None:
            return
        for entry_key, entry in entries.items():
            _remember(entry_key, entry)
        now = time.time()
        try:
            with self._db:
                self._db.executemany(
                    "insert or replace into renders values (?, ?, ?)",
                    [(k, _encode(v), now) for k, v in entries.items()],
                )
                self._db.executemany(
                    "update renders set used = ? where key = ?", [(now, k) for k in self._touch]
                )
                self._db.execute("delete from renders where used < ?", (now - _STALE_AFTER,))
                self._db.execute("delete from packages where used < ?", (now - _STALE_AFTER,))
                self._db.execute("delete from parses where used < ?", (now - _STALE_AFTER,))
        except sqlite3.Error:
            self._db = None
        self._touch = []

    def package_sha256(self, inputs: str) -> str | None:
        """The sha256 of the package last written from exactly these inputs, if any."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "select sha256 from packages where inputs = ?", (inputs,)
            ).fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    def remember_package(self, inputs: str, sha256: str) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute(
                    "insert or replace into packages values (?, ?, ?)",
                    (inputs, sha256, time.time()),
                )
        except sqlite3.Error:
            self._db = None

    def get_parsed(self, path: Path, text: str) -> ParsedFile | None:
        """The parse of `text` as the card file `path`, if an earlier build stored it."""
        if self._db is None:
            return None
        key = _parse_key(path, text)
        try:
            row = self._db.execute("select value, used from parses where key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        if row[1] < time.time() - _TOUCH_AFTER:
            self._new_parses.append((key, row[0]))  # stored again: marks it used
        return _decode_parsed(row[0])

    def put_parsed(self, path: Path, text: str, parsed: ParsedFile) -> None:
        """Store a parse; written with the others when the cache is closed (one transaction)."""
        if self._db is not None:
            self._new_parses.append((_parse_key(path, text), _encode_parsed(parsed)))

    def close(self) -> None:
        if self._db is not None:
            if self._new_parses:
                now = time.time()
                try:
                    with self._db:
                        self._db.executemany(
                            "insert or replace into parses values (?, ?, ?)",
                            [(key, value, now) for key, value in self._new_parses],
                        )
                except sqlite3.Error:
                    pass  # a cache that cannot be written is only slower
            self._db.close()
            self._db = None

    def _media_still_valid(self, files: tuple[MediaFile, ...], root: Path) -> bool:
        for file in files:
            if file.path not in self._media_names:
                try:
                    inside = file.path.resolve().is_relative_to(root) and file.path.is_file()
                    self._media_names[file.path] = (
                        media_name(file.path, file.path.read_bytes()) if inside else None
                    )
                except OSError:
                    self._media_names[file.path] = None
            if self._media_names[file.path] != file.name:
                return False
        return True


def _encode(entry: CachedRender) -> str:
    return json.dumps(
        [entry.question_html, entry.context_html, entry.answer_html, entry.references_html,
         list(entry.tags), [[str(m.path), m.name] for m in entry.media], entry.content_hash],
        ensure_ascii=False,
    )  # fmt: skip


def _decode(value: str) -> CachedRender | None:
    try:
        question, context, answer, references, tags, media, content_hash = json.loads(value)
        if not isinstance(content_hash, str) or not content_hash:
            return None
        return CachedRender(
            question,
            context,
            answer,
            references,
            tuple(tags),
            tuple(MediaFile(Path(p), n) for p, n in media),
            content_hash,
        )
    except (ValueError, TypeError):
        return None


def _parse_key(path: Path, text: str) -> str:
    # A parse is a function of the file's text and path (which every location names), and of
    # the code: the epoch.
    return hashlib.sha256(f"{epoch()}\x00{path}\x00{text}".encode()).hexdigest()


def _span(where: SourceSpan | None) -> list[object] | None:
    return None if where is None else [str(where.path), where.line, where.col]


def _unspan(value: list[Any] | None) -> SourceSpan | None:
    return None if value is None else SourceSpan(Path(value[0]), value[1], value[2])


def _encode_parsed(parsed: ParsedFile) -> str:
    source_file, problems = parsed
    return json.dumps(
        {
            "path": str(source_file.path),
            "notes": [
                [n.id, n.question, n.body_md, n.refs_md, _span(n.where), n.question_line,
                 n.body_line, n.refs_line, n.kind, list(n.tags), n.parent, _span(n.parent_where)]
                for n in source_file.notes
            ],
            "toc": [[e.text, e.target, _span(e.where)] for e in source_file.toc],
            "problems": [[_span(p.where), p.severity, p.message, p.rule] for p in problems],
        },
        ensure_ascii=False,
    )  # fmt: skip


def _decode_parsed(value: str) -> ParsedFile | None:
    try:
        data = json.loads(value)
        notes = tuple(
            SourceNote(note_id, question, body, refs, where, question_line, body_line,
                       refs_line, kind, tuple(tags), parent, _unspan(parent_where))
            for note_id, question, body, refs, span, question_line, body_line, refs_line, kind,
            tags, parent, parent_where in data["notes"]
            if (where := _unspan(span)) is not None
        )  # fmt: skip
        toc = tuple(
            TocEntry(text, target, where)
            for text, target, span in data["toc"]
            if (where := _unspan(span)) is not None
        )
        problems = tuple(
            Problem(_unspan(span), severity, message, rule)
            for span, severity, message, rule in data["problems"]
        )
        source_file = SourceFile(Path(data["path"]), notes, toc)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if len(notes) != len(data["notes"]) or len(toc) != len(data["toc"]):
        return None
    return source_file, problems
