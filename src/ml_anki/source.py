"""Card files → `SourceNote`s, each knowing the file and line it came from.

The layout is the study guide's own: anything before the first note (title, table of contents),
then per note a `## #<id>` anchor, a `### <question>` line, the answer in Markdown, and an
optional `##### References` list. Lines inside fenced code are never read as structure.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from . import attributes
from .errors import Problem, SourceSpan, UnreadableFile, describe
from .files import read_input
from .notetype import Kind

NOTE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_ANCHOR = re.compile(r"^## #(.*?)[ \t]*$")
_ATX = re.compile(r"^(#{1,6})(.*)$")
"""A heading as Python-Markdown reads it: no space is needed after the `#`s (`#tag` is an <h1>)."""
_SETEXT_UNDERLINE = re.compile(r"^[=-]+[ ]*$")
"""Under a paragraph's first line, Python-Markdown makes that line an <h1> (`=`) or <h2> (`-`)."""
_QUESTION = re.compile(r"^###[ \t]+(.+?)[ \t]*#*[ \t]*$")
_REFERENCES = re.compile(r"^#####[ \t]+References[ \t]*$", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_BLOCK = re.compile(r"(.*?)[ \t]*\{(.*)\}")
"""`ser {type=reverse}`: a note id, then its attribute block."""
_TOC_LINK = re.compile(r"\[([^\]]+)\]\(#([^)\s]+)\)")

MAX_CARD_FILE = 2_000_000
"""Bytes above which a file under cards/ is refused unread: a pasted log or a generated dump,
not cards; reading it would take minutes and bury every other message."""


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
    kind: Kind = "qa"
    """The note type: from a cloze deletion in the text, `{type=…}` or the file's front matter."""
    tags: tuple[str, ...] = ()
    """The author's tags (front matter, then `{tags=…}`), without the deck's tag prefix."""
    parent: str | None = None
    """The parent declared with `{parent=…}`; None: numbered ids' rule (`12-1` under `12`)."""
    parent_where: SourceSpan | None = None
    """Where `parent=` was written, for messages."""

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
    defaults, taken, problems = attributes.front_matter(lines, path)
    # Blank, not removed: every line keeps its number for messages.
    lines[:taken] = [""] * taken
    structural = _structural_lines(lines)
    anchors, found = _note_starts(lines, structural, path)
    problems += found

    preamble_end = anchors[0][0] if anchors else len(lines)
    toc = tuple(
        TocEntry(m.group(1).strip(), m.group(2), SourceSpan(path, i + 1, m.start() + 1))
        for i in structural[: bisect.bisect_left(structural, preamble_end)]
        for m in _TOC_LINK.finditer(lines[i])
    )

    notes: list[SourceNote] = []
    structural_set = set(structural)
    for n, (start, note_id) in enumerate(anchors):
        end = anchors[n + 1][0] if n + 1 < len(anchors) else len(lines)
        own = attributes.Attributes()
        block = _BLOCK.fullmatch(note_id)
        if block is not None:
            note_id = block.group(1)
            col = len("## #") + block.start(2) + 1
            own, found = attributes.attribute_block(block.group(2), path, start + 1, col)
            problems += found
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
            kind, found = _kind(note, defaults, own)
            problems += found
            tags = tuple(dict.fromkeys(defaults.tags + own.tags))
            problems += _parent_problems(note_id, own)
            notes.append(
                replace(note, kind=kind, tags=tags, parent=own.parent, parent_where=own.parent_where)
            )
    return SourceFile(path, tuple(notes), toc), problems


def _parent_problems(note_id: str, own: attributes.Attributes) -> list[Problem]:
    if own.parent is None or own.parent_where is None:
        return []
    if not NOTE_ID.fullmatch(own.parent):
        wrong = f"parent={own.parent!r} is not a note id; write the parent's id, as in parent=ls"
    elif own.parent == note_id:
        wrong = f"note #{note_id} cannot be its own parent; name another note, or drop parent="
    else:
        return []
    return [Problem(own.parent_where, "error", wrong)]


def _note_starts(
    lines: list[str], structural: list[int], path: Path
) -> tuple[list[tuple[int, str]], list[Problem]]:
    """Where notes start, and every heading that looks like a note anchor but is not one.

    A mistaken anchor never merges into the previous note's answer unnoticed: it is an error
    with the anchor it probably meant. When that guess is a valid id, parsing goes on as if the
    anchor were right, so one typo is one error, not a cascade of them.
    """
    starts: list[tuple[int, str]] = []
    problems: list[Problem] = []
    structural_set = set(structural)
    question_lines = set()
    # Anchors and headings start with '#': the quick test that passes over most lines.
    for i in [i for i in structural if lines[i][:1] == "#"]:
        line = lines[i]
        anchor = _ANCHOR.match(line)
        if anchor:
            starts.append((i, anchor.group(1)))
            question_lines.add(_next_content_line(lines, i, structural_set))
            continue
        heading = _ATX.match(line)
        if heading is None:
            continue
        level = len(heading.group(1))
        text = re.sub(r"[ \t]+#+$", "", heading.group(2)).strip()
        anchor_like = text.startswith("#")
        if not anchor_like and not (starts and level <= 2):
            continue  # a title or section above the notes, or a heading inside an answer
        guess = text.lstrip("#").strip()
        block = _BLOCK.fullmatch(guess)
        valid = NOTE_ID.fullmatch(block.group(1) if block else guess) is not None
        if anchor_like or valid:
            message = f"'{line.strip()}' looks like a note anchor but is not one: " + (
                f"did you mean `## #{guess}`?"
                if valid
                else "a note starts with '## #<id>' (one space, then '#' and the id)"
            )
            problems.append(Problem(SourceSpan(path, i + 1, 1), "error", message))
            question = _next_content_line(lines, i, structural_set)
            if valid and (anchor_like or _is_question(lines, question)):
                starts.append((i, guess))
                question_lines.add(question)
            continue
        problems.append(
            Problem(
                SourceSpan(path, i + 1, 1),
                "error",
                f"'{line.strip()}' is a level-{level} heading inside note #{starts[-1][1]}'s "
                f"answer: in card files '#' is the title and '## #<id>' starts a note, and a card "
                f"does not show it as a heading; write '#### {text}' for a heading in an answer",
            )
        )
    problems += _setext_headings(lines, structural_set, starts, question_lines, path)
    return starts, problems


def _next_content_line(lines: list[str], after: int, structural: set[int]) -> int:
    i = after + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i if i in structural else -1


def _is_question(lines: list[str], i: int) -> bool:
    return i >= 0 and _QUESTION.match(lines[i]) is not None


def _setext_headings(
    lines: list[str],
    structural: set[int],
    starts: list[tuple[int, str]],
    question_lines: set[int],
    path: Path,
) -> list[Problem]:
    """`Title` over `===` or `---` inside an answer: Python-Markdown's level-1 and level-2
    headings, reported as their `#` forms are (a card would not show them as headings)."""
    problems = []
    note_at = {start: note_id for start, note_id in starts}
    anchors = sorted(note_at)
    for i in [i for i, line in enumerate(lines) if line[:1] in ("=", "-")]:
        underline = lines[i]
        if not _SETEXT_UNDERLINE.match(underline):
            continue
        before_anchor = bisect.bisect_right(anchors, i)
        if not before_anchor or i not in structural or i - 1 not in structural:
            continue
        note_id = note_at[anchors[before_anchor - 1]]
        title = lines[i - 1]
        if not title.strip():
            continue
        before = lines[i - 2] if i >= 2 else ""
        first_of_block = not before.strip() or _ATX.match(before) is not None
        if (
            i - 1 in note_at
            or _ATX.match(title)
            or title.startswith(("    ", "\t"))  # indented code
            or not first_of_block
        ):
            continue
        level = 1 if underline.startswith("=") else 2
        rule = " (or leave a blank line above '---' for a horizontal rule)" if level == 2 else ""
        problems.append(
            Problem(
                SourceSpan(path, i + 1, 1),
                "error",
                f"'{title.strip()}' underlined with '{underline.strip()}' is a level-{level} "
                f"heading inside note #{note_id}'s answer, like '{'#' * level} {title.strip()}', "
                f"and a card does not show it as a heading; write '#### {title.strip()}' for a "
                f"heading in an answer{rule}",
            )
        )
    return problems


def _kind(
    note: SourceNote, defaults: attributes.Attributes, own: attributes.Attributes
) -> tuple[Kind, list[Problem]]:
    """A note with cloze deletions is a cloze note; otherwise its `{type=…}`, the front
    matter's `note-type`, or Q&A."""
    problems = []
    numbers = attributes.cloze_numbers(note.body_md)
    if attributes.CLOZE.search(note.question):
        problems.append(
            Problem(
                SourceSpan(note.path, note.question_line, 1),
                "error",
                f"note #{note.id}: a cloze deletion in the '###' line; the question shows as "
                "it is on every card, so put the deletions in the text below it",
            )
        )
    if 0 in numbers:
        problems.append(
            Problem(
                SourceSpan(note.path, note.body_line, 1),
                "error",
                f"note #{note.id}: {{{{c0::…}}}} is not a cloze deletion; numbers start at c1",
            )
        )
    # The front matter sets a default, which cloze deletions override; only the note's own
    # {type=…} can contradict them.
    if numbers:
        if own.kind not in (None, "cloze"):
            problems.append(
                Problem(
                    own.kind_where or note.where,
                    "error",
                    f"note #{note.id} has cloze deletions ({{{{c{numbers[-1]}::…}}}}), which "
                    f"make it a cloze note, but its {{type={own.kind}}} asks for a {own.kind} "
                    "note; remove the deletions, or the type",
                )
            )
        return "cloze", problems
    asked, where = own.kind, own.kind_where
    if asked is None:
        asked, where = defaults.kind, defaults.kind_where
    if asked == "cloze":
        problems.append(
            Problem(
                where or note.where,
                "error",
                f"note #{note.id} is a cloze note without a cloze deletion; mark what to hide "
                "in its text as {{c1::…}} (or {{c1::…::hint}})",
            )
        )
    return asked or "qa", problems


def _structural_lines(lines: list[str]) -> list[int]:
    """Indices of lines outside fenced code blocks (fence lines themselves excluded)."""
    fenced: set[int] = set()
    fence: str | None = None
    opened_at = 0
    # Fence lines hold three backticks or tildes: only those lines need a closer look.
    for i in [i for i, line in enumerate(lines) if "``" in line or "~~" in line]:
        line = lines[i]
        if fence is None:
            opening = _FENCE.match(line)
            if opening:
                fence, opened_at = opening.group(1), i
        elif set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
            fenced.update(range(opened_at, i + 1))
            fence = None
    if fence is not None:
        fenced.update(range(opened_at, len(lines)))
    return [i for i in range(len(lines)) if i not in fenced]


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
        (
            i
            for i in range(q + 1, end)
            if lines[i][:1] == "#" and i in structural and _REFERENCES.match(lines[i])
        ),
        None,
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


ParsedFile = tuple[SourceFile, tuple[Problem, ...]]
"""A card file's notes and table of contents, and the problems found reading them."""


class ParsedFiles(Protocol):
    """Where parses outlive the process (the render cache): `get` gives back what `put` got
    for the same path and text."""

    def get_parsed(self, path: Path, text: str) -> ParsedFile | None: ...

    def put_parsed(self, path: Path, text: str, parsed: ParsedFile) -> None: ...


_recent: dict[tuple[Path, str], ParsedFile] = {}
"""The files this process parsed last: a long-running process (`ml-anki watch`) parses again
only the files that changed, and gets the very same notes back for the others."""
_RECENT_MAX = 1024


def _parse_file(text: str, path: Path, stored: ParsedFiles | None) -> ParsedFile:
    key = (path, text)
    parsed = _recent.pop(key, None)
    if parsed is None and stored is not None:
        parsed = stored.get_parsed(path, text)
    if parsed is None:
        source_file, problems = parse(text, path)
        parsed = source_file, tuple(problems)
        if stored is not None:
            stored.put_parsed(path, text, parsed)
    _recent[key] = parsed
    if len(_recent) > _RECENT_MAX:
        del _recent[next(iter(_recent))]  # the least recently used
    return parsed


def load(
    cards_dir: Path, locked: Mapping[str, str] | None = None, stored: ParsedFiles | None = None
) -> Sources:
    """Read and parse every card file; problems are collected, never raised.

    `locked` maps the ids in the lock file to their questions there: of two notes with one id,
    the one the lock knows is the one learners have, and the other is told to move. Files whose
    text `stored` knows are not parsed again.
    """
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
    problems.extend(_links_not_followed(cards_dir))
    for path in paths:
        try:
            size = path.stat().st_size
            if size > MAX_CARD_FILE:
                message = (
                    f"{size:,} bytes is not a file of cards (a 100-note file is about 100 KB); "
                    f"split it into files under {MAX_CARD_FILE:,} bytes, or move it out of cards/"
                )
                problems.append(Problem(SourceSpan(path), "error", message))
                continue
            raw = read_input(path)
        except UnreadableFile as exc:
            problems.extend(exc.problems)
            continue
        except OSError as exc:  # stat: the file went away or cannot be reached
            problems.append(Problem(SourceSpan(path), "error", f"cannot be read: {describe(exc)}"))
            continue
        text, decode_problems = decode(raw, path)
        problems.extend(decode_problems)
        if decode_problems:
            continue
        source_file, remembered_problems = _parse_file(text, path, stored)
        parse_problems = list(remembered_problems)
        files.append(source_file)
        problems.extend(parse_problems)
    problems.extend(_duplicate_ids(files, locked or {}))
    problems.extend(_unknown_parents(files))
    return Sources(tuple(files), tuple(problems))


def _unknown_parents(files: list[SourceFile]) -> list[Problem]:
    notes = [n for f in files for n in f.notes]
    known = {n.id for n in notes}
    return [
        Problem(
            note.parent_where,
            "error",
            f"note #{note.id} has parent={note.parent}, but no note has the id {note.parent}; "
            "name an existing note, or drop parent=",
        )
        for note in notes
        if note.parent is not None
        and note.parent_where is not None
        and note.parent != note.id
        and NOTE_ID.fullmatch(note.parent)
        and note.parent not in known
    ]


def keepers(notes: Iterable[SourceNote], locked: Mapping[str, str]) -> dict[str, SourceNote]:
    """The note that keeps each id when several share it: the one whose question the lock has
    (learners have it), else the first in file order."""
    kept: dict[str, SourceNote] = {}
    for note in notes:
        if note.id not in kept or (
            locked.get(note.id) == note.question != kept[note.id].question
        ):
            kept[note.id] = note
    return kept


def _links_not_followed(cards_dir: Path) -> list[Problem]:
    """Symbolic links to directories (or in a loop) under cards/ are not followed, so that a
    link back up the tree cannot make a build read forever: say so, or their cards vanish."""
    problems = []
    for path in sorted(cards_dir.rglob("*")):
        if path.is_symlink() and not path.is_file():
            target = "a directory" if path.is_dir() else "nothing readable (a loop, or missing)"
            message = (
                f"a symbolic link to {target} is not followed, so no cards are read through it; "
                "move the cards into cards/ itself"
            )
            problems.append(Problem(SourceSpan(path), "warning", message))
    return problems


def _duplicate_ids(files: list[SourceFile], locked: Mapping[str, str]) -> list[Problem]:
    """Each reuse of an id, reported at the newer note: the one the lock does not know (learners
    cannot have it yet), else the later one in file order; the older one keeps the id."""
    notes = [n for f in files for n in f.notes]
    kept = keepers(notes, locked)
    by_id: dict[str, list[SourceNote]] = {}
    for note in notes:
        by_id.setdefault(note.id, []).append(note)
    problems = []
    for note_id, older in kept.items():
        newer = [n for n in by_id[note_id] if n is not older]
        if not newer:
            continue
        known = locked.get(note_id) == older.question
        if known:
            message = (
                f"duplicate note id #{note_id}: learners already have the note at {older.where} "
                f"(its question is the one ml-anki.lock has for #{note_id}); give this note a "
                "new id"
            )
        elif note_id in locked:
            message = (
                f"duplicate note id #{note_id}, first used at {older.where}; ml-anki.lock has "
                f"#{note_id} asking {locked[note_id]!r}, which neither asks, so give this later "
                "one a new id"
            )
        else:
            message = (
                f"duplicate note id #{note_id}, first used at {older.where}; neither is in "
                "ml-anki.lock yet (no learner has either), so give this later one a new id"
            )
        problems += [Problem(n.where, "error", message) for n in newer]
    return problems


_NUMBERED = re.compile(r"[0-9]+(?:-[0-9]+)+")


def parent_of(note: SourceNote, known: set[str] | frozenset[str]) -> str | None:
    """The note whose question `note`'s card shows as context: the one its `{parent=…}` names,
    else the numbered ids' rule."""
    if note.parent is not None:
        return note.parent if note.parent in known else None
    return parent_id(note.id, known)


def parent_id(note_id: str, known: set[str] | frozenset[str]) -> str | None:
    """`12-1` → `12` when note 12 exists: a sub-question shows its parent as context.

    Only numbered ids are read this way: in `ls-h` the hyphen is part of a name, and reading it
    as "under `ls`" would put another note's question on the card unasked.
    """
    if not _NUMBERED.fullmatch(note_id):
        return None
    head = note_id.rpartition("-")[0]
    return head if head in known else None
