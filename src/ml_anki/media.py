"""Figures: resolve a card's image path, confine it to `media/`, and give it a content-addressed name.

Anki keeps every deck's media in one flat folder per learner, so names must be flat, ASCII and
unique to their content: `relu-3f9c2a1b.svg`. A changed figure gets a new name, which is the only
way it reaches learners (the importer never overwrites a file it already has under that name).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from .errors import describe

ALLOWED_SUFFIXES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp"})
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class MediaFile:
    path: Path
    """The file inside media/ (symlinks resolved)."""
    name: str
    """Its name in the package and in the learner's collection.media."""


class MediaRefError(ValueError):
    """A figure reference that cannot be shipped; the message says why and what to do."""


def media_name(path: Path, data: bytes) -> str:
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_JUNK.sub("-", stem).strip("-")[:40].strip("-") or "figure"
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f"{slug}-{digest}{path.suffix.lower()}"


def resolve(ref: str, card_path: Path, media_dir: Path) -> MediaFile:
    """The media file an `![alt](ref)` in `card_path` points to, or `MediaRefError`."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc:
        raise MediaRefError(
            f"remote image {ref!r}: cards are reviewed offline on phones; save the file in media/ "
            "and link it with a relative path"
        )
    rel = unquote(parts.path)
    if not rel:
        raise MediaRefError("image without a path")
    if PurePosixPath(rel).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", rel):
        raise MediaRefError(
            f"absolute image path {ref!r}: write it relative to the card file, e.g. ../media/name.svg"
        )
    media_root = media_dir.resolve()
    try:
        target = (card_path.parent / rel).resolve()
    except (OSError, RuntimeError):  # Python raises RuntimeError on a symlink loop
        raise MediaRefError(
            f"image {ref!r} is a symbolic link in a loop; point it at a file"
        ) from None
    if not target.is_relative_to(media_root):
        raise MediaRefError(
            f"image {ref!r} is outside media/ ({media_dir}); figures must live in media/ "
            "(symlinks pointing elsewhere are refused too)"
        )
    if not target.is_file():
        raise MediaRefError(f"image {ref!r} not found{_listing(media_dir)}")
    if target.suffix.lower() not in ALLOWED_SUFFIXES:
        raise MediaRefError(
            f"image {ref!r} has an unsupported type; use one of {', '.join(sorted(ALLOWED_SUFFIXES))}"
        )
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise MediaRefError(f"image {ref!r} cannot be read: {describe(exc)}") from None
    kind = target.suffix.lower()
    if not _looks_like(kind, data):
        raise MediaRefError(
            f"image {ref!r} is not a {kind[1:].upper()} file (its bytes do not start like one), "
            "so learners would see a broken image; export the figure again"
        )
    return MediaFile(target, media_name(target, data))


def _looks_like(suffix: str, data: bytes) -> bool:
    """Whether the bytes begin as an image of this type does (its signature, or SVG's tag)."""
    if suffix == ".svg":
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        return head.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in (
            data.lower()
        )
    if suffix == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if suffix in (".jpg", ".jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if suffix == ".gif":
        return data.startswith((b"GIF87a", b"GIF89a"))
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"  # .webp


def _listing(media_dir: Path) -> str:
    if not media_dir.is_dir():
        return f" (there is no {media_dir.name}/ directory)"
    names = sorted(p.name for p in media_dir.iterdir() if p.is_file())
    if not names:
        return f" ({media_dir.name}/ is empty)"
    shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    return f" (files in {media_dir.name}/: {shown})"
