"""Deck settings, declared: `[tool.ml-anki]` in the project's `pyproject.toml`, checked like cards.

Every key is declared once in `OPTIONS` with its check, its default (none: required) and whether
it is a promise to learners (changing it breaks their updates). A config is read in one pass that
collects every problem, as `pyproject.toml:line:col` where the key is found; unknown keys are
warnings with the closest known key. The deck version is the project's own `[project] version`,
so one number names a release everywhere: the package file name, the deck description and the
changelog.

What a deck *is* (`DeckConfig`) is kept apart from how one run goes (`RunSettings`: the clock,
the render cache, the number of processes), which never changes a byte of the deck.
"""

from __future__ import annotations

import difflib
import os
import re
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import strings
from .errors import Problem, SourceError, SourceSpan
from .files import read_input, read_text
from .notetype import Kind

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_VERSION = re.compile(r"\d+\.\d+\.\d+")

ID_MIN_PLAUSIBLE = 1 << 30
"""Below this an id was picked by hand (1, 12345, 20240101): other decks pick the same ones.
genanki, which most deck generators use, recommends random ids from 2**30 up."""
ID_MAX = (1 << 53) - 1
"""Anki stores ids as 64-bit integers, but AnkiConnect and Anki's own web views pass them through
JSON and JavaScript numbers, which are exact only up to 2**53 - 1."""
NAMESPACE_MIN_LENGTH = 8
"""Shorter namespaces ('deck', 'vocab') are the ones two authors pick independently."""

INIT_HINT = "run `ml-anki init --print-ids` for fresh ones"


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How one run goes; none of it changes what the deck contains."""

    now: int
    """Seconds since the epoch used for new modification times: `SOURCE_DATE_EPOCH` or the clock."""
    cache_dir: Path | None
    """Where rendered notes are cached (`ML_ANKI_CACHE_DIR`, else the user cache dir); None: off."""
    workers: int
    """Processes that render notes when there are many (the CPUs this process may use)."""


@dataclass(frozen=True, slots=True)
class DeckConfig:
    root: Path
    """Directory holding pyproject.toml; relative settings resolve against it."""
    deck_name: str
    """Anki matches decks by name: renaming it splits learners' decks in two."""
    deck_slug: str
    """File-name form of the deck: `dist/<slug>-v<version>.apkg`."""
    namespace: str
    """Note GUIDs derive from this and the note id; changing it duplicates every note."""
    notetype_id: int
    notetype_name: str
    notetype_ids: Mapping[Kind, int | None]
    """Per note type, its id (None: not configured; only the Q&A one is required)."""
    notetype_names: Mapping[Kind, str]
    deck_id: int
    tag_prefix: str
    """Every tag the deck sets lives under this prefix (Anki replaces a note's tags on update)."""
    language: str
    """Language of everything learners read besides the cards (a key of `strings.TABLES`)."""
    version: str
    """The deck version, `[project] version`."""
    cards_dir: Path
    media_dir: Path
    out_dir: Path
    lock_path: Path
    run: RunSettings
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    """What looked wrong in the config without stopping the build (unknown keys, unsafe ids)."""

    def with_paths(self, cards_dir: Path | None = None, out_dir: Path | None = None) -> DeckConfig:
        return replace(
            self,
            cards_dir=cards_dir if cards_dir is not None else self.cards_dir,
            out_dir=out_dir if out_dir is not None else self.out_dir,
        )

    @property
    def strings(self) -> strings.Strings:
        """What learners read, in the deck's language."""
        return strings.for_language(self.language)

    @property
    def package_path(self) -> Path:
        return self.package_file(self.version)

    def package_file(self, version: str) -> Path:
        """Where the deck of `version` is written (and the last release is looked for)."""
        return self.out_dir / f"{self.deck_slug}-v{version}.apkg"


# ---------------------------------------------------------------------------------------------
# The declared options

Check = Callable[[object], str | None]
"""Why a value is wrong, said so that the author knows what to write instead; None: fine."""


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def _slug(value: object) -> str | None:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        return f"must be lower-case letters, digits and '-' (it names files), got {value!r}"
    return None


def _anki_id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number (an Anki id), got {value!r}; {INIT_HINT}"
    if not 1 <= value <= ID_MAX:
        return f"must be between 1 and {ID_MAX} (2**53 - 1), got {value}; {INIT_HINT}"
    return None


