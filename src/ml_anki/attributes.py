"""What an author says about notes besides their text: the note type and tags.

Two places, both plain text on GitHub: YAML front matter at the top of a card file sets the
defaults for its notes, and an attribute block at the end of a note's id heading overrides them
for that note:

    ---
    note-type: reverse
    tags: [verbs, irregular]
    ---
    ## #ser {type=reverse tags="verbs irregular"}

A note whose text holds cloze deletions (`{{c1::…}}`) is a cloze note whatever the defaults say.
Every mistake is a `Problem` at its file, line and column, so one run reports all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, SourceSpan
from .notetype import KINDS, Kind

FRONT_MATTER_KEYS = ("note-type", "tags")
BLOCK_KEYS = ("type", "tags", "parent")
CLOZE = re.compile(r"\{\{c(\d+)::")
"""The opening of a cloze deletion, `{{c1::…}}` or `{{c1::…::hint}}`, as Anki reads it."""
_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_BLOCK_ITEM = re.compile(r'[ \t]*(?:([A-Za-z][\w-]*)=("[^"]*"|[^\s"]+)|(\S+))')
_RESERVED_TAGS = frozenset({"retired"})
"""ml-anki's own: `<prefix>::retired` marks notes that left the cards."""


@dataclass(frozen=True, slots=True)
class Attributes:
    kind: Kind | None = None
    """The note type asked for; None when not asked."""
    kind_where: SourceSpan | None = None
    """Where it was asked, for messages."""
    tags: tuple[str, ...] = ()
    """Without the deck's tag prefix, in the order written."""
    parent: str | None = None
    """`{parent=ls}`: the note whose question this one's card shows as context."""
    parent_where: SourceSpan | None = None


def front_matter(lines: list[str], path: Path) -> tuple[Attributes, int, list[Problem]]:
    """The front matter at the top of a file, the number of lines it takes (0: none), and the
    problems in it. Front matter starts at the very first line with `---` and ends with the
    next `---` (or `...`), as in Jekyll, Hugo, Pandoc and GitHub's own rendering."""
    if not lines or lines[0].rstrip() != "---":
        return Attributes(), 0, []
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        where = SourceSpan(path, 1, 1)
        return Attributes(), 0, [Problem(where, "error", "front matter opened here is never "
                                         "closed: end it with a line of '---'")]  # fmt: skip
    import yaml  # only files with front matter need a YAML parser

    text = "\n".join(lines[1:end])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 2, mark.column + 1) if mark is not None else (1, 0)
        reason = getattr(exc, "problem", None) or str(exc)
        message = f"front matter is not valid YAML: {reason}"
        return Attributes(), end + 1, [Problem(SourceSpan(path, line, col), "error", message)]
    if root is None:
        return Attributes(), end + 1, []
    if not isinstance(root, yaml.MappingNode):
        where = _at(path, root)
        message = "front matter must be 'key: value' lines (note-type, tags)"
        return Attributes(), end + 1, [Problem(where, "error", message)]
    problems: list[Problem] = []
    kind: Kind | None = None
    kind_where: SourceSpan | None = None
    tags: tuple[str, ...] = ()
    for key_node, value_node in root.value:
        key, where = str(key_node.value), _at(path, key_node)
        if key == "note-type":
            value_where = _at(path, value_node)
            if isinstance(value_node, yaml.ScalarNode):
                kind = _kind(str(value_node.value), value_where, "note-type", problems)
                kind_where = value_where
            else:
                problems.append(Problem(value_where, "error", _UNKNOWN_KIND.format("a list")))
        elif key == "tags":
            tags = _yaml_tags(value_node, path, problems)
        else:
            known = ", ".join(FRONT_MATTER_KEYS)
            problems.append(
                Problem(where, "error", f"unknown front matter key {key!r}; known keys: {known}")
            )
    return Attributes(kind, kind_where, tags), end + 1, problems


