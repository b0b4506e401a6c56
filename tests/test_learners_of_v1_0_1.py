"""Nothing changes for learners of the released deck: v1.0.1's sources, built by this code.

`tests/fixtures/v1.0.1/` holds v1.0.1's own cards, media, lock and note type (templates and CSS,
as its package had them), so this proof does not move while `cards/` and the note type are
edited, and `released.json` what its package was (built at commit 637eee3): a hash of its zip
entries, its GUIDs and its note type's id and mod. The package itself is not kept: the sources
rebuild it, and the hash proves the rebuild is byte for byte what learners imported. The last
test proves that today's note type reaches those learners with a newer mod.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from learner import Learner
from ml_anki import apkg, notetype
from ml_anki.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "v1.0.1"
RELEASED = json.loads((FIXTURE / "released.json").read_text(encoding="utf-8"))
RELEASED_AT = 1_764_400_000
"""After every mod in the v1.0.1 lock; any later time would do."""
V1_0_1_LOOK = notetype.NoteTypeLook(
    (
        (
            (FIXTURE / "notetype" / "front.html").read_text(encoding="utf-8"),
            (FIXTURE / "notetype" / "back.html").read_text(encoding="utf-8"),
        ),
    ),
    (FIXTURE / "notetype" / "card.css").read_text(encoding="utf-8"),
)


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """v1.0.1's sources, with today's note type."""
    root = tmp_path / "v1.0.1"
    for name in ("cards", "media"):
        shutil.copytree(FIXTURE / name, root / name)
    for name in ("pyproject.toml", "ml-anki.lock"):
        shutil.copy(FIXTURE / name, root / name)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def v1_0_1(sources: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """v1.0.1's sources with v1.0.1's note type (templates and CSS)."""
    monkeypatch.setattr(notetype, "look", lambda kind="qa": V1_0_1_LOOK)
    return sources


@pytest.fixture
def released(sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The v1.0.1 package learners imported, rebuilt from its sources and proven identical."""
    with monkeypatch.context() as patch:
        patch.setattr(notetype, "look", lambda kind="qa": V1_0_1_LOOK)
        built = build(sources)
    assert entries_sha256(built) == RELEASED["entries_sha256"], "v1.0.1 no longer rebuilds"
    package = tmp_path / RELEASED["package"]
    shutil.move(built, package)
    return package


def build(root: Path) -> Path:
    result = CliRunner().invoke(main, ["build"], env={"SOURCE_DATE_EPOCH": str(RELEASED_AT)})
    assert result.exit_code == 0, result.output
    return root / result.stdout.strip().splitlines()[-1]


def entries_sha256(package: Path) -> str:
    """A hash of the package's zip entries, the collection without the SQLite library's version
    stamp (its header records which SQLite wrote it: bytes 92–99)."""
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        found = {info.filename: archive.read(info) for info in archive.infolist()}
        dates = {info.date_time for info in archive.infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    collection = bytearray(found["collection.anki2"])
    collection[92:100] = bytes(8)
    found["collection.anki2"] = bytes(collection)
    digest = hashlib.sha256()
    for name in sorted(found):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(found[name]).digest())
    return digest.hexdigest()


def test_the_released_sources_build_the_released_package(v1_0_1: Path) -> None:
    lock = (v1_0_1 / "ml-anki.lock").read_text()
    built = build(v1_0_1)
    assert built == v1_0_1 / "dist" / "ml-interview-v1.0.1.apkg"
    assert (v1_0_1 / "ml-anki.lock").read_text() == lock, "the lock is untouched"
    assert entries_sha256(built) == RELEASED["entries_sha256"]
    assert [n.guid for n in apkg.read(built).notes] == RELEASED["guids"]


def test_importing_over_v1_0_1_updates_no_note_and_creates_none(
    released: Path, v1_0_1: Path, learner: Learner
) -> None:
    first = learner.import_deck(released)
    assert len(first.new) == 46
    card_ids = sorted(learner.col.db.list("select id from cards"))
    model_before = learner.col.models.get(1764374400001)
    assert model_before is not None

    log = learner.import_deck(build(v1_0_1))
    assert (log.new, log.updated, log.conflicting) == ([], [], [])
    assert len(log.duplicate) == 46, "every note matched by GUID, nothing to update"
    assert sorted(learner.col.db.list("select id from cards")) == card_ids
    models = [(m.id, m.name) for m in learner.col.models.all_names_and_ids()]
    assert [m for m in models if m[1].startswith("ml-anki")] == [(1764374400001, "ml-anki Q&A")]

    rebuilt = apkg.read(v1_0_1 / "dist" / RELEASED["package"])
    assert [n.guid for n in rebuilt.notes] == RELEASED["guids"]
    (released_type,) = apkg.read(released).notetypes
    (rebuilt_type,) = rebuilt.notetypes
    assert rebuilt_type.id == released_type.id == RELEASED["notetype"]["id"] == 1764374400001
    assert rebuilt_type.fields == released_type.fields
    assert [f.id for f in rebuilt_type.fields] == list(range(920_001, 920_010))
    assert [(t.name, t.id) for t in rebuilt_type.templates] == [("Question → Answer", 930_001)]


def test_learners_of_v1_0_1_get_todays_note_type_and_keep_their_cards(
    released: Path, sources: Path, learner: Learner
) -> None:
    """The note type changed after v1.0.1 (CSS for touch screens): its fingerprint gives it a
    newer mod, so Anki's importer applies it, and only it."""
    learner.import_deck(released)
    card_ids = sorted(learner.col.db.list("select id from cards"))
    assert notetype.look().css != V1_0_1_LOOK.css

    log = learner.import_deck(build(sources))
    assert (log.new, log.updated, log.conflicting) == ([], [], [])
    model = learner.col.models.get(RELEASED["notetype"]["id"])
    assert model is not None
    assert model["css"] == notetype.look().css
    assert model["mod"] > RELEASED["notetype"]["mod"]
    assert sorted(learner.col.db.list("select id from cards")) == card_ids