def _language(value: object) -> str | None:
    if value not in strings.TABLES:
        choices = " or ".join(repr(code) for code in strings.LANGUAGES)
        return (
            f"must be {choices} (the language learners read the deck's own texts in), got {value!r}"
        )
    return None


@dataclass(frozen=True, slots=True)
class Option:
    """One key of `[tool.ml-anki]`."""

    key: str
    check: Check
    default: str | None
    """Used when the key is absent (unless `default_key` says otherwise)."""
    promise: bool
    """A promise to learners: changing it after a release breaks their updates."""
    help: str
    """What it means and how to choose it (README's configuration table says the same)."""
    default_key: str | None = None
    """Used when the key is absent: the value of this other key."""
    optional: bool = False
    """May be absent, without a default (None): needed only by decks that use it."""

    @property
    def required(self) -> bool:
        return self.default is None and self.default_key is None and not self.optional


NOTETYPE_KEYS: Mapping[Kind, tuple[str, str]] = {
    "qa": ("notetype-id", "notetype-name"),
    "reverse": ("reverse-notetype-id", "reverse-notetype-name"),
    "cloze": ("cloze-notetype-id", "cloze-notetype-name"),
}
"""Per note type, the keys of its id and its name (`init` draws the ids)."""

OPTIONS: tuple[Option, ...] = (
    Option("deck-name", _text, None, True,
           "the deck's name in Anki; Anki matches decks by name, so keep it stable"),
    Option("deck-slug", _slug, None, False,
           "file name of the deck: <out>/<slug>-v<version>.apkg"),
    Option("namespace", _text, None, True,
           "note GUIDs derive from it and each note's id; unique to this deck, never changed"),
    Option("notetype-id", _anki_id, None, True,
           "the note type's Anki id; random, unique to this deck, never changed"),
    Option("notetype-name", _text, "ml-anki Q&A", False,
           "the note type's name as learners see it in Anki"),
    Option("deck-id", _anki_id, None, True,
           "the deck's Anki id; random, unique to this deck, never changed"),
    Option("tag-prefix", _text, None, True,
           "every tag the deck sets is under it", default_key="deck-slug"),
    Option("language", _language, "en", False,
           "language of the deck description, what's new and retired notes: 'en' or 'ko'"),
    Option("cards", _text, "cards", False, "directory of card Markdown files"),
    Option("media", _text, "media", False, "directory of figures"),
    Option("out", _text, "dist", False, "directory the .apkg is written to"),
    Option("lock", _text, "ml-anki.lock", False, "the lock file (commit it)"),
    Option(NOTETYPE_KEYS["reverse"][0], _anki_id, None, True,
           "the reverse note type's Anki id (needed once a note is a reverse note); random, "
           "unique to this deck, never changed", optional=True),
    Option(NOTETYPE_KEYS["reverse"][1], _text, "ml-anki Reverse", False,
           "the reverse note type's name as learners see it in Anki"),
    Option(NOTETYPE_KEYS["cloze"][0], _anki_id, None, True,
           "the cloze note type's Anki id (needed once a note is a cloze note); random, "
           "unique to this deck, never changed", optional=True),
    Option(NOTETYPE_KEYS["cloze"][1], _text, "ml-anki Cloze", False,
           "the cloze note type's name as learners see it in Anki"),
)  # fmt: skip
_BY_KEY = {option.key: option for option in OPTIONS}

THIS_REPOSITORY: Mapping[str, object] = {
    "deck-name": "ML 면접 질문",
    "namespace": "ml-interview",
    "notetype-id": 1764374400001,
    "deck-id": 1764374400002,
    "reverse-notetype-id": 1612353355347037,
    "cloze-notetype-id": 4786872303782302,
}
"""The identity of the deck ml-anki ships as its example. Every other deck must differ in each of
these: authors start from a copy of this repository's pyproject.toml."""

LINUX_COMMANDS: Mapping[str, object] = {
    "deck-name": "Linux commands",
    "namespace": "linux-commands-3ed16e432ef94c53",
    "notetype-id": 2999283676032039,
    "deck-id": 5972863854196962,
    "reverse-notetype-id": 1521942465366522,
    "cloze-notetype-id": 8723204684178674,
}
"""The identity of `examples/linux-commands/`, which authors copy to start a deck of their own."""
EXAMPLES = (THIS_REPOSITORY, LINUX_COMMANDS)


# ---------------------------------------------------------------------------------------------
# Reading


