"""The render cache and parallel rendering change how fast a deck is built, never its bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import BASICS, Project
from ml_anki import build as build_mod
from ml_anki import cache as cache_mod
from ml_anki import config as config_mod
from ml_anki import render, source
from ml_anki.source import load, parse
from test_check_property import card_file


def deck_digest(project: Project, tmp_path: Path, name: str, **changes: object) -> str:
    config = config_mod.load(project.root, now=1_800_000_000)
    run = dataclasses.replace(config.run, **changes)
    config = dataclasses.replace(config, out_dir=tmp_path / name, lock_path=tmp_path / f"{name}.lock", run=run)
    result = build_mod.build(config)
    return hashlib.sha256(result.path.read_bytes()).hexdigest()


def many_notes(project: Project, count: int) -> None:
    body = "".join(
        f"## #n{i}\n\n### Question {i}?\n\n**Answer {i}** with $x_{{{i}}}^2$.\n\n```python\nx = {i}\n```\n\n"
        for i in range(count)
    )
    project.write("cards/02-many.md", body)


def test_fresh_cached_and_parallel_builds_write_the_same_bytes(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_notes(project, 40)
    cache_dir = tmp_path / "cache"
    uncached = deck_digest(project, tmp_path, "plain", cache_dir=None, workers=1)
    monkeypatch.setattr(render, "PARALLEL_FROM", 2)
    parallel_cold = deck_digest(project, tmp_path, "parallel", cache_dir=cache_dir, workers=2)
    with sqlite3.connect(cache_dir / "renders.sqlite3") as db:
        assert db.execute("select count(*) from renders").fetchone() == (43,)
    warm = deck_digest(project, tmp_path, "warm", cache_dir=cache_dir, workers=2)
    assert uncached == parallel_cold == warm


def test_a_cache_hit_still_notices_a_changed_figure(project: Project, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    before = deck_digest(project, tmp_path, "a", cache_dir=cache_dir, workers=1)
    project.write("media/relu.svg", '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>\n')
    after = deck_digest(project, tmp_path, "b", cache_dir=cache_dir, workers=1)
    fresh = deck_digest(project, tmp_path, "c", cache_dir=None, workers=1)
    assert before != after == fresh


def test_problems_are_reported_on_every_run_not_hidden_by_the_cache(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("relu.svg", "gone.svg"))
    for _ in range(2):
        result = project.cli("check")
        assert result.exit_code == 1
        assert "image '../media/gone.svg' not found" in result.stderr


def test_a_corrupt_cache_is_ignored(project: Project, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "renders.sqlite3").write_bytes(b"this is not sqlite")
    assert deck_digest(project, tmp_path, "x", cache_dir=cache_dir, workers=1) == deck_digest(
        project, tmp_path, "y", cache_dir=None, workers=1
    )


def test_a_tampered_deck_on_disk_is_rewritten_even_when_nothing_changed(project: Project) -> None:
    first = project.build().read_bytes()
    assert "already had exactly these bytes" in project.cli("build", "-v").stdout
    project.deck.write_bytes(first[:-10])
    result = project.cli("build", "-v")
    assert "already had exactly these bytes" not in result.stdout
    assert project.deck.read_bytes() == first


def test_lint_problems_are_reported_on_every_run_not_hidden_by_the_cache(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", r"The intercept $\frac{a}{b$."))
    for _ in range(2):
        result = project.cli("check")
        assert result.exit_code == 1
        assert result.stderr.startswith("cards/01-basics.md:38:24: error: unbalanced '{' in math")


def test_any_change_to_ml_ankis_own_files_changes_the_cache_epoch(tmp_path: Path) -> None:
    """Render and package caches share one key over the package's files: a change to the note
    type's schema, a lint rule, a template or the renderer invalidates both, with nothing to bump."""
    package = Path(cache_mod.__file__).parent
    copy = tmp_path / "ml_anki"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache_mod.code_epoch(copy) == cache_mod.epoch()
    seen = {cache_mod.epoch()}
    for name in ("notetype.py", "templates/card.css", "tex_commands.txt", "lint/tex.py"):
        original = (copy / name).read_bytes()
        (copy / name).write_bytes(original + b"\n")
        seen.add(cache_mod.code_epoch(copy))
        (copy / name).write_bytes(original)
    assert len(seen) == 5
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert cache_mod.code_epoch(copy) == cache_mod.epoch(), "compiled files are not sources"


