"""`ml-anki push` into a real collection behind an AnkiConnect-protocol server (no mock of Anki)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from anki.notes import Note
from click.testing import Result

from ankiconnect import AnkiConnectServer, running
from conftest import BASICS, RELU_SVG, Project
from learner import Learner
from ml_anki import notetype

NOW = 1_800_000_000


@pytest.fixture
def anki(tmp_path: Path) -> Iterator[AnkiConnectServer]:
    with running(tmp_path / "anki" / "collection.anki2") as server:
        yield server


def push(project: Project, server: AnkiConnectServer, *args: str, now: int = NOW) -> Result:
    return project.cli("push", "--url", server.url, *args, now=now)


Seen = tuple[str, int, str, tuple[str, ...], int]


def seen(note: Note) -> Seen:
    """What a learner's Anki holds of a note: GUID, mod, fields, tags, note type id.

    Not the note id: Anki's importer gives each new note an id of its own (the import time), so
    no two imports agree on it; everything Anki matches notes by is here.
    """
    return (note.guid, note.mod, "\x1f".join(note.fields), tuple(note.tags), note.mid)


def notes(server: AnkiConnectServer) -> dict[str, Seen]:
    """Every note Anki has, by its Id field."""
    col = server.col
    found = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        assert note["Id"] not in found, f"#{note['Id']} is in Anki twice"
        found[note["Id"]] = seen(note)
    return found


def edit_in_anki(server: AnkiConnectServer, note_id: str, answer: str) -> None:
    """As an author fixing a card on their phone (through AnkiConnect's own action)."""
    (anki_id,) = server.call("findNotes", query=f"Id:{note_id}")
    server.call("updateNoteFields", note={"id": anki_id, "fields": {"Answer": answer}})


def answer(server: AnkiConnectServer, note_id: str) -> str:
    (anki_id,) = server.call("findNotes", query=f"Id:{note_id}")
    return str(server.col.get_note(anki_id)["Answer"])


def test_first_push_is_exactly_a_learners_import(
    project: Project, anki: AnkiConnectServer, learner: Learner
) -> None:
    result = push(project, anki)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Sample deck → {anki.url}: 3 added, 0 updated, 0 unchanged, 0 conflicts\n"
    )
    # The same cards built and imported by a learner: same GUIDs, mods, fields, note type.
    learner.import_deck(project.build())
    assert notes(anki) == {note_id: seen(note) for note_id, note in learner.notes().items()}
    pushed_type = anki.col.models.get(1700000000001)
    learned_type = learner.col.models.get(1700000000001)
    assert pushed_type is not None and learned_type is not None
    for key in ("name", "css", "mod", "flds", "tmpls"):
        assert pushed_type[key] == learned_type[key], key
    media = set(os.listdir(anki.col.media.dir()))
    assert media == set(os.listdir(learner.col.media.dir())) and len(media) == 1
    assert anki.col.decks.by_name("Sample deck") is not None


def test_a_push_without_changes_changes_nothing(project: Project, anki: AnkiConnectServer) -> None:
    assert push(project, anki).exit_code == 0
    before = notes(anki)
    calls = len(anki.anki.calls)
    result = push(project, anki, "-v", now=NOW + 60)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith("0 added, 0 updated, 3 unchanged, 0 conflicts")
    assert notes(anki) == before
    assert "importPackage" not in anki.anki.calls[calls:]
    assert "storeMediaFile" not in anki.anki.calls[calls:]


