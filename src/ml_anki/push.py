"""`ml-anki push`: the current deck into a running Anki through AnkiConnect, never over an edit
made in Anki.

The deck travels as the very package a build writes, imported by Anki's own importer
(AnkiConnect's `importPackage`): GUIDs, note ids, the note type and its id, mods and media end up
exactly as a learner's import makes them, so a released `.apkg` imported later into the same
collection updates these notes instead of duplicating them. (`addNote` cannot: it gives every
note a random GUID and a new id.)

Before anything changes, every note Anki has is compared with what was last put there: the
fields of the last push into that Anki (remembered beside the built decks), or, for a note that
came from a release, the content hash the lock recorded. A note whose fields differ was edited in
Anki. If its card also changed in the sources, that is a conflict: the note is left out of the
package (the importer would otherwise apply ours, whose mod is newer), reported with a word diff
of what changed in Anki, and the push ends with exit status 1 after everything else went in;
`--force ID` ships ours. An edit in Anki to a note whose card did not change is left alone.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from . import lock as lock_mod
from . import package
from .ankiconnect import AnkiConnectError, AnkiNote, Client
from .build import Progress, plan
from .config import DeckConfig
from .diff import plain_text, word_diff
from .errors import SourceError, SourceSpan
from .files import atomic_write

Kind = Literal["added", "updated", "unchanged", "conflict", "kept", "forced"]
_CONTENT_FIELDS = ("Id", "Question", "Context", "Answer", "References")
"""What `RenderedNote.content_hash` (and so the lock) covers, besides the tags."""


@dataclass(frozen=True, slots=True)
class Shipped:
    """A note's fields and tags as a package carries them."""

    fields: Mapping[str, str]
    tags: tuple[str, ...]

    def same(self, other: Shipped) -> bool:
        # Anki keeps tags in its own order.
        return dict(self.fields) == dict(other.fields) and sorted(self.tags) == sorted(other.tags)

    def lock_hash_matches(self, digest: str) -> bool:
        """Whether these are the contents the lock recorded `digest` for."""
        return any(
            _content_hash(self.fields, tags) == digest for tags in (self.tags, sorted(self.tags))
        )


@dataclass(frozen=True, slots=True)
class NoteOutcome:
    note_id: str
    """The source id (`12-1`)."""
    kind: Kind
    anki_id: int | None
    """Anki's note id, when Anki had the note."""
    edited_in_anki: tuple[str, ...] = ()
    """For a conflict or a note left alone: per field, what changed in Anki (a word diff)."""
    diff_base: Literal["pushed", "cards"] = "pushed"
    """What `edited_in_anki` compares Anki's copy with: the last push, or (when that is not
    known) the cards as they are now."""


@dataclass(frozen=True, slots=True)
class PushResult:
    deck_name: str
    url: str
    outcomes: tuple[NoteOutcome, ...]
    """Every note of the deck, in the study guide's order."""
    removed: tuple[str, ...]
    """In the lock but no longer in the cards: left in Anki as they are (never deleted); the
    next release ships them retired."""
    dry_run: bool
    imported: bool
    """Whether a package went to Anki (nothing does when nothing changed)."""

    def of(self, *kinds: Kind) -> tuple[NoteOutcome, ...]:
        return tuple(o for o in self.outcomes if o.kind in kinds)


def state_path(config: DeckConfig, url: str) -> Path:
    """What the last push into the Anki at `url` shipped, beside the built decks (not committed:
    it describes one author's Anki)."""
    parts = urlsplit(url)
    host = "".join(c if c.isalnum() else "-" for c in (parts.hostname or "anki"))
    return config.out_dir / f".pushed-{config.deck_slug}-{host}-{parts.port or 80}.json"


