"""The real deck in the real Anki desktop app: every card's question and answer in its reviewer.

The browser test (test_browser.py) imitates Anki's reviewer page; this one uses the reviewer
itself, with everything the imitation can get wrong: Anki's own CSS, its own MathJax build and
configuration (which shows a TeX mistake as raw source), its own dark theme, and the scroll to
the answer. Anki (the `aqt` package, the same version as `anki`, with its Qt WebEngine) runs
offscreen on a throwaway base folder, once in the default theme and once in the dark theme, and
an add-on (tests/desktop/ml_anki_reviewer_check) studies every card and reads each side with the
checks the browser test runs (tests/browser/page_checks.js). Screenshots of a sample of cards
land in test-artifacts/desktop/.

Needs `pip install -e '.[desktop]'`; without it the test is skipped, unless
ML_ANKI_REQUIRE_BROWSER=1 (as in CI), which makes a missing renderer a failure.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import genanki
import pytest

from learner import Learner
from ml_anki import build as build_mod
from ml_anki import config as config_mod
from test_browser import BROKEN_CARDS, _sample
from test_example_deck import build_example

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "desktop" / "run_anki.py"
INSPECT_JS = ROOT / "tests" / "browser" / "page_checks.js"
SCREENSHOTS = ROOT / "test-artifacts" / "desktop"
THEMES = ("light", "dark")
WIDTH = 400
"""Anki keeps its main window at least 400 px wide: the reviewer is about as wide as a phone."""
HEIGHT = 844
TIME_LIMIT_S = 180
"""Per theme. A run takes about 20 s; a hang (a dialog waiting offscreen) fails at this limit."""
QUIT_LIMIT_S = 20
DECK = "ML 면접 질문"
EXAMPLE_DECK = "Linux commands"
BROKEN_DECK = "ml-anki broken cards"


@dataclass(frozen=True)
class Shown:
    """One side of one card as the reviewer showed it."""

    card_id: int
    note: str
    card: str
    """The card's template name, or `cloze cN` for a cloze deletion."""
    deck: str
    side: str
    width: int
    """The page's width in CSS pixels, scroll bar excluded."""
    problems: list[str]
    shot: str | None

    def __str__(self) -> str:
        return f"#{self.note}, card {self.card!r}, {self.side}"


@dataclass(frozen=True)
class Review:
    theme: str
    decks: dict[int, str]
    """Every card in the collection, and the name of its deck."""
    shown: list[Shown]

    def check(self, deck: str) -> list[str]:
        """The deck's problems; asserts that each side of each of its cards was checked once."""
        shown = [s for s in self.shown if s.deck == deck]
        cards = [card for card, name in self.decks.items() if name == deck]
        assert sorted((s.card_id, s.side) for s in shown) == sorted(
            (card, side) for card in cards for side in ("back", "front")
        ), f"every card's question and answer in {deck!r} was shown once ({self.theme} theme)"
        assert {s.width for s in shown} <= set(range(WIDTH - 20, WIDTH + 1)), "a phone's width"
        return [f"{s} ({self.theme} theme): {p}" for s in shown for p in s.problems]


def _missing_desktop() -> str | None:
    if importlib.util.find_spec("aqt") is None:
        return "aqt is not installed (pip install -e '.[desktop]')"
    if importlib.util.find_spec("PyQt6.QtWebEngineWidgets") is None:
        return "PyQt6-WebEngine is not installed (pip install -e '.[desktop]')"
    anki, aqt = importlib.metadata.version("anki"), importlib.metadata.version("aqt")
    if anki != aqt:
        return f"aqt {aqt} does not match anki {anki}: install aqt=={anki}"
    return None


