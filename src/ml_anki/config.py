"""Deck settings, read from `[tool.ml-anki]` in the project's `pyproject.toml`.

The deck version is the project's own `[project] version`, so one number names a release
everywhere: the package file name, the deck description and the changelog.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import SourceError, SourceSpan

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_VERSION = re.compile(r"\d+\.\d+\.\d+")


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
    deck_id: int
    tag_prefix: str
    """Every tag the deck sets lives under this prefix (Anki replaces a note's tags on update)."""
    version: str
    """The deck version, `[project] version`."""
    cards_dir: Path
    media_dir: Path
    out_dir: Path
    lock_path: Path
    now: int
    """Seconds since the epoch used for new modification times: `SOURCE_DATE_EPOCH` or the clock."""
    cache_dir: Path | None
    """Where rendered notes are cached (`ML_ANKI_CACHE_DIR`, else the user cache dir); None: off."""
    workers: int
    """Processes that render notes when there are many (the CPUs this process may use)."""

    def with_paths(self, cards_dir: Path | None = None, out_dir: Path | None = None) -> DeckConfig:
        return replace(
            self,
            cards_dir=cards_dir if cards_dir is not None else self.cards_dir,
            out_dir=out_dir if out_dir is not None else self.out_dir,
        )

    def without_cache(self) -> DeckConfig:
        return replace(self, cache_dir=None)

    @property
    def package_path(self) -> Path:
        return self.out_dir / f"{self.deck_slug}-v{self.version}.apkg"


def find_project(start: Path) -> Path:
    """The nearest directory at or above `start` whose pyproject.toml has `[tool.ml-anki]`."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "[tool.ml-anki]" in candidate.read_text(encoding="utf-8"):
            return directory
    raise SourceError.single(
        SourceSpan(start / "pyproject.toml"),
        "no pyproject.toml with a [tool.ml-anki] table here or in any parent directory; "
        "run ml-anki inside the deck's project (see README: Configuration)",
    )


def now_from_environment() -> int:
    """`SOURCE_DATE_EPOCH` (reproducible-builds.org) when set, else the clock."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return int(time.time())
    if not raw.isdigit():
        raise SourceError.single(
            SourceSpan(Path("SOURCE_DATE_EPOCH")),
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {raw!r}",
        )
    return int(raw)


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
    path = root / "pyproject.toml"
    where = SourceSpan(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceError.single(where, f"pyproject.toml is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("ml-anki")
    if not isinstance(table, dict):
        raise SourceError.single(where, "missing [tool.ml-anki] table (see README: Configuration)")
    version = data.get("project", {}).get("version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise SourceError.single(
            where, f"[project] version must look like 1.2.3 (it names the release), got {version!r}"
        )

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise SourceError.single(where, f"[tool.ml-anki] {key} must be a non-empty string")
        return value

    def integer(key: str) -> int:
        value = table.get(key)
        if not isinstance(value, int) or value <= 0:
            raise SourceError.single(
                where, f"[tool.ml-anki] {key} must be a positive integer, fixed forever"
            )
        return value

    slug = text("deck-slug")
    if not _SLUG.fullmatch(slug):
        raise SourceError.single(
            where,
            f"[tool.ml-anki] deck-slug must be lower-case letters, digits and '-', got {slug!r}",
        )
    return DeckConfig(
        root=root,
        deck_name=text("deck-name"),
        deck_slug=slug,
        namespace=text("namespace"),
        notetype_id=integer("notetype-id"),
        notetype_name=text("notetype-name"),
        deck_id=integer("deck-id"),
        tag_prefix=text("tag-prefix"),
        version=version,
        cards_dir=root / text("cards", "cards"),
        media_dir=root / text("media", "media"),
        out_dir=root / text("out", "dist"),
        lock_path=root / text("lock", "ml-anki.lock"),
        now=now_from_environment() if now is None else now,
        cache_dir=default_cache_dir(),
        workers=available_cpus(),
    )
