"""The named rules `ml-anki check` applies beyond structure, and how a source silences one.

Every problem lint reports carries its rule's id. A rule can be silenced where a reviewer sees
it, in the Markdown: `<!-- ml-anki: allow long-answer -->` inside a note silences it for that
note, before a file's first note for the whole file (several ids: `allow a, b`). HTML comments
never reach a card. Rules are functions over plain data in `lint`; this module only names them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from ..errors import Problem, Severity

Scope = Literal["note", "file", "deck"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    """What `allow` names, and what `check --format json` reports as `rule`."""
    severity: Severity
    scope: Scope
    """What one finding concerns: a note, a whole card file, or the deck (media, the lock)."""
    description: str
    """One line, for `ml-anki check --rules`."""


RULES = (
    Rule("math-delimiters", "error", "note",
         "`$`/`$$` that do not pair up as math the way the renderer reads them"),
    Rule("tex", "error", "note",
         "TeX MathJax refuses: unknown commands, missing arguments, unbalanced braces, scripts"),
    Rule("table-pipe", "error", "note", "a `|` inside `$…$` in a table row splits the cell"),
    Rule("list-indent", "error", "note",
         "display math indented 1–3 spaces under a list item leaves the list (a warning for a "
         "paragraph)"),
    Rule("control-character", "error", "note",
         "invisible control characters; U+001F breaks the whole deck's import"),
    Rule("raw-html", "warning", "note", "raw HTML that the card sanitizer changes or removes"),
    Rule("heading-in-answer", "warning", "note",
         "a `###` heading inside an answer, which the sanitizer removes"),
    Rule("long-answer", "warning", "note", "an answer over 6,000 characters of Markdown"),
    Rule("unused-media", "warning", "deck", "a file in media/ that no card shows"),
    Rule("changed-question", "warning", "deck",
         "a released note id that now asks a different question"),
)  # fmt: skip
BY_ID = {rule.id: rule for rule in RULES}

_ALLOW = re.compile(r"<!--\s*ml-anki:\s*allow\s+([A-Za-z0-9_,\s-]+?)\s*-->")


def tagged(rule_id: str, problems: Iterable[Problem]) -> list[Problem]:
    assert rule_id in BY_ID, rule_id
    return [replace(problem, rule=rule_id) for problem in problems]


def allowed(markdown: str) -> frozenset[str]:
    """The rule ids `<!-- ml-anki: allow … -->` comments in this Markdown silence."""
    ids: set[str] = set()
    for match in _ALLOW.finditer(markdown):
        ids.update(part for part in re.split(r"[\s,]+", match.group(1)) if part)
    return frozenset(ids)


def without(problems: Iterable[Problem], allow: frozenset[str]) -> list[Problem]:
    return [p for p in problems if not p.rule or p.rule not in allow]
