"""Raw HTML in a card, judged by the card sanitizer itself: what it removes (the rules
`raw-html` and `heading-in-answer`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from ..errors import Problem, SourceSpan
from ..render import sanitize

_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>")


class _FirstTag(HTMLParser):
    """The first start tag in some HTML, with its attributes; and whether `marker` text remains."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = name
        self.name: str | None = None
        self.attributes: list[tuple[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.name is None and (self.wanted is None or tag == self.wanted):
            self.name, self.attributes = tag, attrs

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


@dataclass(frozen=True, slots=True)
class _Sanitized:
    kept: bool
    """The tag itself survives."""
    attributes: frozenset[str]
    """Names of the attributes that survive with it."""
    content_kept: bool
    """Text inside a removed tag stays on the card."""


# Tags that HTML only allows inside others: probe them in place, or the parser drops them.
_PROBE_CONTEXT = {
    "td": ("<table><tr>", "</tr></table>"), "th": ("<table><tr>", "</tr></table>"),
    "tr": ("<table>", "</table>"), "tbody": ("<table>", "</table>"),
    "thead": ("<table>", "</table>"), "tfoot": ("<table>", "</table>"),
    "li": ("<ul>", "</ul>"), "dt": ("<dl>", "</dl>"), "dd": ("<dl>", "</dl>"),
    "summary": ("<details>", "</details>"),
}  # fmt: skip
_PROBE_TEXT = "ml-anki-probe"


@functools.cache
def _sanitized(tag_html: str) -> tuple[str, _Sanitized]:
    """Ask the card sanitizer itself what it keeps of one start tag."""
    parsed = _FirstTag()
    parsed.feed(tag_html)
    name = parsed.name or ""
    before, after = _PROBE_CONTEXT.get(name, ("", ""))
    cleaned = sanitize(f"{before}{tag_html}{_PROBE_TEXT}</{name}>{after}")
    result = _FirstTag(name)
    result.feed(cleaned)
    kept_attributes = (
        frozenset(attr for attr, _ in result.attributes) if result.name else frozenset()
    )
    return name, _Sanitized(result.name is not None, kept_attributes, _PROBE_TEXT in result.text)


def sanitized_tag(tag_html: str) -> _Sanitized:
    return _sanitized(tag_html)[1]


def html_problems(masked: str, at: Callable[[int], SourceSpan]) -> list[Problem]:
    """Raw HTML start tags, and what the sanitizer will take away from each."""
    problems = []
    for match in _START_TAG.finditer(masked):
        name, result = _sanitized(match.group())
        where = at(match.start())
        if not name:
            continue
        if not result.kept:
            inside = "its text stays" if result.content_kept else "with everything inside it"
            message = (
                f"raw HTML <{name}> is removed from the card by the sanitizer ({inside}); cards "
                "keep formatting tags such as <b>, <br>, <sub>, <sup>, <kbd>, <details> and tables"
            )
            problems.append(Problem(where, "warning", message))
            continue
        if name == "img":
            message = (
                "raw HTML <img> is not packaged, so learners would see a broken image; show "
                "figures with ![alt](../media/name.svg)"
            )
            problems.append(Problem(where, "warning", message))
        parsed = _FirstTag()
        parsed.feed(match.group())
        for attribute, value in parsed.attributes:
            if attribute in result.attributes or (name, attribute) == ("img", "src"):
                continue
            shown = attribute if value is None else f"{attribute}={value!r}"
            message = (
                f"raw HTML <{name}>: the sanitizer removes {shown} (cards keep no scripts, event "
                "handlers, inline styles or links other than http, https and mailto)"
            )
            problems.append(Problem(where, "warning", message))
    return problems
