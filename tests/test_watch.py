"""`ml-anki watch` as an author uses it: a real process, real file saves, the served pages."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import BASICS, Project

MORE = """\
## #3

### What is a sigmoid?

$\\sigma(x) = 1 / (1 + e^{-x})$, between 0 and 1.

## #2-2

### And without a bias?

Every line passes through the origin.
"""


class Watching:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def get(self, path: str = "") -> str:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return str(reply.read().decode("utf-8"))

    def status(self) -> dict[str, object]:
        return dict(json.loads(self.get("__ml-anki/status")))

    def wait_for_generation(self, after: int, timeout: float = 20.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if int(str(status["generation"])) > after:
                return status
            time.sleep(0.05)
        raise AssertionError(f"no rebuild after generation {after} within {timeout} s")


@pytest.fixture
def watching(project: Project) -> Iterator[Watching]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_anki", "watch"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    url = None
    for line in process.stdout:
        found = re.search(r"Serving the preview at (http://127\.0\.0\.1:\d+/)", line)
        if found:
            url = found.group(1)
            break
    assert url is not None, process.stderr.read() if process.stderr else ""
    try:
        yield Watching(process, url)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def save_like_an_editor(path: Path, text: str) -> None:
    """Write a temporary file, rename it over the card, then touch it: several events, one save."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    os.utime(path)


def test_edit_break_fix_and_ctrl_c(project: Project, watching: Watching) -> None:
    page = watching.get()
    assert "Sample deck" in page and "EventSource" in page
    assert "What is ReLU?" in watching.get("cards.html")
    assert watching.status()["ok"] is True

    card = project.root / "cards" / "01-basics.md"
    save_like_an_editor(card, BASICS.replace("The intercept.", "The intercept, edited live."))
    status = watching.wait_for_generation(1)
    assert status == {**status, "generation": 2, "ok": True, "notes": 3}
    assert "The intercept, edited live." in watching.get("cards.html")
    # One save, several file events: one rebuild.
    time.sleep(0.5)
    assert watching.status()["generation"] == 2

    broken = BASICS.replace("It shifts the threshold: $w_1 x_1 + w_2 x_2 + b$.", "It shifts $x{.")
    save_like_an_editor(card, broken)
    status = watching.wait_for_generation(2)
    assert status["ok"] is False
    error_page = html.unescape(watching.get())
    check = project.cli("check")
    assert check.exit_code == 1
    printed = [line for line in check.stderr.splitlines() if ": error: " in line]
    assert printed and all(line in error_page for line in printed)
    assert re.search(r"cards/01-basics\.md:\d+:\d+: error: ", error_page)
    assert "What is ReLU?" not in error_page
    assert '<html lang="en">' in error_page, "in the deck's language, like the cards page"

    save_like_an_editor(card, BASICS)
    status = watching.wait_for_generation(3)
    assert status["ok"] is True
    page = watching.get()
    assert "error" not in page.split("<body>", 1)[1].split("<script>", 1)[0]
    assert "The intercept." in watching.get("cards.html")

    watching.process.send_signal(signal.SIGINT)
    stdout, stderr = watching.process.communicate(timeout=15)
    assert watching.process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "Stopped." in stdout
    # The terminal showed the same problem lines the page did.
    assert all(line in stderr for line in printed)


def test_a_port_in_use_is_a_usage_error(project: Project, watching: Watching) -> None:
    port = watching.url.rsplit(":", 1)[1].strip("/")
    result = project.cli("watch", "--port", port)
    assert result.exit_code == 2
    assert f"Invalid value for '--port': cannot listen on 127.0.0.1:{port}" in result.stderr


def fresh_preview(project: Project, out: Path) -> subprocess.CompletedProcess[str]:
    """`ml-anki preview` in a new process, without the render cache: what a cold build shows."""
    return subprocess.run(
        [sys.executable, "-m", "ml_anki", "preview", "--no-cache", "--out", str(out)],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )


def served_equals_a_fresh_preview(
    project: Project, watching: Watching, out: Path, step: str
) -> None:
    fresh = fresh_preview(project, out)
    assert fresh.returncode == 0, fresh.stderr
    assert watching.get("cards.html") == (out / "cards.html").read_text(encoding="utf-8"), step
    # The index page is the preview's own, with the script that reloads it on the next build.
    head, _, tail = (out / "index.html").read_text(encoding="utf-8").rpartition("</body>")
    index = watching.get()
    assert index.startswith(head) and index.endswith("</body>" + tail), step
    assert "EventSource" in index[len(head) :]
    figures = sorted(p.name for p in out.iterdir() if p.suffix == ".svg")
    assert figures, "the sample deck shows a figure"
    for name in figures:
        with urllib.request.urlopen(watching.url + name, timeout=10) as reply:
            assert reply.read() == (out / name).read_bytes(), step


def test_a_warm_session_serves_what_a_fresh_preview_shows(
    project: Project, watching: Watching, tmp_path: Path
) -> None:
    card = project.root / "cards" / "01-basics.md"
    more = project.root / "cards" / "02-more.md"
    figure = project.root / "media" / "relu.svg"

    def edit(path: Path, *replacements: tuple[str, str]) -> Callable[[], None]:
        def save() -> None:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            for old, new in replacements:
                assert old in text, old
                text = text.replace(old, new)
            save_like_an_editor(path, text)

        return save

    def write(path: Path, text: str) -> Callable[[], None]:
        return lambda: save_like_an_editor(path, text)

    config = project.root / "pyproject.toml"
    steps: list[tuple[str, Callable[[], object]]] = [
        ("edit", edit(card, ("The intercept.", "An offset."))),
        ("break", edit(card, ("$w_1 x_1 + w_2 x_2 + b$.", "$x{."))),
        ("fix", write(card, BASICS)),
        ("add a note, and a sub-question of another file's", write(more, MORE)),
        ("edit the parent", edit(card, ("Why a bias?", "Why add a bias?"))),
        ("change a figure", edit(figure, ("L10 0", "L10 2"))),
        ("change the config", edit(config, ('"Sample deck"', '"Sample deck, renamed"'),
                                   ('tag-prefix = "sample"', 'tag-prefix = "s"\nlanguage = "ko"'))),
        ("build: a new lock", project.build),
        ("a new version in the config", edit(config, ('version = "1.0.0"', 'version = "1.1.0"'))),
        ("break the config", edit(config, ("deck-slug", "deck-slug = [\n"))),
        ("edit while the config is broken", write(card, BASICS)),
        ("fix the config", edit(config, ("deck-slug = [\n", "deck-slug"))),
        ("edit in the new version", edit(card, ("The intercept.", "The offset."))),
        ("delete the lock: every note is new in 1.1.0", project.lock.unlink),
        ("delete a file", more.unlink),
    ]  # fmt: skip
    served_equals_a_fresh_preview(project, watching, tmp_path / "fresh-0", "start")
    generation = int(str(watching.status()["generation"]))
    for number, (step, change) in enumerate(steps, 1):
        change()
        status = watching.wait_for_generation(generation)
        time.sleep(0.3)  # a change of two files (a build's lock and package) may build twice
        status = watching.status()
        generation = int(str(status["generation"]))
        out = tmp_path / f"fresh-{number}"
        if status["ok"]:
            served_equals_a_fresh_preview(project, watching, out, step)
            continue
        fresh = fresh_preview(project, out)
        assert fresh.returncode == 1, step
        printed = [line for line in fresh.stderr.splitlines() if ": error: " in line]
        assert printed, step
        assert all(line in html.unescape(watching.get()) for line in printed), step
        assert not out.exists(), "the fresh preview wrote nothing either"
