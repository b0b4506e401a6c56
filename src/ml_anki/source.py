"""Card files → `SourceNote`s, each knowing the file and line it came from.

The layout is the study guide's own: anything before the first note (title, table of contents),
then per note a `## #<id>` anchor, a `### <question>` line, the answer in Markdown, and an
optional `##### References` list. Lines inside fenced code are never read as structure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, SourceSpan

NOTE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_ANCHOR = re.compile(r"^##[ \t]+#(.*?)[ \t]*$")
_QUESTION = re.compile(r"^###[ \t]+(.+?)[ \t]*#*[ \t]*$")
_REFERENCES = re.compile(r"^#####[ \t]+References[ \t]*$", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_TOC_LINK = re.compile(r"\[([^\]]+)\]\(#([^)\s]+)\)")


@dataclass(frozen=True, slots=True)
class TocEntry:
    """A `[question](#id)` link in the part of a file before its first note."""

    text: str
    target: str
    where: SourceSpan


@dataclass(frozen=True, slots=True)
class SourceNote:
    id: str
    """Anchor id from `## #12-1`; the note's identity for ever, never derived from content."""
    question: str
    """The `###` line's text (Markdown, inline)."""
    body_md: str
    """The answer's Markdown, without the question and references."""
    refs_md: str
    """The Markdown below `##### References`; empty when the note has none."""
    where: SourceSpan
    """The `## #id` line."""
    question_line: int
    body_line: int
    """Line of `body_md`'s first line, so problems inside the answer point at the right line."""
    refs_line: int

    @property
    def path(self) -> Path:
        return self.where.path


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    notes: tuple[SourceNote, ...]
    toc: tuple[TocEntry, ...]


@dataclass(frozen=True, slots=True)
class Sources:
    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...]

    @property
    def notes(self) -> list[SourceNote]:
        return [note for file in self.files for note in file.notes]


CARD_SUFFIXES = (".md", ".markdown")
"""Markdown files by the two extensions editors and GitHub recognise."""


def card_files(cards_dir: Path) -> list[Path]:
    """Every Markdown file under `cards_dir`, in a stable order."""
    return sorted(
        p for p in cards_dir.rglob("*") if p.suffix.lower() in CARD_SUFFIXES and p.is_file()
    )