def _at(path: Path, node: object) -> SourceSpan:
    """A YAML node's place in the file: the front matter starts on the file's line 2."""
    mark = getattr(node, "start_mark", None)
    if mark is None:
        return SourceSpan(path, 1, 0)
    return SourceSpan(path, mark.line + 2, mark.column + 1)


def _yaml_tags(node: object, path: Path, problems: list[Problem]) -> tuple[str, ...]:
    import yaml

    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    tags: list[str] = []
    for item in items:
        where = _at(path, item)
        if not isinstance(item, yaml.ScalarNode) or item.tag != "tag:yaml.org,2002:str":
            problems.append(
                Problem(where, "error", "tags must be words, as in 'tags: [verbs, irregular]'")
            )
            continue
        tags += _checked_tags([str(item.value)], where, problems)
    return tuple(tags)


_UNKNOWN_KIND = "unknown note type {}: use qa, reverse or cloze"


def _kind(value: str, where: SourceSpan, key: str, problems: list[Problem]) -> Kind | None:
    if value in KINDS:
        return value
    problems.append(Problem(where, "error", _UNKNOWN_KIND.format(repr(value))))
    return None


def attribute_block(text: str, path: Path, line: int, col: int) -> tuple[Attributes, list[Problem]]:
    """`type=reverse tags="verbs irregular"`, the inside of `{…}` that starts at `col`."""
    problems: list[Problem] = []
    kind: Kind | None = None
    kind_where: SourceSpan | None = None
    tags: list[str] = []
    parent: str | None = None
    parent_where: SourceSpan | None = None
    seen: set[str] = set()
    position = 0
    while position < len(text):
        match = _BLOCK_ITEM.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        if not match.group(0).strip():
            continue
        start = match.start(1) if match.group(1) else match.start(3)
        where = SourceSpan(path, line, col + start)
        if match.group(3) is not None:
            problems.append(
                Problem(where, "error", f"{match.group(3)!r} in {{…}}: write key=value, as in "
                        '{type=reverse tags="verbs irregular"}')
            )  # fmt: skip
            continue
        key, value = match.group(1), match.group(2).strip('"')
        if key in seen:
            problems.append(Problem(where, "error", f"{key} is given twice in {{…}}"))
            continue
        seen.add(key)
        if key == "type":
            kind, kind_where = _kind(value, where, key, problems), where
        elif key == "tags":
            tags += _checked_tags(value.split(), where, problems)
        elif key == "parent":
            parent, parent_where = value.removeprefix("#"), where
        else:
            known = ", ".join(BLOCK_KEYS)
            problems.append(
                Problem(where, "error", f"unknown attribute {key!r} in {{…}}; known: {known}")
            )
    return Attributes(kind, kind_where, tuple(tags), parent, parent_where), problems


def _checked_tags(tags: list[str], where: SourceSpan, problems: list[Problem]) -> list[str]:
    kept = []
    for tag in tags:
        wrong = tag_problem(tag)
        if wrong is None:
            kept.append(tag)
        else:
            problems.append(Problem(where, "error", wrong))
    return kept


def tag_problem(tag: str) -> str | None:
    """Why Anki would not keep `tag` as one tag, or None."""
    if any(c.isspace() for c in tag):
        return (
            f"tag {tag!r} has a space: Anki splits tags on spaces, so it would become several "
            "tags; join its words with '-' or '_'"
        )
    bad = next((c for c in tag if ord(c) < 32 or c in '"\x7f'), None)
    if bad is not None:
        return f"tag {tag!r} has {bad!r}, which Anki removes from tags; leave it out"
    if not tag or any(not part for part in tag.split("::")):
        return f"tag {tag!r} has an empty level: '::' separates levels, as in 'verbs::irregular'"
    if tag.lower() in _RESERVED_TAGS:
        return f"tag {tag!r} is reserved: ml-anki tags notes that left the cards with it"
    return None


def cloze_numbers(text: str) -> list[int]:
    return sorted({int(number) for number in CLOZE.findall(text)})
