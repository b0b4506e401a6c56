"""A learner's Anki collection, driven through the official `anki` package.

One helper imports a package the way Anki's "Import" does and returns the importer's log, so
tests read like the scenario they prove.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.notes import Note


@dataclass(frozen=True)
class ImportLog:
    new: list[str]
    updated: list[str]
    duplicate: list[str]
    conflicting: list[str]
    """Each a list of the notes' `Id` field (the source id, e.g. '12-1')."""


class Learner:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.col = Collection(str(path))

    def close(self) -> None:
        self.col.close()

    def import_deck(self, package: Path) -> ImportLog:
        """Import as Anki's defaults do: update notes and note types only when newer."""
        request = ImportAnkiPackageRequest(
            package_path=str(package),
            options=ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False),
        )
        log = self.col.import_anki_package(request).log

        def ids(entries: object) -> list[str]:
            return sorted(entry.fields[0] for entry in entries)  # type: ignore[attr-defined]

        return ImportLog(ids(log.new), ids(log.updated), ids(log.duplicate), ids(log.conflicting))

    def notes(self) -> dict[str, Note]:
        """Every note in the collection by its `Id` field."""
        notes = [self.col.get_note(nid) for nid in self.col.find_notes("")]
        by_id = {note["Id"]: note for note in notes}
        assert len(by_id) == len(notes), "two notes share an Id: a duplicate was imported"
        return by_id

    def review(self, note_id: str, ease: int = 3) -> None:
        """Answer the note's card with the scheduler, as a learner would."""
        card = self.notes()[note_id].cards()[0]
        card.start_timer()
        self.col.sched.answerCard(card, ease)  # type: ignore[attr-defined]

    def history(self, note_id: str) -> list[tuple[int, int]]:
        """(ease, interval) of each review of the note's card, oldest first."""
        card = self.notes()[note_id].cards()[0]
        rows = self.col.db.all("select ease, ivl from revlog where cid = ? order by id", card.id)
        return [(int(ease), int(ivl)) for ease, ivl in rows]

    def media_files(self) -> set[str]:
        return {p.name for p in Path(self.col.media.dir()).iterdir()}

    def card_html(self, note_id: str) -> tuple[str, str]:
        card = self.notes()[note_id].cards()[0]
        return card.question(), card.answer()