def find_project(start: Path) -> Path:
    """The nearest directory at or above `start` whose pyproject.toml has `[tool.ml-anki]`."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _declares_a_deck(
            # Only a look: `load` reports a file that is not UTF-8, naming the byte.
            read_input(candidate).decode("utf-8", "replace")
        ):
            return directory
    raise SourceError.single(
        SourceSpan(start / "pyproject.toml"),
        "no pyproject.toml with a [tool.ml-anki] table here or in any parent directory; "
        "run ml-anki inside the deck's project, or start one with `ml-anki init`",
    )


def _declares_a_deck(text: str) -> bool:
    if "ml-anki" not in text:
        return False
    try:
        return "ml-anki" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "[tool.ml-anki]" in text  # ours, broken: `load` says where


def run_settings(now: int | None = None) -> tuple[RunSettings, list[Problem]]:
    """The clock, the cache and the processes, from the environment."""
    problems: list[Problem] = []
    if now is None:
        raw = os.environ.get("SOURCE_DATE_EPOCH")
        if raw is None or raw == "":
            now = int(time.time())
        elif raw.isdigit():
            now = int(raw)
        else:
            now = 0
            problems.append(
                Problem(
                    None,
                    "error",
                    f"the environment variable SOURCE_DATE_EPOCH must be whole seconds since "
                    f"1970, got {raw!r}; set it to e.g. $(git log -1 --format=%ct), or unset it",
                )
            )
    return RunSettings(now, default_cache_dir(), available_cpus()), problems


def default_cache_dir() -> Path:
    override = os.environ.get("ML_ANKI_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_path

    return user_cache_path("ml-anki", appauthor=False)


def available_cpus() -> int:
    """CPUs this process may run on (a container's quota, not the host's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def load(root: Path, now: int | None = None) -> DeckConfig:
    """Read and check the whole config; every problem is reported at once (`SourceError`)."""
    path = root / "pyproject.toml"
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError.single(_decode_error_span(path, exc), f"not valid TOML: {_reason(exc)}")
    places = _Places(path, text)
    problems: list[Problem] = []

    version = data.get("project", {}).get("version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        problems.append(
            Problem(
                places.value("project", "version"),
                "error",
                f"[project] version must look like 1.2.3 (it names the release), got {version!r}",
            )
        )
    table = data.get("tool", {}).get("ml-anki")
    if not isinstance(table, dict):
        raise SourceError(
            problems
            + [Problem(SourceSpan(path), "error", "missing [tool.ml-anki] table (see README: "
                       "Configuration, or start a deck with `ml-anki init`)")]
        )  # fmt: skip

    values: dict[str, object] = {}
    for option in OPTIONS:
        if option.key in table:
            value = table[option.key]
            wrong = option.check(value)
            if wrong is not None:
                problems.append(
                    Problem(places.value(_TABLE, option.key), "error", f"{option.key} {wrong}")
                )
            values[option.key] = value
        elif option.default is not None:
            values[option.key] = option.default
        elif option.default_key is not None:
            values[option.key] = table.get(option.default_key)
        elif option.optional:
            values[option.key] = None
        else:
            hint = f"; {INIT_HINT}" if option.check is _anki_id or option.key == "namespace" else ""
            problems.append(
                Problem(
                    places.table(_TABLE),
                    "error",
                    f"[tool.ml-anki] has no {option.key}, which is required: {option.help}{hint}",
                )
            )
    problems += _unknown_keys(table, places)
    problems += identity_warnings(values, places)
    run, run_problems = run_settings(now)
    problems += run_problems
    if any(p.severity == "error" for p in problems):
        raise SourceError(problems)

    def text_value(key: str) -> str:
        value = values[key]
        assert isinstance(value, str)
        return value

    def int_value(key: str) -> int:
        value = values[key]
        assert isinstance(value, int)
        return value

    assert isinstance(version, str)
    return DeckConfig(
        root=root,
        deck_name=text_value("deck-name"),
        deck_slug=text_value("deck-slug"),
        namespace=text_value("namespace"),
        notetype_id=int_value("notetype-id"),
        notetype_name=text_value("notetype-name"),
        notetype_ids={
            kind: id_value if isinstance(id_value := values[id_key], int) else None
            for kind, (id_key, _) in NOTETYPE_KEYS.items()
        },
        notetype_names={
            kind: text_value(name_key) for kind, (_, name_key) in NOTETYPE_KEYS.items()
        },
        deck_id=int_value("deck-id"),
        tag_prefix=text_value("tag-prefix"),
        language=text_value("language"),
        version=version,
        cards_dir=root / text_value("cards"),
        media_dir=root / text_value("media"),
        out_dir=root / text_value("out"),
        lock_path=root / text_value("lock"),
        run=run,
        warnings=tuple(sorted(problems)),
    )


_TABLE = "tool.ml-anki"


def _unknown_keys(table: Mapping[str, object], places: _Places) -> list[Problem]:
    problems = []
    for key in table:
        if key in _BY_KEY:
            continue
        close = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(_BY_KEY)
        problems.append(
            Problem(
                places.key(_TABLE, key),
                "warning",
                f"unknown key {key!r} in [tool.ml-anki] is ignored; {hint}",
            )
        )
    return problems


_SHARED = {
    "namespace": "learners who have both decks would see the notes of one overwritten by the "
    "notes of the other with the same ids when they import it",
    **{
        id_key: "importing one deck would replace the other's card templates in learners' "
        "collections, and its notes would conflict with the other's instead of updating"
        for id_key, _ in NOTETYPE_KEYS.values()
    },
    "deck-id": "tools that find decks by id would take one deck for the other",
}
"""What sharing each part of the identity with another deck does to learners."""


def identity_warnings(values: Mapping[str, object], places: _Places) -> list[Problem]:
    """Identities another deck has too: importing one deck would overwrite the other's notes.

    The deck ml-anki ships is recognised by its whole identity, so it is not warned about
    itself; a copy that changed some of it (a new name, the same namespace) is.
    """
    problems = []
    for example in EXAMPLES:
        if all(values.get(key) == value for key, value in example.items()):
            continue
        for key, consequence in _SHARED.items():
            if values.get(key) is not None and values.get(key) == example.get(key):
                problems.append(
                    Problem(
                        places.value(_TABLE, key),
                        "warning",
                        f"{key} {values[key]!r} belongs to ml-anki's example deck "
                        f"({example['deck-name']}): {consequence}; {INIT_HINT}",
                    )
                )
    for key, consequence in _SHARED.items():
        value = values.get(key)
        if key == "namespace":
            implausible = isinstance(value, str) and len(value) < NAMESPACE_MIN_LENGTH
            why = "is short enough for another deck to use too"
        else:
            implausible = isinstance(value, int) and 1 <= value < ID_MIN_PLAUSIBLE
            why = "is implausibly small: other decks pick such ids too"
        if implausible:
            problems.append(
                Problem(
                    places.value(_TABLE, key),
                    "warning",
                    f"{key} {value!r} {why}, and {consequence}; {INIT_HINT}",
                )
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Positions: tomllib gives values, not where they are, so keys are located in the text.

_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*(?P<name>[^\[\]#]+?)[ \t]*\]\]?[ \t]*(?:#.*)?$")
_KEY_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<key>\"(?:[^\"\\]|\\.)*\"|'[^']*'|[A-Za-z0-9_-]+)[ \t]*=[ \t]*"
)
_DECODE_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


class _Places:
    """Where each `key = value` of each table is, as `SourceSpan`s (line 0 when not found:
    dotted keys and inline tables are valid TOML, only not located)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.headers: dict[str, int] = {}
        self.keys: dict[tuple[str, str], tuple[int, int, int]] = {}
        table = ""
        for number, line in enumerate(text.split("\n"), start=1):
            header = _HEADER.match(line)
            if header:
                table = re.sub(r"[ \t\"']", "", header.group("name"))
                self.headers.setdefault(table, number)
                continue
            key = _KEY_LINE.match(line)
            if key:
                name = key.group("key").strip("\"'")
                where = (number, len(key.group("indent")) + 1, key.end() + 1)
                self.keys.setdefault((table, name), where)

    def table(self, table: str) -> SourceSpan:
        return SourceSpan(self.path, self.headers.get(table, 0), 1 if table in self.headers else 0)

    def key(self, table: str, key: str) -> SourceSpan:
        found = self.keys.get((table, key))
        return SourceSpan(self.path, found[0], found[1]) if found else self.table(table)

    def value(self, table: str, key: str) -> SourceSpan:
        found = self.keys.get((table, key))
        return SourceSpan(self.path, found[0], found[2]) if found else self.table(table)


def _decode_error_span(path: Path, exc: tomllib.TOMLDecodeError) -> SourceSpan:
    at = _DECODE_AT.search(str(exc))
    return SourceSpan(path, int(at.group(1)), int(at.group(2))) if at else SourceSpan(path)


def _reason(exc: tomllib.TOMLDecodeError) -> str:
    return _DECODE_AT.sub("", str(exc)).strip()
