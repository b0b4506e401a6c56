"""The deck's note types: each a frozen field list and templates + CSS read from `templates/`.

Anki matches a note type by id. Under the same id, new template HTML or CSS updates learners'
copy in place, but only when the note type's mod is newer; any change to the *schema* (fields
added, removed or reordered, templates added or removed) makes every existing note conflict, so
the importer leaves them stale and adds a second copy of the note type. The schemas below are
therefore frozen: spare fields (`Source`, `Extra`) are reserved up front, and the build refuses a
schema that differs from the one recorded in the lock file.

Every note type shares the same *roles* (what ml-anki puts in a field: the note's id, the
question, …); only the field names learners see differ. This module is the one place that says
which field name a role has in which note type.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal

Kind = Literal["qa", "reverse", "cloze"]
"""What an author asks for (`note-type:` in front matter, `{type=…}` on a note)."""
KINDS: tuple[Kind, ...] = ("qa", "reverse", "cloze")

Role = Literal[
    "id", "question", "context", "answer", "references", "version", "retired", "source", "extra"
]
"""What a field holds, whatever its name in a note type."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    """As learners see it in Anki's editor and browser."""
    id: int
    """Stable: since Anki 23.10 the id lets a *rename* update in place."""
    role: Role


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    name: str
    id: int
    front_file: str
    """File name under `templates/` of the question side."""
    back_file: str


@dataclass(frozen=True, slots=True)
class Spec:
    """The frozen part of one note type: what must never change under its id."""

    kind: Kind
    fields: tuple[FieldSpec, ...]
    """In order: the order is part of the schema."""
    templates: tuple[TemplateSpec, ...]
    """One card per template (ord = index), except for a cloze type: one card per cloze number."""
    css_files: tuple[str, ...]
    sort_field: Role
    cloze: bool = False

    def field_name(self, role: Role) -> str:
        return next(f.name for f in self.fields if f.role == role)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def template_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.templates)

    def schema(self) -> dict[str, list[str]]:
        """What must never change under the same note type id (recorded in the lock)."""
        return {"fields": list(self.field_names), "templates": list(self.template_names)}


_ROLES: tuple[Role, ...] = (
    "id", "question", "context", "answer", "references", "version", "retired", "source", "extra"
)  # fmt: skip


def _names(question: str, answer: str) -> tuple[str, ...]:
    """Field names in role order: only the question's and the answer's differ between types."""
    return (
        "Id",
        question,
        "Context",
        answer,
        "References",
        "Version",
        "Retired",
        "Source",
        "Extra",
    )


def _fields(names: tuple[str, ...], first_id: int) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(name, first_id + n, role)
        for n, (name, role) in enumerate(zip(names, _ROLES, strict=True))
    )


_CSS = ("card.css", "code.css")

SPECS: Mapping[Kind, Spec] = {
    # Q&A: exactly as learners of the ML deck have it since v1.0.0 (names, ids, template).
    "qa": Spec(
        kind="qa",
        fields=_fields(_names("Question", "Answer"), 920_001),
        templates=(TemplateSpec("Question → Answer", 930_001, "front.html", "back.html"),),
        css_files=_CSS,
        sort_field="id",
    ),
    # Reverse: Anki's "Basic (and reversed card)": Front/Back, one card each way.
    "reverse": Spec(
        kind="reverse",
        fields=_fields(_names("Front", "Back"), 940_001),
        templates=(
            TemplateSpec("Front → Back", 950_001, "reverse-1-front.html", "reverse-1-back.html"),
            TemplateSpec("Back → Front", 950_002, "reverse-2-front.html", "reverse-2-back.html"),
        ),
        css_files=_CSS,
        sort_field="id",
    ),
    # Cloze: the heading above the text on both sides, the text with {{c1::…}} deletions.
    "cloze": Spec(
        kind="cloze",
        fields=_fields(_names("Title", "Text"), 960_001),
        templates=(TemplateSpec("Cloze", 970_001, "cloze-front.html", "cloze-back.html"),),
        css_files=(*_CSS, "cloze.css"),
        sort_field="id",
        cloze=True,
    ),
}

FIELDS: tuple[tuple[str, int], ...] = tuple((f.name, f.id) for f in SPECS["qa"].fields)
"""The Q&A note type's (name, stable id) pairs."""


def shared_name(role: Role) -> str:
    """The field name `role` has in every note type (`Id`, `Retired`, …), read back from any
    package by it."""
    (name,) = {spec.field_name(role) for spec in SPECS.values()}
    return name


ID_FIELD = shared_name("id")
RETIRED_FIELD = shared_name("retired")
VERSION_FIELD = shared_name("version")


def field_names(kind: Kind = "qa") -> tuple[str, ...]:
    return SPECS[kind].field_names


def schema(kind: Kind = "qa") -> dict[str, list[str]]:
    return SPECS[kind].schema()


@dataclass(frozen=True, slots=True)
class NoteTypeLook:
    """The parts of a note type that may change between releases."""

    templates: tuple[tuple[str, str], ...]
    """(front, back) HTML of each template, in order."""
    css: str

    @property
    def front_html(self) -> str:
        return self.templates[0][0]

    @property
    def back_html(self) -> str:
        return self.templates[0][1]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for front, back in self.templates:
            for part in (front, back):
                digest.update(part.encode())
                digest.update(b"\x00")
        digest.update(self.css.encode())
        digest.update(b"\x00")
        return digest.hexdigest()[:16]


def look(kind: Kind = "qa") -> NoteTypeLook:
    spec = SPECS[kind]
    templates = resources.files("ml_anki") / "templates"

    def read(name: str) -> str:
        return (templates / name).read_text(encoding="utf-8")

    return NoteTypeLook(
        templates=tuple((read(t.front_file), read(t.back_file)) for t in spec.templates),
        css="\n".join(read(name) for name in spec.css_files),
    )
