"""`ml-anki diff`: what a learner would see change when importing one build of the deck over another.

Both sides are `Deck` values: a package read with `apkg.read`, or the deck the current sources
decide (`build.plan`), without packaging or writing anything. Notes are matched by GUID, as
Anki's importer matches them. A note that left the deck, or now ships only as a retired note,
counts as removed: that is what it is to a learner. Field changes are compared as
a learner reads them: tags stripped, entities decoded, TeX left as written, word by word.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from .deck import Deck, Note
from .lock import natural_key
from .notetype import SPECS

Kind = Literal["+", "~", "-"]
_CONTEXT_WORDS = 6
"""Unchanged words shown on each side of a change in `-v` output."""
QUESTION_FIELDS = tuple(spec.field_name("question") for spec in SPECS.values())
"""What a learner reads as a note's question, in each of ml-anki's note types."""
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "pre", "hr", "table", "ul", "ol", "h4", "h5", "h6", "dt", "dd"}
)


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    words: str
    """The field as a learner reads it, changes marked `[-removed-]{+added+}`, with context."""


@dataclass(frozen=True, slots=True)
class NoteChange:
    kind: Kind
    label: str
    """The note's id (`Id` field), or its GUID for notes of other note types."""
    question: str
    """Plain text of the question (the new one unless the note was removed)."""
    fields: tuple[FieldChange, ...] = ()
    """For `~`: what changed, field by field."""


@dataclass(frozen=True, slots=True)
class NoteTypeChange:
    kind: Kind
    name: str
    parts: tuple[str, ...] = ()
    """For `~`: what changed ('back template', 'CSS', 'fields (A, B → A, C)', …)."""
    schema: bool = False
    """Fields or templates added, removed or reordered: learners' notes would stop updating."""


@dataclass(frozen=True, slots=True)
class MediaChange:
    kind: Kind
    name: str


@dataclass(frozen=True, slots=True)
class DeckDiff:
    notes: tuple[NoteChange, ...]
    """Sorted by id, in study-guide order."""
    unchanged: int
    """Notes a learner studies in both decks, identical."""
    notetypes: tuple[NoteTypeChange, ...]
    media: tuple[MediaChange, ...]

    def count(self, kind: Kind) -> int:
        return sum(1 for change in self.notes if change.kind == kind)


def compare(old: Deck, new: Deck) -> DeckDiff:
    notes: list[NoteChange] = []
    unchanged = 0
    order = _field_order(new)
    before_notes, after_notes = old.by_guid(), new.by_guid()
    for guid in before_notes.keys() | after_notes.keys():
        before, after = before_notes.get(guid), after_notes.get(guid)
        live_before = before is not None and not before.retired
        live_after = after is not None and not after.retired
        if live_after and not live_before:
            assert after is not None
            notes.append(NoteChange("+", new.label(after), _question(new, after)))
        elif live_before and not live_after:
            assert before is not None
            notes.append(NoteChange("-", old.label(before), _question(old, before)))
        elif live_before and live_after:
            assert before is not None and after is not None
            fields = _field_changes(old, before, new, after, order)
            if fields:
                notes.append(NoteChange("~", new.label(after), _question(new, after), fields))
            else:
                unchanged += 1
    notes.sort(key=lambda change: (natural_key(change.label), change.kind))
    return DeckDiff(tuple(notes), unchanged, _notetype_changes(old, new), _media_changes(old, new))


def _field_order(deck: Deck) -> dict[str, int]:
    order: dict[str, int] = {}
    for kind in deck.notetypes:
        for name in kind.field_names:
            order.setdefault(name, len(order))
    return order


def _question(deck: Deck, note: Note) -> str:
    fields = deck.fields(note)
    html = next((fields[name] for name in QUESTION_FIELDS if name in fields), None)
    if html is None:  # another tool's note type: its first field is its front
        html = next(iter(fields.values()), "")
    return " ".join(plain_text(html).split())


def _field_changes(
    old: Deck, before: Note, new: Deck, after: Note, order: dict[str, int]
) -> tuple[FieldChange, ...]:
    changes: list[FieldChange] = []
    if before.notetype_id != after.notetype_id:
        old_type, new_type = old.notetype(before.notetype_id), new.notetype(after.notetype_id)
        changes.append(
            FieldChange(
                "Note type",
                f"[-{old_type.name if old_type else before.notetype_id}-]"
                f"{{+{new_type.name if new_type else after.notetype_id}+}} — Anki cannot change "
                "a note's type on import: learners' copies would conflict",
            )
        )
    before_fields, after_fields = old.fields(before), new.fields(after)
    names = sorted(
        before_fields.keys() | after_fields.keys(), key=lambda n: (order.get(n, len(order)), n)
    )
    for name in names:
        old_html, new_html = before_fields.get(name, ""), after_fields.get(name, "")
        if old_html == new_html:
            continue
        old_text, new_text = plain_text(old_html), plain_text(new_html)
        if old_text.split() == new_text.split():
            changes.append(FieldChange(name, "(markup only; the text reads the same)"))
        else:
            changes.append(FieldChange(name, word_diff(old_text, new_text)))
    if before.tags != after.tags:
        changes.append(FieldChange("Tags", word_diff(" ".join(before.tags), " ".join(after.tags))))
    return tuple(changes)