def test_one_edited_card_updates_exactly_that_note_and_keeps_its_history(
    project: Project, anki: AnkiConnectServer
) -> None:
    assert push(project, anki).exit_code == 0
    (anki_id,) = anki.call("findNotes", query="Id:2-1")
    card = anki.col.get_note(anki_id).cards()[0]
    card.start_timer()
    anki.col.sched.answerCard(card, 3)  # type: ignore[attr-defined]
    reviews = anki.col.db.list("select id from revlog where cid = ?", card.id)
    before = notes(anki)

    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The offset."))
    result = push(project, anki, "-v", now=NOW + 60)
    assert result.exit_code == 0, result.output
    assert "0 added, 1 updated, 2 unchanged, 0 conflicts" in result.stdout
    assert f"  ~ #2-1 (Anki note {anki_id})" in result.stdout.splitlines()
    after = notes(anki)
    assert {k for k in after if after[k] != before[k]} == {"2-1"}
    assert after["2-1"][1] == NOW + 60 and "The offset." in answer(anki, "2-1")
    assert anki.col.db.list("select id from revlog where cid = ?", card.id) == reviews
    assert anki.col.get_card(card.id).reps == 1


def test_an_edit_in_anki_is_never_overwritten(project: Project, anki: AnkiConnectServer) -> None:
    assert push(project, anki).exit_code == 0
    edit_in_anki(anki, "2", "<p>It shifts the threshold, fixed on the phone.</p>")
    edit_in_anki(anki, "2-1", "<p>The intercept, fixed on the phone.</p>")
    project.write(
        "cards/01-basics.md",
        BASICS.replace("It shifts the threshold:", "It moves the threshold:").replace(
            "**ReLU is", "**ReLU (rectified linear unit) is"
        ),
    )
    (anki_id,) = anki.call("findNotes", query="Id:2")

    result = push(project, anki, now=NOW + 60)
    assert result.exit_code == 1
    assert "1 added" not in result.stdout
    assert "0 added, 1 updated, 0 unchanged, 1 conflict" in result.stdout
    assert (
        f"conflict #2 (Anki note {anki_id}): edited in Anki and changed in the cards; "
        "Anki's version was kept. Changed in Anki since the last push:" in result.stderr
    )
    assert (
        "    Answer: It shifts the [-threshold: \\(w_1 x_1 + w_2 x_2 + b\\).-]"
        "{+threshold, fixed on the phone.+}\n" in result.stderr
    )
    assert "ml-anki push --force 2" in result.stderr
    assert "#2-1 (Anki note" in result.stdout and "left as it is in Anki" in result.stdout
    assert "Traceback" not in result.output
    # Anki's edits stay; everything else went in.
    assert "fixed on the phone" in answer(anki, "2")
    assert "fixed on the phone" in answer(anki, "2-1")
    assert "rectified linear unit" in answer(anki, "1")

    # Still a conflict the next time, until it is resolved.
    again = push(project, anki, now=NOW + 120)
    assert again.exit_code == 1 and "conflict #2 " in again.stderr
    assert "fixed on the phone" in answer(anki, "2")

    forced = push(project, anki, "--force", "2", now=NOW + 180)
    assert forced.exit_code == 0, forced.output
    assert "0 added, 1 updated, 1 unchanged, 0 conflicts" in forced.stdout
    assert "It moves the threshold" in answer(anki, "2")
    assert "fixed on the phone" in answer(anki, "2-1")


def test_a_dry_run_changes_nothing(project: Project, anki: AnkiConnectServer) -> None:
    result = push(project, anki, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "(dry run: nothing changed): 3 would be added" in result.stdout
    assert anki.col.find_notes("") == []
    assert not project.lock.exists()


def test_a_release_imported_after_pushes_duplicates_nothing(
    project: Project, anki: AnkiConnectServer
) -> None:
    assert push(project, anki).exit_code == 0
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "The offset."))
    assert push(project, anki, now=NOW + 60).exit_code == 0
    pushed = notes(anki)
    released = project.build(NOW + 60)
    anki.call("importPackage", path=str(released))
    assert notes(anki) == pushed
    assert len(anki.col.find_notes("")) == 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_anki_not_running(project: Project) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = project.cli("push", "--url", url)
    assert result.exit_code == 1
    assert result.stderr == (
        f"ml-anki: nothing answers at {url}: start Anki (and if AnkiConnect is not installed, "
        "install AnkiConnect in Anki (Tools → Add-ons → Get Add-ons…, code 2055492159) and "
        "restart Anki), or check --url\n"
    )