def decode(raw: bytes, path: Path) -> tuple[str, list[Problem]]:
    """UTF-8 (a BOM and CRLF line ends are fine) → NFC text with `\\n` line ends."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return "", [
            Problem(
                SourceSpan(path, line, col),
                "error",
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8",
            )
        ]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Korean typed on macOS often arrives decomposed (NFD); hash and compare only NFC.
    return unicodedata.normalize("NFC", text), []


def parse(text: str, path: Path) -> tuple[SourceFile, list[Problem]]:
    lines = text.split("\n")
    problems: list[Problem] = []
    structural = list(_structural_lines(lines))
    anchors = [(i, m) for i in structural if (m := _ANCHOR.match(lines[i]))]

    preamble_end = anchors[0][0] if anchors else len(lines)
    toc = tuple(
        TocEntry(m.group(1).strip(), m.group(2), SourceSpan(path, i + 1, m.start() + 1))
        for i in structural
        if i < preamble_end
        for m in _TOC_LINK.finditer(lines[i])
    )

    notes: list[SourceNote] = []
    structural_set = set(structural)
    for n, (start, match) in enumerate(anchors):
        end = anchors[n + 1][0] if n + 1 < len(anchors) else len(lines)
        note_id = match.group(1)
        where = SourceSpan(path, start + 1, 1)
        if not NOTE_ID.fullmatch(note_id):
            problems.append(
                Problem(
                    where,
                    "error",
                    f"invalid note id {note_id!r}: use letters, digits, '-' and '_', starting "
                    "with a letter or digit (e.g. '## #12-1')",
                )
            )
            continue
        note, note_problems = _parse_note(note_id, lines, start, end, structural_set, path)
        problems.extend(note_problems)
        if note is not None:
            notes.append(note)
    return SourceFile(path, tuple(notes), toc), problems


def _structural_lines(lines: list[str]) -> Iterable[int]:
    """Indices of lines outside fenced code blocks (fence lines themselves excluded)."""
    fence: str | None = None
    for i, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence is None:
            if opening:
                fence = opening.group(1)
            else:
                yield i
        elif set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
            fence = None


def _parse_note(
    note_id: str, lines: list[str], start: int, end: int, structural: set[int], path: Path
) -> tuple[SourceNote | None, list[Problem]]:
    where = SourceSpan(path, start + 1, 1)
    q = start + 1
    while q < end and not lines[q].strip():
        q += 1
    question = _QUESTION.match(lines[q]) if q < end and q in structural else None
    if question is None:
        return None, [
            Problem(
                where,
                "error",
                f"note #{note_id} has no question: put a '### <question>' line right after '## #{note_id}'",
            )
        ]
    refs_at = next(
        (i for i in range(q + 1, end) if i in structural and _REFERENCES.match(lines[i])), None
    )
    body_end = refs_at if refs_at is not None else end
    body_md, body_line = _block(lines, q + 1, body_end)
    refs_md, refs_line = _block(lines, refs_at + 1, end) if refs_at is not None else ("", 0)
    problems: list[Problem] = []
    if not body_md.strip():
        problems.append(
            Problem(
                SourceSpan(path, q + 1, 1),
                "error",
                f"note #{note_id} has an empty answer: write the answer below its question",
            )
        )
    note = SourceNote(
        id=note_id,
        question=question.group(1).strip(),
        body_md=body_md,
        refs_md=refs_md,
        where=where,
        question_line=q + 1,
        body_line=body_line,
        refs_line=refs_line,
    )
    return note, problems


def _block(lines: list[str], start: int, end: int) -> tuple[str, int]:
    """Lines `start:end` without blank (or whitespace-only) lines around them, and the 1-based
    line number of the first one kept, so positions inside the text map back to the file."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]), start + 1


def load(cards_dir: Path) -> Sources:
    """Read and parse every card file; problems are collected, never raised."""
    problems: list[Problem] = []
    files: list[SourceFile] = []
    if not cards_dir.is_dir():
        problems.append(
            Problem(
                SourceSpan(cards_dir),
                "error",
                "cards directory not found; pass --cards DIR or create it with your Markdown cards",
            )
        )
        return Sources((), tuple(problems))
    paths = card_files(cards_dir)
    if not paths:
        problems.append(
            Problem(
                SourceSpan(cards_dir),
                "error",
                "no .md or .markdown files here; add card files such as 01-basics.md",
            )
        )
    for path in paths:
        text, decode_problems = decode(path.read_bytes(), path)
        problems.extend(decode_problems)
        if decode_problems:
            continue
        source_file, parse_problems = parse(text, path)
        files.append(source_file)
        problems.extend(parse_problems)
    problems.extend(_duplicate_ids(files))
    return Sources(tuple(files), tuple(problems))


def _duplicate_ids(files: list[SourceFile]) -> list[Problem]:
    first: dict[str, SourceNote] = {}
    problems = []
    for note in (n for f in files for n in f.notes):
        if note.id in first:
            problems.append(
                Problem(
                    note.where,
                    "error",
                    f"duplicate note id #{note.id}, first defined at {first[note.id].where}; "
                    "give one of them a new id (ids are forever: keep the older one)",
                )
            )
        else:
            first[note.id] = note
    return problems


def parent_id(note_id: str, known: set[str] | frozenset[str]) -> str | None:
    """`12-1` → `12` when note 12 exists: a sub-question shows its parent as context."""
    head, sep, _ = note_id.rpartition("-")
    return head if sep and head in known else None