@pytest.fixture(scope="module")
def desktop() -> None:
    reason = _missing_desktop()
    if reason is not None:
        if os.environ.get("ML_ANKI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ML_ANKI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"Anki desktop test: {reason}")


def _broken_deck(where: Path) -> Path:
    """The browser test's broken cards, each on the front of a card of a plain note type."""
    model = genanki.Model(
        1764374400901,
        "ml-anki broken card",
        fields=[{"name": "Label"}, {"name": "Card"}],
        templates=[{"name": "Card 1", "qfmt": "{{Card}}", "afmt": "{{FrontSide}}"}],
        # As the deck's note type has it: only the card that undoes it should be reported.
        css=".card { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }",
    )
    deck = genanki.Deck(1764374400902, BROKEN_DECK)
    for number, (label, card) in enumerate(BROKEN_CARDS.items()):
        deck.add_note(genanki.Note(model, [label, card], guid=f"ml-anki-broken-{number}"))
    package = genanki.Package(deck)
    package.media_files = [str(where / "wide.svg")]
    (where / "wide.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="10"/>', encoding="utf-8"
    )
    path = where / "broken.apkg"
    package.write_to_file(str(path))
    return path


def run_anki(theme: str, packages: list[Path], shots: list[str], where: Path) -> Review:
    """Anki desktop, offscreen, studies every card of `packages` in `theme`."""
    where.mkdir(parents=True)
    results = where / "results.json"
    job = where / "job.json"
    job.write_text(
        json.dumps(
            {
                "base": str(where / "base"),
                "theme": theme,
                "packages": [str(p) for p in packages],
                "results": str(results),
                "screenshots": str(SCREENSHOTS),
                "shots": shots,
                "width": WIDTH,
                "height": HEIGHT,
                "inspect_js": str(INSPECT_JS),
            }
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        # Chromium's sandbox needs user namespaces, which containers and CI runners lack.
        "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox",
        # Anki hands its command line to an Anki already running under the same key and quits.
        "ANKI_SINGLE_INSTANCE_KEY": f"ml-anki-test-{os.getpid()}-{theme}",
        # Twice the pixels, as on a phone's screen: the screenshots are for people to look at.
        "QT_SCALE_FACTOR": "2",
    }
    log = where / "anki.log"
    with log.open("wb") as output:
        # Its own session, so that a hang can be ended with every process Qt WebEngine started.
        anki = subprocess.Popen(
            [sys.executable, str(RUNNER), str(job)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + TIME_LIMIT_S
            while anki.poll() is None and not results.is_file():
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"Anki ({theme} theme) did not finish within {TIME_LIMIT_S} s: it hangs "
                        f"or shows a dialog offscreen. The end of its output ({log}):\n"
                        f"{_tail(log)}"
                    )
                time.sleep(0.2)
            # With the results written, quitting is Anki's business: give it a moment, no more.
            anki.wait(timeout=QUIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if anki.poll() is None:
                os.killpg(anki.pid, signal.SIGKILL)
                anki.wait()
    assert results.is_file(), (
        f"Anki ({theme} theme) quit with status {anki.returncode} and no results. "
        f"The end of its output ({log}):\n{_tail(log)}"
    )
    report = json.loads(results.read_text(encoding="utf-8"))
    assert report["error"] is None, (
        f"the reviewer check failed in Anki ({theme}):\n{report['error']}"
    )
    decks = {int(card): deck for card, deck in report["cards"].items()}
    return Review(theme, decks, [Shown(**shown) for shown in report["results"]])


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in lines if "Qt warning" not in line)[-3000:]


@pytest.fixture(scope="module")
def reviews(desktop: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Review]]:
    where = tmp_path_factory.mktemp("desktop")
    # Build into a temporary folder with a copy of the committed lock, which stays untouched.
    lock = where / "ml-anki.lock"
    if (ROOT / "ml-anki.lock").exists():
        lock.write_bytes((ROOT / "ml-anki.lock").read_bytes())
    config = dataclasses.replace(config_mod.load(ROOT), out_dir=where / "dist", lock_path=lock)
    assert config.deck_name == DECK
    deck = build_mod.build(config).path
    learner = Learner(where / "learner" / "collection.anki2")
    try:
        learner.import_deck(deck)
        fields = {i: dict(n.items()) for i, n in learner.notes().items()}
    finally:
        learner.close()
    # The Chromium test's sample, for comparison, and a reverse and a cloze card's other side.
    shots = [f"{note_id}-1-{side}" for note_id in _sample(fields) for side in ("front", "back")]
    shots += ["pwd-2-back", "chmod-octal-2-back"]
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    packages = [deck, build_example(where), _broken_deck(where)]
    yield [run_anki(theme, packages, shots, where / theme) for theme in THEMES]


def test_every_card_of_the_real_deck_in_ankis_own_reviewer_default_and_dark_theme(
    reviews: list[Review], capsys: pytest.CaptureFixture[str]
) -> None:
    problems = []
    for review in reviews:
        problems += review.check(DECK)
        shots = sorted(s.shot for s in review.shown if s.shot)
        assert len(shots) >= 8 and all((SCREENSHOTS / shot).is_file() for shot in shots)
    assert len([c for c in reviews[0].decks.values() if c == DECK]) > 40
    with capsys.disabled():
        print(f"\nscreenshots from Anki's reviewer, default and dark theme: {SCREENSHOTS}")
    assert not problems, f"{len(problems)} problems in Anki's reviewer:\n" + "\n".join(problems)


def test_every_card_of_every_note_type_in_ankis_own_reviewer(reviews: list[Review]) -> None:
    """The example deck: reverse cards both ways, each cloze number, math inside deletions."""
    problems = []
    for review in reviews:
        problems += review.check(EXAMPLE_DECK)
        cards = {(s.note, s.card) for s in review.shown if s.deck == EXAMPLE_DECK}
        assert len(cards) == 13
        assert {("chmod-octal", "cloze c3"), ("pwd", "Back → Front")} <= cards
        assert (SCREENSHOTS / f"chmod-octal-2-back-{review.theme}.png").is_file()
    assert not problems, f"{len(problems)} problems in Anki's reviewer:\n" + "\n".join(problems)


def test_the_reviewer_check_reports_each_kind_of_broken_card(reviews: list[Review]) -> None:
    """The checks fail in Anki's reviewer on each thing they promise to catch, as in Chromium."""
    expected = {
        "bad TeX": [r'MathJax error: Double exponent: use braces to clarify in "x^2^3"'],
        "unbalanced brace": [r'TeX left untypeset: "\\(\\frac{1}{\\)"'],
        "unknown macro": [r'MathJax error: Undefined control sequence \foo in "\\foo x"'],
        "unclosed delimiter": [r'TeX left untypeset: "값은 \\(x + 1 이다"'],
        "missing figure": ["image nowhere.svg did not load"],
        "wide block": ["page scrolls sideways: 720 px of content on a 400 px screen"],
        "wide figure": [
            "page scrolls sideways: 1020 px of content on a 400 px screen",
            "image wide.svg is 1000 px wide on a 400 px screen",
        ],
        "faint text": ['text too faint to read (contrast 1.8:1, needs 4.5:1): <p> "흐린 글씨"'],
        "text that grows sideways": [
            "text grows when the phone turns sideways (text-size-adjust: auto, needs 100%)"
        ],
        "hover only": [
            (
                'style needs hover, which touch screens lack: ".card a:hover" '
                "(put it inside @media (hover: hover))"
            )
        ],
        "swipe runs on": [
            (
                "a sideways-scrolling box passes swipes on to the page "
                "(overscroll-behavior-x: auto): <div>"
            )
        ],
        "fine": [],
    }
    found = {
        review.theme: {
            s.note: [p.split(" (")[0] if "scrolls" in p else p for p in s.problems]
            for s in review.shown
            if s.deck == BROKEN_DECK and s.side == "front"
        }
        for review in reviews
    }
    assert found["light"] == expected
    # The same #bbbbbb is easy to read on the dark theme's background.
    assert found["dark"] == {**expected, "faint text": []}