@pytest.mark.parametrize(
    ("options", "given", "message"),
    [
        (
            {"api_key": "s3cret"},
            (),
            ("requires an API key: pass the one in its config (Anki: Tools → Add-ons → "
            'AnkiConnect → Config, "apiKey") with --key'),
        ),
        (
            {"api_key": "s3cret"},
            ("--key", "wrong"),
            ("refused the API key given with --key: use the one in its config (Anki: Tools → "
            'Add-ons → AnkiConnect → Config, "apiKey")'),
        ),
        (
            {"api_version": 5},
            (),
            ("speaks API version 5, and ml-anki push needs version 6: update it (in Anki: "
            "Tools → Add-ons → Check for Updates) and restart Anki"),
        ),
        (
            {"without": frozenset({"importPackage"})},
            (),
            ("is too old: it has no 'importPackage' action; update it (in Anki: Tools → "
            "Add-ons → Check for Updates) and restart Anki"),
        ),
    ],
)  # fmt: skip
def test_what_anki_refuses_is_one_line(
    project: Project, tmp_path: Path, options: dict[str, object], given: tuple[str, ...],
    message: str,
) -> None:  # fmt: skip
    with running(tmp_path / "old" / "collection.anki2", **options) as server:
        result = push(project, server, *given)
    assert result.exit_code == 1
    assert result.stderr == f"ml-anki: AnkiConnect at {server.url} {message}\n"


def test_the_right_key_works(project: Project, tmp_path: Path) -> None:
    with running(tmp_path / "keyed" / "collection.anki2", api_key="s3cret") as server:
        result = push(project, server, "--key", "s3cret")
        assert result.exit_code == 0, result.output
        assert len(server.col.find_notes("")) == 3


def test_a_busy_anki_times_out(project: Project, tmp_path: Path) -> None:
    with running(tmp_path / "busy" / "collection.anki2", delay=2.5) as server:
        result = push(project, server, "--timeout", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "ml-anki: Anki did not answer 'version' within 1 s (is a dialog open in Anki, or is it "
        "syncing?); try again, or give it longer with --timeout\n"
    )


def test_new_figures_and_a_new_look_reach_anki(
    project: Project, anki: AnkiConnectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert push(project, anki).exit_code == 0
    project.write("media/bias.svg", RELU_SVG.replace("M0 10", "M0 5"))
    project.write(
        "cards/01-basics.md",
        BASICS.replace("The intercept.", "The intercept.\n\n![b](../media/bias.svg)"),
    )
    original = notetype.look

    def restyled(kind: notetype.Kind = "qa") -> notetype.NoteTypeLook:
        look = original(kind)
        return replace(look, css=look.css + "\n.card { letter-spacing: 0.01em; }\n")

    monkeypatch.setattr(notetype, "look", restyled)
    result = push(project, anki, now=NOW + 60)
    assert result.exit_code == 0, result.output
    assert "0 added, 1 updated, 2 unchanged, 0 conflicts" in result.stdout
    media = os.listdir(anki.col.media.dir())
    assert any(name.startswith("bias-") for name in media), media
    assert not any(name.endswith(".apkg") for name in media)
    # The Python side caches note types; the import changed this one underneath it.
    anki.col.models._clear_cache()
    model = anki.col.models.get(1700000000001)
    assert model is not None
    assert "letter-spacing: 0.01em" in model["css"]


def test_a_note_removed_from_the_cards_stays_in_anki(
    project: Project, anki: AnkiConnectServer
) -> None:
    assert push(project, anki).exit_code == 0
    before = notes(anki)
    without = BASICS.replace("    - [What is $b$ in $y = wx + b$?](#2-1)\n", "")
    project.write("cards/01-basics.md", without.split("## #2-1")[0])
    result = push(project, anki, now=NOW + 60)
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated, 2 unchanged, 0 conflicts" in result.stdout
    assert (
        "No longer in the cards, left in Anki as they are (the next release retires them): #2-1"
        in result.stdout
    )
    assert notes(anki) == before
