"""The real deck in a real browser: every card side as Anki renders it, on a phone, day and night.

The card HTML comes from the official `anki` library after importing the built deck (the note
type's CSS included), inside `<body class="card">` as every Anki client has it, typeset by
MathJax 3 with Anki's configuration (minus the extensions that hide errors). Two engines show it
at a phone's size (390 px) by way of tests/browser/check_cards.mjs, which injects the same checks
(tests/browser/page_checks.js) into both: headless Chromium (Anki desktop's Qt WebEngine and
AnkiDroid's WebView are Chromium) and WebKitGTK's MiniBrowser over WebDriver under a virtual X
display (AnkiMobile's WKWebView is WebKit). The example deck's reverse and cloze cards get the
same checks. Screenshots of a sample of cards land in test-artifacts/screenshots/<engine>/ (the
example's in test-artifacts/screenshots/example/<engine>/) for a person to look at.

Needs `npm ci` (MathJax, playwright-core, selenium-webdriver) and Debian's `chromium`, and for
WebKit `webkit2gtk-driver`, `xvfb` and `xauth`; an engine whose packages are missing is skipped,
unless ML_ANKI_REQUIRE_BROWSER=1 (as in CI), which makes a missing engine a failure.
"""

from __future__ import annotations

import dataclasses
import glob
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import Project
from learner import Learner
from ml_anki import build as build_mod
from ml_anki import config as config_mod
from ml_anki.lock import natural_key
from ml_anki.preview import MATHJAX_CONFIG, PHONE_WIDTH

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "tests" / "browser" / "check_cards.mjs"
NODE_MODULES = ROOT / "node_modules"
MATHJAX = NODE_MODULES / "mathjax" / "es5" / "tex-chtml-full.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE_HEIGHT = 844
TIME_LIMIT_S = 240


@dataclass(frozen=True)
class Engine:
    name: str
    """`chromium` or `webkit`, as failures and screenshot folders name it."""
    browser: Path
    driver: Path | None = None
    """The WebDriver server that starts the browser (WebKit only)."""
    packages: str = ""
    """What to install when it is missing."""


CHROMIUM = Engine("chromium", Path("/usr/bin/chromium"), packages="chromium fonts-noto-cjk")
# Debian ships MiniBrowser under the multiarch library folder: one path per architecture.
WEBKIT = Engine(
    "webkit",
    Path(next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))), "MiniBrowser")),
    driver=Path("/usr/bin/WebKitWebDriver"),
    packages="webkit2gtk-driver xvfb xauth fonts-noto-cjk",
)
ENGINES = (CHROMIUM, WEBKIT)


@dataclass(frozen=True)
class Page:
    label: str
    """How a failure names the page: `#12-1 back`."""
    html: str
    shot: str | None = None
    """Screenshot file stem, for the pages a person should look at."""


@dataclass(frozen=True)
class Checked:
    engine: str
    label: str
    mode: str
    problems: list[str]


def _missing(engine: Engine) -> str | None:
    for path in (engine.browser, *([engine.driver] if engine.driver else [])):
        if not path.is_file():
            return f"{path} not found (apt-get install {engine.packages})"
    # WebKitGTK needs an X display: a virtual one from xvfb-run, which needs xauth.
    for program in ("xvfb-run", "xauth") if engine is WEBKIT else ():
        if shutil.which(program) is None:
            return f"{program} not found (apt-get install {engine.packages})"
    if shutil.which("node") is None:
        return "node not found (apt-get install nodejs npm)"
    modules = ("playwright-core", "selenium-webdriver")
    if not MATHJAX.is_file() or not all((NODE_MODULES / m).is_dir() for m in modules):
        return (
            "MathJax / playwright-core / selenium-webdriver missing from node_modules "
            "(run `npm ci` in the repository)"
        )
    return None


