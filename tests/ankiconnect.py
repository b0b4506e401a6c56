"""An AnkiConnect server for the tests: the add-on's HTTP protocol over a real `anki` collection.

Not a mock. Every answer comes from the official `anki` package working on a real collection,
the way the AnkiConnect add-on (code 2055492159) computes it inside Anki: `importPackage` runs
the same `anki.importing.AnkiPackageImporter` the add-on runs, `notesInfo` reads the notes,
`storeMediaFile` writes into the collection's media folder. The protocol is the add-on's:
a POST of `{action, version, params, key}`; the reply `{result, error}` (for version 5 and
later), where an error is a message in `error`, never an HTTP error; `multi` runs each of its
actions through the same handler (each with its own key and version); a wrong key is refused
with the add-on's own message. Only the actions `ml-anki push` and the tests use are here.

Knobs for the failure paths push must explain: `api_version` (an old add-on answers
`version` with 5, say), `without` (actions such an add-on lacks), `api_key`, `delay` (seconds
before each answer: a busy Anki).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from anki.collection import Collection
from anki.errors import NotFoundError


class ActionFailed(Exception):
    """What the add-on raises inside an action; its message becomes the reply's `error`."""


class AnkiConnect:
    """The add-on's actions over one open collection (its handler, without Qt)."""

    def __init__(
        self,
        col: Collection,
        api_key: str | None = None,
        api_version: int = 6,
        without: frozenset[str] = frozenset(),
    ) -> None:
        self.col = col
        self.api_key = api_key
        self.api_version = api_version
        self.without = without
        self.calls: list[str] = []
        """Every action asked for, in order (`multi`'s own actions included)."""

    def handle(self, request: dict[str, Any]) -> Any:
        name = request.get("action", "")
        version = request.get("version", 4)
        params = request.get("params", {})
        key = request.get("key")
        self.calls.append(name)
        try:
            if key != self.api_key and name != "requestPermission":
                raise ActionFailed("valid api key must be provided")
            method: Callable[..., Any] | None = getattr(self, f"action_{name}", None)
            if method is None or name in self.without:
                raise ActionFailed("unsupported action")
            result = method(**params)
        except Exception as exc:  # noqa: BLE001 (the add-on turns every failure into an error reply)
            return {"error": str(exc)} if version <= 4 else {"result": None, "error": str(exc)}
        return result if version <= 4 else {"result": result, "error": None}

    # Miscellaneous

    def action_version(self) -> int:
        return self.api_version

    def action_multi(self, actions: list[dict[str, Any]]) -> list[Any]:
        return [self.handle(action) for action in actions]

    def action_modelNames(self) -> list[str]:
        return [entry.name for entry in self.col.models.all_names_and_ids()]

    def action_deckNames(self) -> list[str]:
        return [entry.name for entry in self.col.decks.all_names_and_ids()]

    # Media

    def action_storeMediaFile(
        self,
        filename: str,
        data: str | None = None,
        path: str | None = None,
        url: str | None = None,
        skipHash: str | None = None,
        deleteExisting: bool = True,
    ) -> str:
        if not (data or path or url):
            raise ActionFailed('You must provide a "data", "path", or "url" field.')
        if url:
            raise ActionFailed("this test server does not download")
        media = base64.b64decode(data) if data else Path(str(path)).read_bytes()
        if deleteExisting:
            self.action_deleteMediaFile(filename)
        return str(self.col.media.write_data(filename, media))

    def action_deleteMediaFile(self, filename: str) -> None:
        self.col.media.trash_files([filename])

    def action_getMediaDirPath(self) -> str:
        return os.path.abspath(self.col.media.dir())

    def action_getMediaFilesNames(self, pattern: str = "*") -> list[str]:
        import glob

        return [os.path.basename(p) for p in glob.glob(os.path.join(self.col.media.dir(), pattern))]

    # Notes

    def action_findNotes(self, query: str | None = None) -> list[int]:
        if query is None:
            return []
        return list(self.col.find_notes(query))

    def action_notesInfo(
        self, notes: list[int] | None = None, query: str | None = None
    ) -> list[dict[str, Any]]:
        if notes is None and query is None:
            raise ActionFailed('Must provide either "notes" or a "query"')
        if query is not None:
            notes = self.action_findNotes(query)
        result: list[dict[str, Any]] = []
        for nid in notes or []:
            try:
                note = self.col.get_note(nid)
            except NotFoundError:
                # The add-on answers {} for a missing note, so answers line up with questions.
                result.append({})
                continue
            model = note.note_type()
            assert model is not None
            fields = {
                info["name"]: {"value": note.fields[info["ord"]], "order": info["ord"]}
                for info in model["flds"]
            }
            result.append(
                {
                    "noteId": note.id,
                    "profile": "User 1",
                    "tags": note.tags,
                    "fields": fields,
                    "modelName": model["name"],
                    "mod": note.mod,
                    "cards": self.col.db.list(
                        "select id from cards where nid = ? order by ord", note.id
                    ),
                }
            )
        return result

    def action_updateNoteFields(self, note: dict[str, Any]) -> None:
        try:
            anki_note = self.col.get_note(note["id"])
        except NotFoundError:
            raise ActionFailed(f"Note was not found: {note['id']}") from None
        for name, value in note["fields"].items():
            if name in anki_note:
                anki_note[name] = value
        self.col.update_note(anki_note, skip_undo_entry=True)

    # Import

    def action_importPackage(self, path: str) -> bool:
        # What the add-on's `from anki.importing import AnkiPackageImporter` resolves to (by
        # its private name: the public one prints a deprecation notice into the output).
        from anki.importing import _LegacyAnkiPackageImporter as AnkiPackageImporter

        # Anki desktop runs with the media folder as its working directory, so the add-on's
        # relative paths are relative to it.
        target = Path(path)
        if not target.is_absolute():
            target = Path(self.col.media.dir()) / target
        AnkiPackageImporter(self.col, str(target)).run()
        return True


class AnkiConnectServer:
    """`AnkiConnect` on a free port of 127.0.0.1, in a thread; one request at a time, as the
    add-on answers them on Anki's main thread."""

    def __init__(self, collection: Path, delay: float = 0.0, **options: Any) -> None:
        collection.parent.mkdir(parents=True, exist_ok=True)
        self.col = Collection(str(collection))
        self.anki = AnkiConnect(self.col, **options)
        self.delay = delay
        self._lock = threading.Lock()
        self.httpd = HTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def call(self, action: str, **params: Any) -> Any:
        """Ask the collection directly, as a test inspecting Anki would (no HTTP)."""
        with self._lock:
            reply = self.anki.handle(
                {"action": action, "version": 6, "params": params, "key": self.anki.api_key}
            )
        assert reply["error"] is None, reply["error"]
        return reply["result"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            self.col.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if server.delay:
                    time.sleep(server.delay)
                try:
                    request = json.loads(body)
                except ValueError:
                    reply: Any = {"result": None, "error": "request is not valid JSON"}
                else:
                    with server._lock:
                        reply = server.anki.handle(request)
                payload = json.dumps(reply).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def running(collection: Path, **options: Any) -> Iterator[AnkiConnectServer]:
    server = AnkiConnectServer(collection, **options)
    try:
        yield server
    finally:
        server.close()
