"""The deck's one note type: a frozen field list, and templates + CSS read from `templates/`.

Anki matches a note type by id. Under the same id, new template HTML or CSS updates learners'
copy in place, but only when the note type's mod is newer; any change to the *schema* (fields
added, removed or reordered, templates added or removed) makes every existing note conflict, so
the importer leaves them stale and adds a second copy of the note type. The schema below is
therefore frozen: spare fields (`Source`, `Extra`) are reserved up front, and the build refuses a
schema that differs from the one recorded in the lock file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

FIELDS: tuple[tuple[str, int], ...] = (
    ("Id", 920_001),
    ("Question", 920_002),
    ("Context", 920_003),
    ("Answer", 920_004),
    ("References", 920_005),
    ("Version", 920_006),
    ("Retired", 920_007),
    ("Source", 920_008),
    ("Extra", 920_009),
)
"""(name, stable id). Since Anki 23.10 the id lets a *rename* update in place; order is schema."""

TEMPLATE_NAME = "Question → Answer"
TEMPLATE_ID = 930_001
SORT_FIELD = "Id"


@dataclass(frozen=True, slots=True)
class NoteTypeLook:
    """The parts of the note type that may change between releases."""

    front_html: str
    back_html: str
    css: str

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (self.front_html, self.back_html, self.css):
            digest.update(part.encode())
            digest.update(b"\x00")
        return digest.hexdigest()[:16]


def schema() -> dict[str, list[str]]:
    """What must never change under the same note type id (recorded in the lock)."""
    return {"fields": [name for name, _ in FIELDS], "templates": [TEMPLATE_NAME]}


def look() -> NoteTypeLook:
    templates = resources.files("ml_anki") / "templates"
    return NoteTypeLook(
        front_html=(templates / "front.html").read_text(encoding="utf-8"),
        back_html=(templates / "back.html").read_text(encoding="utf-8"),
        css=(templates / "card.css").read_text(encoding="utf-8")
        + "\n"
        + (templates / "code.css").read_text(encoding="utf-8"),
    )