def _notetype_changes(old: Deck, new: Deck) -> tuple[NoteTypeChange, ...]:
    changes: list[NoteTypeChange] = []
    before_types = {t.id: t for t in old.notetypes}
    after_types = {t.id: t for t in new.notetypes}
    for notetype_id in sorted(before_types.keys() | after_types.keys()):
        before, after = before_types.get(notetype_id), after_types.get(notetype_id)
        if before is None and after is not None:
            changes.append(NoteTypeChange("+", after.name))
        elif after is None and before is not None:
            changes.append(NoteTypeChange("-", before.name))
        elif before is not None and after is not None:
            parts: list[str] = []
            schema = False
            if before.name != after.name:
                parts.append(f"name (was '{before.name}')")
            if before.field_names != after.field_names:
                parts.append(
                    f"fields ({', '.join(before.field_names)} → {', '.join(after.field_names)})"
                )
                schema = True
            old_templates = {t.name: t for t in before.templates}
            new_templates = {t.name: t for t in after.templates}
            if list(old_templates) != list(new_templates):
                parts.append(f"templates ({', '.join(old_templates)} → {', '.join(new_templates)})")
                schema = True
            for name, template in new_templates.items():
                previous = old_templates.get(name)
                if previous is None:
                    continue
                one = len(new_templates) == 1
                if previous.front != template.front:
                    parts.append("front template" if one else f"front template of '{name}'")
                if previous.back != template.back:
                    parts.append("back template" if one else f"back template of '{name}'")
            if before.css != after.css:
                parts.append("CSS")
            if parts:
                changes.append(NoteTypeChange("~", after.name, tuple(parts), schema))
    return tuple(changes)


def _media_changes(old: Deck, new: Deck) -> tuple[MediaChange, ...]:
    changes: list[MediaChange] = []
    before_media = {m.name: m.sha256 for m in old.media}
    after_media = {m.name: m.sha256 for m in new.media}
    for name in sorted(before_media.keys() | after_media.keys()):
        before, after = before_media.get(name), after_media.get(name)
        if before is None:
            changes.append(MediaChange("+", name))
        elif after is None:
            changes.append(MediaChange("-", name))
        elif before != after:
            changes.append(MediaChange("~", name))
    return tuple(changes)


def lines(diff: DeckDiff, verbose: bool = False) -> list[str]:
    """The report, one line per difference (and with `verbose`, the words that changed)."""
    out: list[str] = []
    for note in diff.notes:
        out.append(f"{note.kind} #{note.label}  {note.question}")
        if verbose:
            out += [f"    {change.field}: {change.words}" for change in note.fields]
    for notetype in diff.notetypes:
        text = f"{notetype.kind} note type '{notetype.name}'"
        if notetype.parts:
            text += f" changed: {', '.join(notetype.parts)}"
        if notetype.schema:
            text += (
                " — a schema change: Anki marks every learner's existing note as conflicting and "
                "stops updating it"
            )
        out.append(text)
    for media in diff.media:
        text = f"{media.kind} media {media.name}"
        if media.kind == "~":
            text += " (same name, new content: Anki keeps the copy a learner already has)"
        out.append(text)
    return out


def summary(diff: DeckDiff) -> str:
    added, changed, removed = diff.count("+"), diff.count("~"), diff.count("-")
    if not (diff.notes or diff.notetypes or diff.media):
        return f"no differences: {diff.unchanged} notes, same note type and media"
    text = f"{added} added, {changed} changed, {removed} removed, {diff.unchanged} unchanged"
    if diff.notetypes:
        text += " · note type changed"
    if diff.media:
        counts = [
            f"{n} {label}"
            for kind, label in (("+", "added"), ("~", "changed"), ("-", "removed"))
            if (n := sum(1 for m in diff.media if m.kind == kind))
        ]
        text += f" · media: {', '.join(counts)}"
    return text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "img":
            # A figure is part of what a learner reads: a changed figure has a new media name.
            self.parts.append(f" image:{dict(attrs).get('src') or ''} ")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """A field's HTML as a learner reads it: no tags, entities decoded, TeX kept as written."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def word_diff(old: str, new: str, context: int = _CONTEXT_WORDS) -> str:
    """`… the [-intercept.-]{+intercept (offset).+}`: the changes with a few words around them."""
    a, b = old.split(), new.split()
    pieces: list[str] = []
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            pieces += _context(a[i1:i2], context, first=n == 0, last=n == len(opcodes) - 1)
            continue
        removed = f"[-{' '.join(a[i1:i2])}-]" if i2 > i1 else ""
        added = f"{{+{' '.join(b[j1:j2])}+}}" if j2 > j1 else ""
        pieces.append(removed + added)  # a replacement reads as one unit, as in git's word diff
    return " ".join(pieces)


def _context(words: Sequence[str], keep: int, *, first: bool, last: bool) -> list[str]:
    if first and last:
        return list(words)
    if first:
        return (["…"] if len(words) > keep else []) + list(words[-keep:])
    if last:
        return list(words[:keep]) + (["…"] if len(words) > keep else [])
    if len(words) > 2 * keep:
        return [*words[:keep], "…", *words[-keep:]]
    return list(words)