def _available(engine: Engine) -> Engine:
    reason = _missing(engine)
    if reason is not None:
        if os.environ.get("ML_ANKI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ML_ANKI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"real-browser test in {engine.name}: {reason}")
    return engine


@pytest.fixture(params=ENGINES, ids=[e.name for e in ENGINES])
def browser(request: pytest.FixtureRequest) -> Engine:
    """Each engine in turn; the test runs once in Chromium and once in WebKit."""
    engine: Engine = request.param
    return _available(engine)


@pytest.fixture
def chromium() -> Engine:
    return _available(CHROMIUM)


def anki_page(card_html: str) -> str:
    """A card as Anki's reviewer shows it: `<body class="card">`, MathJax with Anki's settings."""
    return f"""<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>window.MathJax = {json.dumps(MATHJAX_CONFIG)};</script>
<script src="{html.escape(MATHJAX.as_uri())}"></script>
</head>
<body class="card"><div id="qa">{card_html}</div></body>
</html>
"""


def _command(engine: Engine, manifest: Path, scale: int) -> tuple[list[str], dict[str, str]]:
    """How to start the checker in `engine`: WebKitGTK needs an X display, so a virtual one."""
    command = ["node", str(CHECKER), str(manifest)]
    if engine is not WEBKIT:
        return command, dict(os.environ)
    # Room for the phone-sized window at the scale's pixels; -a picks a free display number.
    screen = f"{PHONE_WIDTH * scale + 200}x{PHONE_HEIGHT * scale + 200}x24"
    env = {
        **os.environ,
        # Xvfb has no GPU: software GL, else WebKit's compositor draws blank pages.
        "LIBGL_ALWAYS_SOFTWARE": "1",
        # A GTK window's device pixel ratio is the display's scale; Xvfb's is 1 unless told.
        "GDK_SCALE": str(scale),
    }
    # Xvfb's own complaints go with the checker's, to be shown if the run fails.
    xvfb = ["xvfb-run", "-a", "-e", "/dev/stderr", "-s", f"-screen 0 {screen}"]
    return [*xvfb, *command], env


def run_in_browser(
    engine: Engine,
    pages: Sequence[Page],
    where: Path,
    screenshots: Path | None = None,
    scale: int = 1,
) -> list[Checked]:
    """Every page checked in day and in night mode; screenshots saved for the pages with a `shot`."""
    where.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, page in enumerate(pages):
        path = where / f"page-{number:03d}.html"
        path.write_text(page.html, encoding="utf-8")
        entries.append({"label": page.label, "url": path.as_uri(), "shot": page.shot})
    manifest = where / f"manifest-{engine.name}.json"
    manifest.write_text(
        json.dumps(
            {
                "engine": engine.name,
                "browser": str(engine.browser),
                "driver": str(engine.driver) if engine.driver else None,
                "width": PHONE_WIDTH,
                "height": PHONE_HEIGHT,
                "workers": 2,
                "scale": scale,
                "screenshots": str(screenshots) if screenshots else None,
                "pages": entries,
            }
        ),
        encoding="utf-8",
    )
    command, env = _command(engine, manifest, scale)
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
        check=False,
    )
    assert done.returncode == 0, f"the browser check itself failed in {engine.name}:\n{done.stderr}"
    report = json.loads(done.stdout)
    checked = [Checked(engine.name, p["label"], p["mode"], p["problems"]) for p in report["pages"]]
    assert sorted((c.label, c.mode) for c in checked) == sorted(
        (p.label, mode) for p in pages for mode in ("day", "night")
    ), f"every page was checked in day and in night mode in {engine.name}"
    return checked


def failures(checked: Sequence[Checked]) -> list[str]:
    return [
        f"{c.engine}: {c.label} ({c.mode}): {problem}" for c in checked for problem in c.problems
    ]


