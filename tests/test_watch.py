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
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import BASICS, Project


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