def test_a_build_from_the_cache_never_loads_markdown(project: Project) -> None:
    """Markdown and Pygments are most of a cold start; a rebuild whose notes all come from the
    cache (and lint, which works from what rendering kept) does without them."""
    script = (
        "import sys\nfrom ml_anki.cli import main\n"
        "try:\n    main(['build', '-q'])\nexcept SystemExit as exc:\n    assert not exc.code\n"
        "print(sorted(m for m in ('markdown', 'pygments', 'pymdownx') if m in sys.modules))\n"
    )

    def modules_loaded_by_a_build() -> str:
        command = [sys.executable, "-c", script]
        run = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        return run.stdout.splitlines()[-1]

    assert modules_loaded_by_a_build() == "['markdown', 'pygments', 'pymdownx']"
    assert modules_loaded_by_a_build() == "[]"
    project.write("cards/01-basics.md", BASICS.replace("Its derivative", "Its (edited) derivative"))
    assert modules_loaded_by_a_build() == "['markdown', 'pygments', 'pymdownx']"


def test_a_cache_hit_carries_the_content_hash_its_fields_have(project: Project) -> None:
    """The lock compares content hashes: one read from the cache must be the one the fields
    give when hashed again."""
    config = config_mod.load(project.root)
    renderer = render.Renderer(config.media_dir, config.tag_prefix)
    for note in load(config.cards_dir).notes:
        rendered, _ = renderer.note(note, None)
        entry = cache_mod._decode(cache_mod._encode(cache_mod.CachedRender.of(rendered)))
        assert entry is not None
        hit = entry.to_note(note)
        assert hit == rendered
        # `replace` hashes the fields again.
        assert hit.content_hash == rendered.content_hash == dataclasses.replace(hit).content_hash


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card_file())
def test_a_stored_parse_is_the_parse(text: str) -> None:
    """A card file whose text the cache knows is not parsed again: what it stored (notes, table
    of contents, problems) must come back equal."""
    path = Path("cards/x.md")
    source_file, problems = parse(text, path)
    stored = cache_mod._decode_parsed(cache_mod._encode_parsed((source_file, tuple(problems))))
    assert stored == (source_file, tuple(problems))


def test_this_decks_parses_come_back_from_the_cache_as_they_were(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    for cards in (root / "cards", root / "examples" / "linux-commands" / "cards"):
        fresh = load(cards)
        store = cache_mod.RenderCache(tmp_path / "cache")
        assert load(cards, stored=store) == fresh
        store.close()
        source._recent.clear()  # this process's memory of the files: now only the cache has them
        store = cache_mod.RenderCache(tmp_path / "cache")
        assert load(cards, stored=store) == fresh
        store.close()


def test_problems_found_reading_a_file_are_reported_again_from_the_cache(project: Project) -> None:
    project.write("cards/01-basics.md", BASICS.replace("## #2\n", "## 2\n", 1))
    first = project.cli("check")
    source._recent.clear()
    again = project.cli("check")
    assert first.exit_code == again.exit_code == 1
    assert "looks like a note anchor but is not one" in first.stderr
    assert again.stderr == first.stderr
    with sqlite3.connect(Path(os.environ["ML_ANKI_CACHE_DIR"]) / "renders.sqlite3") as db:
        assert db.execute("select count(*) from parses").fetchone() == (1,)


def test_every_part_of_a_parse_comes_back_from_the_cache() -> None:
    text = (
        "---\ntags: [shell]\n---\n# Title\n\n- [Q one](#a)\n\n"
        "## #a {type=reverse tags=\"x y\"}\n\n### Q one\n\nA one.\n\n##### References\n\n- R\n\n"
        "## #b {parent=a}\n\n### Q two\n\nThe {{c1::answer}}.\n\n"
        "## b2\n\n### Q three\n\nA three.\n"
    )
    source_file, problems = parse(text, Path("cards/x.md"))
    assert source_file.notes[1].parent_where is not None and source_file.toc and problems
    stored = cache_mod._decode_parsed(cache_mod._encode_parsed((source_file, tuple(problems))))
    assert stored == (source_file, tuple(problems))