def _sample(fields: dict[str, dict[str, str]]) -> dict[str, str]:
    """Note id → why a person should look at it: one card for each thing that can go wrong."""
    wanted = {
        "a sub-question with its parent as context": lambda f: f["Context"] != "",
        "display math": lambda f: 'class="arithmatex">\\[' in f["Answer"],
        "a code block": lambda f: 'class="highlight"' in f["Answer"],
        "a table": lambda f: "<table" in f["Answer"],
        "a figure": lambda f: "<img" in f["Answer"],
    }
    sample: dict[str, str] = {}
    for why, wanted_here in wanted.items():
        note_id = next((i for i, f in fields.items() if wanted_here(f)), None)
        if note_id is not None:
            sample[note_id] = f"{sample[note_id]}, {why}" if note_id in sample else why
    return sample


def test_every_card_of_the_real_deck_reads_well_on_a_phone_day_and_night(
    browser: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Build into tmp_path with a copy of the committed lock, which stays untouched.
    lock = tmp_path / "ml-anki.lock"
    if (ROOT / "ml-anki.lock").exists():
        lock.write_bytes((ROOT / "ml-anki.lock").read_bytes())
    config = dataclasses.replace(config_mod.load(ROOT), out_dir=tmp_path / "dist", lock_path=lock)
    deck = build_mod.build(config).path
    pages_dir = tmp_path / "pages"
    learner = Learner(tmp_path / "learner" / "collection.anki2")
    try:
        learner.import_deck(deck)
        notes = learner.notes()
        # Anki serves a card's media by bare file name from the collection's media folder.
        shutil.copytree(learner.col.media.dir(), pages_dir)
        fields = {i: {k: v for k, v in n.items()} for i, n in notes.items()}
        sample = _sample(fields)
        pages = []
        for note_id, note in sorted(notes.items(), key=lambda item: natural_key(item[0])):
            card = note.cards()[0]
            shot = f"{note_id}-{{side}}" if note_id in sample else None
            for side, card_html in (("front", card.question()), ("back", card.answer())):
                name = shot.format(side=side) if shot else None
                pages.append(Page(f"#{note_id} {side}", anki_page(card_html), name))
    finally:
        learner.close()
    assert len(pages) == 2 * len(notes) > 80

    shots = SCREENSHOTS / browser.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    # Twice the pixels, as on a phone's screen: what a person looks at must be sharp.
    started = time.monotonic()
    checked = run_in_browser(browser, pages, pages_dir, shots, scale=2)
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{browser.name}: {len(pages)} pages, day and night, in {took:.0f} s")
        print(f"screenshots of {len(sample)} cards, day and night: {shots}")
        for note_id, why in sample.items():
            print(f"  #{note_id}: {why}")
    problems = failures(checked)
    assert not problems, f"{len(problems)} problems on the cards:\n" + "\n".join(problems)


BROKEN_CARDS = {
    "bad TeX": r"<p>\(x^2^3\)</p>",
    "unbalanced brace": r"<p>\(\frac{1}{\)</p>",
    "unknown macro": r"<p>\(\foo x\)</p>",
    "unclosed delimiter": r"<p>값은 \(x + 1 이다</p>",
    "missing figure": '<img src="nowhere.svg" alt="">',
    "wide block": '<div style="width: 700px">넓은 상자</div>',
    "wide figure": '<img src="wide.svg" style="max-width: none" alt="">',
    "faint text": '<p style="color: #bbbbbb">흐린 글씨</p>',
    "text that grows sideways": "<style>.card { text-size-adjust: auto }</style><p>글씨</p>",
    "hover only": '<style>.card a:hover { color: #0969da }</style><a href="#">링크</a>',
    "swipe runs on": '<div style="overflow-x: auto">상자</div>',
    "fine": (
        r"<p>\(\sigma(x) = \frac{1}{1+e^{-x}}\)</p><pre><code>print('\(')</code></pre>"
        "<style>@media (hover: hover) { .card a:hover { color: #0969da } }</style>"
        '<div style="overflow-x: auto; overscroll-behavior-x: contain">상자</div>'
    ),
}
# What the note type's CSS gives every real card, so that each broken card breaks one thing.
PHONE_READY = "<style>.card { -webkit-text-size-adjust: 100%; text-size-adjust: 100% }</style>"


def test_the_browser_check_reports_each_kind_of_broken_card(
    browser: Engine, tmp_path: Path
) -> None:
    """The check fails on each thing it promises to catch, naming the page and the mode."""
    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    (pages_dir / "wide.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="10"/>', encoding="utf-8"
    )
    pages = [Page(label, anki_page(PHONE_READY + card)) for label, card in BROKEN_CARDS.items()]
    problems = {
        (c.label, c.mode): [p.split(" (")[0] if "scrolls" in p else p for p in c.problems]
        for c in run_in_browser(browser, pages, pages_dir)
    }
    day = {label: problems[(label, "day")] for label in BROKEN_CARDS}
    assert day == {
        "bad TeX": [r'MathJax error: Double exponent: use braces to clarify in "x^2^3"'],
        "unbalanced brace": [r'TeX left untypeset: "\\(\\frac{1}{\\)"'],
        "unknown macro": [r'MathJax error: Undefined control sequence \foo in "\\foo x"'],
        "unclosed delimiter": [r'TeX left untypeset: "값은 \\(x + 1 이다"'],
        "missing figure": ["image nowhere.svg did not load"],
        "wide block": ["page scrolls sideways: 708 px of content on a 390 px screen"],
        "wide figure": [
            "page scrolls sideways: 1008 px of content on a 390 px screen",
            "image wide.svg is 1000 px wide on a 390 px screen",
        ],
        "faint text": [
            'text too faint to read (contrast 1.9:1, needs 4.5:1): <p> "흐린 글씨"',
        ],
        # Text is auto-sized, and the property known, only on phones' engines and in Chromium,
        # which sizes like AnkiDroid's WebView; WebKitGTK, a desktop build, has no such setting.
        "text that grows sideways": {
            "chromium": [
                "text grows when the phone turns sideways (text-size-adjust: auto, needs 100%)"
            ],
            "webkit": [],
        }[browser.name],
        "hover only": [
            (
                'style needs hover, which touch screens lack: ".card a:hover"'
                " (put it inside @media (hover: hover))"
            )
        ],
        "swipe runs on": [
            (
                "a sideways-scrolling box passes swipes on to the page"
                " (overscroll-behavior-x: auto): <div>"
            )
        ],
        "fine": [],
    }
    # Without the note type's CSS, night mode changes nothing but the class: same findings.
    assert {label: problems[(label, "night")] for label in BROKEN_CARDS} == day


def test_the_preview_typesets_and_its_toggles_work_in_a_browser(
    chromium: Engine, project: Project, tmp_path: Path
) -> None:
    # Enough notes after #2-1 for the frame to scroll it to the top.
    more = "".join(f"## #{n}\n\n### Question {n}\n\n{'Answer. ' * 60}\n\n" for n in range(3, 9))
    project.write("cards/02-more.md", more)
    result = project.cli("preview", "--mathjax-url", str(MATHJAX))
    assert result.exit_code == 0, result.output
    shots = tmp_path / "shots"
    shots.mkdir()
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "browser" / "preview_toggles.mjs"),
         str(project.root / "preview" / "index.html"), str(shots), "2-1"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIME_LIMIT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = {step["step"]: step for step in json.loads(done.stdout)["steps"]}
    seen = {name: (s["frameWidth"], s["nightMode"], s["scrolledTo"]) for name, s in steps.items()}
    assert seen == {
        "opened": (PHONE_WIDTH, False, "note-1"),
        "night": (PHONE_WIDTH, True, "note-1"),
        "jump": (PHONE_WIDTH, True, "note-2-1"),
        "full-width": (1280 - 2 * 12 - 2, True, "note-2-1"),
        "day": (1280 - 2 * 12 - 2, False, "note-2-1"),
    }
    assert steps["opened"]["notes"] == [f"note-{i}" for i in ("1", "2", "2-1", *"345678")]
    # Every formula of the tiny deck, front and back, typeset by the local MathJax, none broken.
    assert (steps["opened"]["typeset"], steps["opened"]["mathErrors"]) == (11, 0)


