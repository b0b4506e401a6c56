"""`CHANGELOG.md`: one section per release, newest first, naming every note it added, changed or
removed by id and question, so a learner can see what an import will bring.

`release` renders the section from the lock and inserts it above the previous one. A section
already there for the version being released can only be left from an attempt that did not
finish (the lock refuses to release a version twice), so it is replaced, not duplicated.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

HEADER = """\
# Changelog

What each release of the deck added, changed and removed, newest first. Import a release over
the one you have: changed notes are updated in place and keep their review history. Removed
notes stay in your collection (Anki never deletes them) with a line on the card saying so and
the tag `{prefix}::retired`: search `tag:{prefix}::retired` to suspend or delete them.
"""
_SHA256 = re.compile(r"^`[^`]+\.apkg` sha256 `([0-9a-f]{64})`$", re.MULTILINE)
RELEARN_NOTE = (
    "Answers corrected in this release: what you memorized was wrong. In Anki, Browse, search "
    "`tag:{tag}`, select them all and Forget (Reset) them to learn them again."
)
_SECTION = re.compile(r"^## v(\d+\.\d+\.\d+)\b.*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Entry:
    note_id: str
    question: str
    """As written in the card's `###` line (Markdown, so `$…$` math renders on GitHub too)."""
    detail: str = ""
    """E.g. 'replaced by #12-5' or 'restored'."""


@dataclass(frozen=True, slots=True)
class Section:
    version: str
    released: int
    """Release time, seconds since the epoch (the section shows its UTC date)."""
    notes: int
    """Notes learners study in this release (retired ones not counted)."""
    retired: int
    """Retired notes the release still ships."""
    added: tuple[Entry, ...]
    changed: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    notetype_changed: bool
    """Templates or CSS changed: every card looks different, though no note changed."""
    relearn: tuple[Entry, ...] = ()
    """Changed notes whose answer was corrected (`release --relearn`): learners should relearn
    them, not just review the new version."""
    relearn_tag: str = ""
    """The tag the relearn notes carry, e.g. `ml::relearn::v1.1.0`."""
    package: str = ""
    """The released `.apkg`'s file name."""
    sha256: str = ""
    """Of the released `.apkg`, so a package built elsewhere (CI, a learner) can be checked
    against what was released."""


def render(section: Section) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(section.released))
    facts = [f"{section.notes} notes"]
    if section.retired:
        facts.append(f"{section.retired} retired")
    facts += [
        f"{len(section.added)} added",
        f"{len(section.changed)} changed",
        f"{len(section.removed)} removed",
    ]
    if section.notetype_changed:
        facts.append("card templates/CSS updated")
    parts = [f"## v{section.version} — {date}\n", f"{' · '.join(facts)}\n"]
    for title, entries in (
        ("Added", section.added),
        ("Changed", section.changed),
        ("Removed", section.removed),
        ("Relearn", section.relearn),
    ):
        if entries:
            items = "".join(
                f"- #{e.note_id} {e.question}" + (f" ({e.detail})" if e.detail else "") + "\n"
                for e in entries
            )
            if title == "Relearn":
                items = RELEARN_NOTE.format(tag=section.relearn_tag) + "\n\n" + items
            parts.append(f"### {title}\n\n{items}")
    if section.sha256:
        parts.append(f"`{section.package}` sha256 `{section.sha256}`\n")
    return "\n".join(parts)


def section_of(text: str, version: str) -> str | None:
    """The section of `version` ('1.1.0') in a CHANGELOG.md, heading included; None if none."""
    headings = list(_SECTION.finditer(text))
    for n, heading in enumerate(headings):
        if heading.group(1) == version:
            end = headings[n + 1].start() if n + 1 < len(headings) else len(text)
            return text[heading.start() : end].rstrip("\n") + "\n"
    return None


def recorded_sha256(section: str) -> str | None:
    """The package sha256 a section records, None when it records none (older releases)."""
    found = _SHA256.search(section)
    return found.group(1) if found else None


def with_section(existing: str | None, section: Section, tag_prefix: str) -> str:
    """`existing` (None: no CHANGELOG.md yet) with the section for `section.version` on top."""
    text = existing if existing is not None else HEADER.format(prefix=tag_prefix)
    new = render(section)
    headings = list(_SECTION.finditer(text))
    for n, heading in enumerate(headings):
        if heading.group(1) == section.version:
            end = headings[n + 1].start() if n + 1 < len(headings) else len(text)
            return text[: heading.start()] + new + ("\n" if end < len(text) else "") + text[end:]
    if headings:
        at = headings[0].start()
        return text[:at] + new + "\n" + text[at:]
    return text.rstrip("\n") + "\n\n" + new