def push(
    config: DeckConfig,
    client: Client,
    force: Collection[str] = (),
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PushResult:
    client.check_version()
    planned = plan(config, progress)
    unknown = sorted(set(force) - set(planned.lock.notes), key=lock_mod.natural_key)
    if unknown:
        raise SourceError.single(
            SourceSpan(config.cards_dir),
            f"--force {unknown[0]}: no note has that id (give the id as in the cards, e.g. 12-1)",
        )
    deck = planned.deck
    ours = {deck.label(note): Shipped(deck.fields(note), note.tags) for note in deck.notes}
    state_file = state_path(config, client.url)
    pushed = _load_state(state_file)
    in_anki = _anki_notes(client, config)

    outcomes: list[NoteOutcome] = []
    forced_mods: dict[str, int] = {}
    for note_id in sorted(ours, key=lock_mod.natural_key):
        new, current = ours[note_id], in_anki.get(note_id)
        if current is None:
            outcomes.append(NoteOutcome(note_id, "added", None))
            continue
        theirs = Shipped(current.fields, current.tags)
        if theirs.same(new):
            outcomes.append(NoteOutcome(note_id, "unchanged", current.note_id))
            continue
        base = pushed.get(note_id)
        previous = pushed.hashes.get(note_id) or _lock_hash(planned.previous, note_id)
        if not _edited_in_anki(theirs, base, previous):
            outcomes.append(NoteOutcome(note_id, "updated", current.note_id))
            continue
        against: Literal["pushed", "cards"] = "pushed" if base is not None else "cards"
        changes = _field_diffs(base if base is not None else new, theirs)
        if note_id in force:
            # Anki applies only a newer mod, and the edit in Anki made its mod recent.
            entry = planned.lock.notes[note_id]
            floor = current.mod + 1 if current.mod is not None else config.run.now
            forced_mods[note_id] = max(entry.mod, floor, config.run.now)
            kind: Kind = "forced"
        elif _source_changed(new, base, previous):
            kind = "conflict"
        else:
            kind = "kept"
        outcomes.append(NoteOutcome(note_id, kind, current.note_id, changes, against))

    result = PushResult(
        config.deck_name,
        client.url,
        tuple(outcomes),
        planned.changes.removed,
        dry_run,
        imported=False,
    )
    held = {o.note_id for o in result.of("conflict", "kept")}
    lock = _with_mods(planned.lock, forced_mods)
    notetype_mod = max((t.mod for t in deck.notetypes), default=0)
    work = result.of("added", "updated", "forced")
    if dry_run or not (work or pushed.notetype_mod != notetype_mod):
        return result

    # The deck as a build decides it, minus the notes left as they are in Anki.
    shipping = replace(
        deck,
        notes=tuple(
            replace(note, mod=forced_mods.get(deck.label(note), note.mod))
            for note in deck.notes
            if deck.label(note) not in held
        ),
    )
    _import(client, config, package.write(shipping))
    # The lock records what this push shipped, as `build` would; a build afterwards then writes
    # the very deck Anki now has.
    lock_text = lock.dumps()
    if not config.lock_path.is_file() or config.lock_path.read_text("utf-8") != lock_text:
        atomic_write(config.lock_path, lock_text.encode())
    # For a note held back, what Anki had from us before its own edit stays the base, so the
    # conflict is reported again until it is resolved (the lock moved on with the cards).
    remembered = {i: shipped for i, shipped in pushed.notes.items() if i in held}
    hashes = {
        i: digest
        for i in held
        if i not in remembered
        and (digest := pushed.hashes.get(i) or _lock_hash(planned.previous, i)) is not None
    }
    for outcome in result.outcomes:
        if outcome.note_id not in held:
            remembered[outcome.note_id] = ours[outcome.note_id]
    _save_state(state_file, _State(remembered, hashes, notetype_mod))
    return replace(result, imported=True)


def _with_mods(lock: lock_mod.Lock, mods: Mapping[str, int]) -> lock_mod.Lock:
    if not mods:
        return lock
    notes = dict(lock.notes)
    for note_id, mod in mods.items():
        notes[note_id] = replace(notes[note_id], mod=mod)
    return replace(lock, notes=notes)


def _anki_notes(client: Client, config: DeckConfig) -> dict[str, AnkiNote]:
    """Anki's notes of this deck's note type, by their `Id` field (the source id)."""
    note_ids = client.call("findNotes", query=f"mid:{config.notetype_id}")
    found: dict[str, AnkiNote] = {}
    for note in client.notes_info(note_ids) if note_ids else []:
        note_id = note.fields.get("Id", "")
        if note_id and note_id not in found:
            found[note_id] = note
    return found


def _import(client: Client, config: DeckConfig, data: bytes) -> None:
    """Through the collection's media folder, where `importPackage` reads from; then cleaned up
    (a package left there would sync to every device as a media file)."""
    name = client.store_media(f"ml-anki-push-{config.deck_slug}-{int(time.time())}.apkg", data)
    folder = str(client.call("getMediaDirPath"))
    separator = "\\" if "\\" in folder and "/" not in folder else "/"
    try:
        client.call("importPackage", path=folder.rstrip(separator) + separator + name)
    finally:
        try:
            client.call("deleteMediaFile", filename=name)
        except AnkiConnectError:
            pass  # Anki's "Check Media" removes it; the push itself went through


def _lock_hash(lock: lock_mod.Lock, note_id: str) -> str | None:
    entry = lock.notes.get(note_id)
    return entry.hash if entry is not None else None


def _edited_in_anki(theirs: Shipped, base: Shipped | None, base_hash: str | None) -> bool:
    if base is not None:
        return not theirs.same(base)
    if base_hash is not None:
        # Imported from a release: the lock knows the hash of what it carried.
        return not theirs.lock_hash_matches(base_hash)
    return True  # a note with our id that we never shipped: treat it as Anki's own


def _source_changed(new: Shipped, base: Shipped | None, base_hash: str | None) -> bool:
    if base is not None:
        return not new.same(base)
    if base_hash is not None:
        return not new.lock_hash_matches(base_hash)
    return True


def _field_diffs(before: Shipped, after: Shipped) -> tuple[str, ...]:
    diffs = []
    for name, old in before.fields.items():
        new = after.fields.get(name, "")
        if old != new:
            diffs.append(f"{name}: {word_diff(plain_text(old), plain_text(new))}")
    if sorted(before.tags) != sorted(after.tags):
        diffs.append(f"tags: {word_diff(' '.join(before.tags), ' '.join(after.tags))}")
    return tuple(diffs)


def _content_hash(fields: Mapping[str, str], tags: Sequence[str]) -> str:
    # The formula of `RenderedNote.content_hash`, over the fields as shipped.
    payload = json.dumps(
        [*(fields.get(name, "") for name in _CONTENT_FIELDS), list(tags)], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _State:
    notes: Mapping[str, Shipped]
    """Per note, the fields and tags the last push put into this Anki."""
    hashes: Mapping[str, str] = field(default_factory=dict)
    """For a note held back whose pushed fields are unknown (it came from a release): the lock
    hash of what Anki had before its own edit."""
    notetype_mod: int = 0
    """The note type's mod as last pushed (0: never)."""

    def get(self, note_id: str) -> Shipped | None:
        return self.notes.get(note_id)


def _load_state(path: Path) -> _State:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        notes = {
            str(note_id): Shipped(dict(entry["fields"]), tuple(entry["tags"]))
            for note_id, entry in data["notes"].items()
        }
        hashes = {str(k): str(v) for k, v in data.get("hashes", {}).items()}
        return _State(notes, hashes, int(data.get("notetype_mod", 0)))
    except FileNotFoundError:
        return _State({})
    except (ValueError, KeyError, TypeError, AttributeError):
        # Only a memory of the last push: without it, the lock's hashes still tell an edit in
        # Anki apart from an older copy of ours.
        return _State({})


def _save_state(path: Path, state: _State) -> None:
    data = {
        "notetype_mod": state.notetype_mod,
        "hashes": dict(sorted(state.hashes.items())),
        "notes": {
            note_id: {"fields": dict(shipped.fields), "tags": list(shipped.tags)}
            for note_id, shipped in sorted(state.notes.items())
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1).encode())
