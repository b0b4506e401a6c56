"""An Anki add-on that shows every card of the imported decks in Anki's own reviewer and checks it.

tests/desktop/run_anki.py copies it into a throwaway base folder, next to a `job.json` that says
what to import, which theme to use and where results go. When the profile opens, it imports the
packages, gathers every card into one filtered deck and studies it in the real reviewer: the
question, then the answer, each checked by the same `inspect()` as the Chromium test
(tests/browser/page_checks.js) once the reviewer has typeset it, and screenshot when the job
asks; then the card is answered Easy so that it does not come back. The results go to
`job["results"]` as JSON and Anki quits. A failure of the add-on itself is written there too (as
`error`): an exception would open Anki's error dialog, offscreen, and wait for nobody.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anki.cards import Card
from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.consts import MODEL_CLOZE
from anki.decks import DeckId
from anki.decks_pb2 import Deck
from aqt import gui_hooks, mw
from aqt.qt import QTimer
from aqt.theme import Theme, theme_manager

JOB: dict[str, Any] = json.loads((Path(__file__).parent / "job.json").read_text(encoding="utf-8"))
MESSAGE = "ml-anki-checked:"
EASY = 4
STALL_MS = 15_000
"""A side not checked by then is shown and checked again (the reviewer can redraw a card while
the add-on acts on it); three times in a row ends the run with an error."""

# `_queueAction` is the reviewer page's own queue, on which `_showQuestion` and `_showAnswer`
# put their work (inserting the card, then MathJax): what is queued after them sees the card
# typeset. Fonts and images settle and two frames pass before the page is read.
CHECK_JS = """
_queueAction(async () => {
  let problems;
  try {
    await document.fonts.ready;
    await Promise.all([...document.images].map((image) => image.decode().catch(() => {})));
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    problems = (() => {
%(inspect)s
      return inspect();
    })();
  } catch (error) {
    problems = [`the check itself failed: ${error}`];
  }
  pycmd(%(message)s + JSON.stringify({
    token: %(token)s, problems, width: document.documentElement.clientWidth,
  }));
});
"""
PAGE_STATE_JS = """JSON.stringify({
  url: location.pathname, queue: typeof _queueAction, mathjax: typeof MathJax?.startup?.promise,
  body: document.body.className, qa: document.getElementById("qa")?.innerHTML.slice(0, 200),
})"""
INSPECT_JS = Path(JOB["inspect_js"]).read_text(encoding="utf-8")


def log(line: str) -> None:
    # Anki replaces sys.stderr with its error dialog's collector.
    print(f"ml-anki reviewer check: {line}", file=sys.__stderr__, flush=True)


class AnkiReviewer:
    """The one place that calls the reviewer's private methods.

    A learner shows the answer and answers with a click or a key; the reviewer has no public
    method for either, and faking key presses on an offscreen window is less reliable than
    calling what those keys call.
    """

    @staticmethod
    def show_answer() -> None:
        mw.reviewer._showAnswer()

    @staticmethod
    def answer_easy() -> None:
        mw.reviewer._answerCard(EASY)


class Session:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.study_deck = DeckId(0)
        self.expected = ""
        """The check whose result moves the session on: `card id:side:serial`."""
        self.serial = 0
        self.studying = False
        self.done = False
        self.stalls = 0
        self.watchdog = QTimer(mw)
        self.watchdog.setInterval(STALL_MS)
        self.watchdog.timeout.connect(self.step(self.on_stalled))

    # The steps, in order.

    def start(self) -> None:
        if JOB["theme"] == "dark":
            # What Preferences → Theme → Dark does.
            mw.pm.set_theme(Theme.DARK)
            theme_manager.apply_style()
        for package in JOB["packages"]:
            mw.col.import_anki_package(
                ImportAnkiPackageRequest(
                    package_path=package,
                    options=ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False),
                )
            )
        for deck in mw.col.decks.all_names_and_ids(skip_empty_default=True):
            config = mw.col.decks.config_dict_for_deck_id(deck.id)
            # A reverse or cloze note's other cards must come today too, not the next day.
            config["new"]["bury"] = False
            config["rev"]["bury"] = False
            config["buryInterdayLearning"] = False
            mw.col.decks.update_config(config)
        # Every card of every deck in one filtered deck (Tools → Create Filtered Deck), in the
        # order they were added: one study session, no deck overview in between (it shares the
        # reviewer's webview, and its page can replace the next reviewer page mid-load).
        study = mw.col.sched.get_or_create_filtered_deck(DeckId(0))
        study.name = "ml-anki: every card"
        del study.config.search_terms[:]
        study.config.search_terms.add(
            search="deck:*", limit=99999, order=Deck.Filtered.SearchTerm.ADDED
        )
        self.study_deck = mw.col.sched.add_or_update_filtered_deck(study).id
        # Anki keeps its main window at least 400 px wide: about a phone's width.
        mw.resize(JOB["width"], JOB["height"])
        # The deck list is still loading into the main webview: study once it has (the webview
        # runs queued scripts, and their callbacks, only after the page before them loaded).
        mw.web.evalWithCallback("0", lambda _: self.step(self.study)())

    def study(self) -> None:
        mw.col.decks.select(self.study_deck)
        self.studying = True
        mw.moveToState("review")

    def on_shown(self, card: Card, side: str) -> None:
        # The reviewer may show the same question twice (it redraws when the collection
        # changed); only the latest showing counts.
        self.serial += 1
        self.expected = f"{card.id}:{side}:{self.serial}"
        log(f"shown {self.expected}")
        self.watchdog.start()
        values = {"inspect": INSPECT_JS, "message": json.dumps(MESSAGE)}
        mw.reviewer.web.eval(CHECK_JS % {**values, "token": json.dumps(self.expected)})

    def on_checked(self, report: dict[str, Any]) -> None:
        if report["token"] != self.expected:
            return
        log(f"checked {self.expected}")
        self.stalls = 0
        self.watchdog.start()
        card = mw.reviewer.card
        side = self.expected.split(":")[1]
        note = card.note()
        # The deck's note types name a note by their `Id` field; others by their first field.
        note_id = note["Id"] if "Id" in note else note.fields[0]
        result = {
            "card_id": card.id,
            "note": note_id,
            # A cloze note type has one template for all its cards: name the deletion.
            "card": f"cloze c{card.ord + 1}"
            if card.note_type()["type"] == MODEL_CLOZE
            else card.template()["name"],
            # The deck the card lives in, not the filtered deck that borrows it.
            "deck": mw.col.decks.name(card.odid or card.did),
            "side": side,
            "width": report["width"],
            "problems": report["problems"],
            "shot": None,
        }
        stem = f"{note_id}-{card.ord + 1}-{side}"
        if stem in JOB["shots"]:
            path = Path(JOB["screenshots"]) / f"{stem}-{JOB['theme']}.png"
            mw.reviewer.web.grab().save(str(path))
            result["shot"] = path.name
        self.results.append(result)
        next_step = AnkiReviewer.show_answer if side == "front" else AnkiReviewer.answer_easy
        QTimer.singleShot(0, self.step(next_step))

    def on_stalled(self) -> None:
        card = mw.reviewer.card
        if mw.state != "review" or card is None:
            return
        self.stalls += 1
        side = "back" if mw.reviewer.state == "answer" else "front"
        if self.stalls > 3:
            note = card.note()
            raise RuntimeError(
                f"Anki's reviewer stalled on {note.fields[0]}, card {card.ord + 1}, {side}: "
                f"{self.stalls} times no check result within {STALL_MS} ms"
            )
        log(f"stalled on {self.expected}; checking the {side} shown now again")
        mw.reviewer.web.evalWithCallback(PAGE_STATE_JS, lambda state: log(f"page: {state}"))
        self.on_shown(card, side)

    def on_overview(self) -> None:
        # The reviewer goes back to the deck's overview when nothing is left to study today.
        if self.studying:
            self.studying = False
            self.finish(None)

    def finish(self, error: str | None) -> None:
        self.done = True
        self.watchdog.stop()
        log("finished" if error is None else f"failed: {error}")
        cards = {}
        for card_id in mw.col.find_cards(""):
            card = mw.col.get_card(card_id)
            cards[card_id] = mw.col.decks.name(card.odid or card.did)
        report = {"error": error, "cards": cards, "results": self.results}
        Path(JOB["results"]).write_text(json.dumps(report), encoding="utf-8")
        mw.unloadProfileAndExit()

    # Plumbing.

    def step(self, action: Callable[..., None]) -> Callable[..., None]:
        """`action`, made to report its exception to the test instead of to Anki's dialog."""

        def run(*args: Any) -> None:
            if self.done:
                return
            try:
                action(*args)
            except Exception:  # noqa: BLE001  (reported to the test, with its traceback)
                self.finish(traceback.format_exc())

        return run

    def on_message(self, handled: tuple[bool, Any], message: str, context: Any) -> tuple[bool, Any]:
        if not message.startswith(MESSAGE):
            return handled
        self.step(self.on_checked)(json.loads(message[len(MESSAGE) :]))
        return (True, None)


session = Session()
gui_hooks.profile_did_open.append(session.step(session.start))
gui_hooks.reviewer_did_show_question.append(
    lambda card: session.step(session.on_shown)(card, "front")
)
gui_hooks.reviewer_did_show_answer.append(lambda card: session.step(session.on_shown)(card, "back"))
gui_hooks.overview_did_refresh.append(lambda overview: session.step(session.on_overview)())
gui_hooks.webview_did_receive_js_message.append(session.on_message)