def test_watch_reloads_on_the_card_it_showed_with_its_toggles(
    chromium: Engine, project: Project, tmp_path: Path
) -> None:
    # Enough notes after #2-1 for the frame to scroll it to the top.
    more = "".join(f"## #{n}\n\n### Question {n}\n\n{'Answer. ' * 60}\n\n" for n in range(3, 9))
    project.write("cards/02-more.md", more)
    edited = tmp_path / "edited.md"
    edited.write_text(more.replace("### Question 5", "### Question 5, edited"), encoding="utf-8")
    watch = subprocess.Popen(
        [sys.executable, "-m", "ml_anki", "watch", "--mathjax-url", str(MATHJAX)],
        cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert watch.stdout is not None
        url = next(
            (
                found.group(1)
                for line in watch.stdout
                if (found := re.search(r"(http://\S+/)", line))
            ),
            None,
        )
        assert url is not None, watch.stderr.read() if watch.stderr else ""
        done = subprocess.run(
            ["node", str(ROOT / "tests" / "browser" / "watch_reload.mjs"), url,
             str(project.root / "cards" / "02-more.md"), str(edited), "2-1"],
            cwd=ROOT, capture_output=True, text=True, timeout=TIME_LIMIT_S, check=False,
        )  # fmt: skip
    finally:
        watch.kill()
        watch.wait()
    assert done.returncode == 0, done.stderr
    steps = {step["step"]: step for step in json.loads(done.stdout)["steps"]}
    full_width = 1280 - 2 * 12 - 2
    seen = {
        name: (
            s["frameWidth"],
            s["nightMode"],
            s["nightChecked"],
            s["phoneChecked"],
            s["scrolledTo"],
        )
        for name, s in steps.items()
    }
    assert seen == {
        "before": (full_width, True, True, False, "note-2-1"),
        "reloaded": (full_width, True, True, False, "note-2-1"),
    }
    assert "Question 5, edited" not in steps["before"]["text"]
    assert "Question 5, edited" in steps["reloaded"]["text"]


def test_every_card_of_every_note_type_typesets_on_a_phone_day_and_night(
    browser: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example deck: reverse cards both ways, each cloze number, math inside deletions."""
    from test_example_deck import build_example

    # One card of each kind for a person to compare between engines.
    shown = {("pwd", 1): "reverse, card 2", ("mode-bits", 0): "cloze with math, card 1"}
    learner = Learner(tmp_path / "learner" / "collection.anki2")
    try:
        learner.import_deck(build_example(tmp_path))
        pages = [
            Page(
                f"#{note_id} card {card.ord + 1} {side}",
                anki_page(card_html),
                f"example-{note_id}-{card.ord + 1}-{side}"
                if (note_id, card.ord) in shown
                else None,
            )
            for note_id, note in sorted(learner.notes().items())
            for card in note.cards()
            for side, card_html in (("front", card.question()), ("back", card.answer()))
        ]
        shutil.copytree(learner.col.media.dir(), tmp_path / "pages")
    finally:
        learner.close()
    assert len(pages) == 2 * 13
    assert sum(page.shot is not None for page in pages) == 2 * len(shown)
    shots = SCREENSHOTS / "example" / browser.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    problems = failures(run_in_browser(browser, pages, tmp_path / "pages", shots, scale=2))
    with capsys.disabled():
        print(f"\n{browser.name}: example cards ({', '.join(shown.values())}): {shots}")
    assert not problems, f"{len(problems)} problems on the cards:\n" + "\n".join(problems)
