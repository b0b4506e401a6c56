"""`ml-anki watch`: the preview served on loopback HTTP, rebuilt on every save, reloading itself.

A warm process: each rebuild runs the same pipeline as `ml-anki preview` (`build.plan`, then
`preview.pages`) with a `Memo` of the earlier builds, so only what a save changed is parsed,
rendered, decided and filled again, and the result is exactly what a fresh `ml-anki preview`
writes. The pages are kept in memory, as bytes, and swapped in whole once complete, so a page
never mixes two builds. A build with errors keeps the last good pages but serves an error page
in place of the index (the problems exactly as `check` prints them): stale cards are never shown
without a notice. The open page listens for a new build generation (Server-Sent Events) and
reloads itself, keeping the card it showed and its toggles. A change to pyproject.toml reads
the config again.

File events come from watchfiles (inotify/FSEvents/ReadDirectoryChangesW through the Rust
`notify` crate), which groups the several events of one editor save (temporary file, rename,
attribute change) into one batch: one batch, one rebuild.
"""

from __future__ import annotations

import html
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import build, preview
from .config import DeckConfig
from .errors import Problem, SourceError, SourceSpan
from .memo import Memo

LOOPBACK = "127.0.0.1"
"""Only this machine may see the cards being written (and nothing here is hardened for more)."""

EVENTS_PATH = "/__ml-anki/events"
STATUS_PATH = "/__ml-anki/status"
MATHJAX_PATH = "/__ml-anki/mathjax/"

SAVE_QUIET_MS = 50
"""A save is over when no file event came for this long (editors write, rename and chmod
within a few milliseconds); short enough not to be felt."""
SAVE_LONGEST_MS = 1600
"""Events for longer than this (a `git checkout` of many files) are still split into batches."""


@dataclass(frozen=True, slots=True)
class Rebuild:
    """One build of the preview, good or failed."""

    generation: int
    """Counts builds since the start; the open page reloads when it changes."""
    seconds: float
    notes: int
    """Notes shown (0 when the build failed)."""
    problems: tuple[Problem, ...]
    """Warnings of a good build; errors (and warnings) of a failed one, sorted."""
    changed: tuple[Path, ...]
    """The files whose change started this build (none for the first one)."""

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True, slots=True)
class _Served:
    """One good build's pages, as bytes, swapped in whole: a page never mixes two builds."""

    index_html: bytes
    """With the script that reloads it on the next build."""
    cards_html: bytes
    figures: Mapping[str, bytes]
    """Media name → the figure's bytes as this build read them."""


class LivePreview:
    """The pages being served and how to rebuild them; shared by the server's threads."""

    def __init__(
        self,
        config: DeckConfig,
        mathjax: str,
        load_config: Callable[[], DeckConfig] | None = None,
    ) -> None:
        self.config = config
        self.mathjax = mathjax
        self._load_config = load_config
        self._config_file = (config.root / "pyproject.toml").resolve()
        self._config_stale = False
        self._memo = Memo()
        self._lock = threading.Condition()
        self._serving: _Served | None = None
        self._error_page: str | None = None
        self.last: Rebuild | None = None

    def rebuild(self, changed: tuple[Path, ...] = ()) -> Rebuild:
        started = time.perf_counter()
        generation = (self.last.generation + 1) if self.last is not None else 1
        served = None
        try:
            if self._load_config is not None and (
                self._config_stale or any(p.resolve() == self._config_file for p in changed)
            ):
                # Until the config reads without errors, every build reports them.
                self._config_stale = True
                self.config = self._load_config()
                self._config_stale = False
            self._memo.next_build()
            planned = build.plan(self.config, memo=self._memo)
            shown = preview.pages(self.config, planned.deck, self.mathjax, self._memo)
            figures = {}
            for media in shown.media:
                assert media.source is not None, "a decided deck knows its media files"
                figures[media.name] = media.source.read_bytes()
        except SourceError as exc:
            problems, notes = tuple(exc.problems), 0
        except OSError as exc:
            # A file can vanish between the event and the read (an editor's rename): the next
            # event rebuilds; until then the page says what happened.
            where = SourceSpan(Path(exc.filename)) if exc.filename else SourceSpan(Path("."))
            problems, notes = (Problem(where, "error", exc.strerror or str(exc)),), 0
        else:
            problems = tuple(p for p in planned.checked.problems if p.severity == "warning")
            notes = len(planned.deck.notes)
            served = _Served(
                _with_live_script(shown.index_html, generation).encode(),
                shown.cards_html,
                figures,
            )
        rebuild = Rebuild(generation, time.perf_counter() - started, notes, problems, changed)
        with self._lock:
            if served is not None:
                self._serving, self._error_page = served, None
            else:
                self._error_page = error_page(self.config, rebuild)
            self.last = rebuild
            self._lock.notify_all()
        return rebuild

    def page(self, name: str) -> tuple[bytes, str] | None:
        """A served file's bytes and type: the error page stands in for `index.html`."""
        with self._lock:
            serving, error = self._serving, self._error_page
        if name in ("", "index.html"):
            if error is not None:
                return error.encode(), "text/html; charset=utf-8"
            if serving is None:
                return None
            return serving.index_html, "text/html; charset=utf-8"
        if serving is None:
            return None
        if name == "cards.html":
            return serving.cards_html, "text/html; charset=utf-8"
        figure = serving.figures.get(name)
        return None if figure is None else (figure, _content_type(name))

    def status(self) -> dict[str, object]:
        with self._lock:
            last = self.last
        if last is None:
            return {"generation": 0, "ok": False, "notes": 0, "seconds": 0.0}
        return {
            "generation": last.generation,
            "ok": last.ok,
            "notes": last.notes,
            "seconds": round(last.seconds, 4),
        }

    def generations(self, stop: threading.Event, keepalive: float = 15.0) -> Iterator[int | None]:
        """The current generation, then each new one; None now and then to keep a stream open."""
        with self._lock:
            seen = self._generation()
        yield seen
        while not stop.is_set():
            with self._lock:
                self._lock.wait_for(partial(self._moved_on, seen, stop), keepalive)
                current = self._generation()
            if current != seen:
                seen = current
                yield seen
            else:
                yield None

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _moved_on(self, seen: int, stop: threading.Event) -> bool:
        return self._generation() != seen or stop.is_set()

    def _generation(self) -> int:
        return self.last.generation if self.last is not None else 0


_ERROR_CSS = """\
body { margin: 0; padding: 1rem 1.25rem; background: #fff8f8; color: #1f2328;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans KR", sans-serif; }
h1 { font-size: 1.1rem; color: #b42318; margin: 0 0 0.5rem; }
pre { white-space: pre-wrap; word-break: break-word; padding: 0.75rem; background: #fff;
  border: 1px solid #f1c0c0; border-radius: 6px; font: 13px/1.5 ui-monospace, Menlo, monospace; }
"""


def error_page(config: DeckConfig, rebuild: Rebuild) -> str:
    """The problems as `check` prints them, in place of the cards, until they are fixed."""
    lines = "\n".join(html.escape(str(p)) for p in rebuild.problems)
    errors = sum(p.severity == "error" for p in rebuild.problems)
    summary = f"ml-anki: {errors} error{'s' if errors != 1 else ''}; nothing was written"
    return f"""{preview.page_head(config, "errors", _ERROR_CSS)}
</head>
<body>
<h1>The cards have errors: nothing new is shown until they are fixed</h1>
<p>This page turns back into the cards by itself once every error is fixed.</p>
<pre id="problems">{lines}
{html.escape(summary)}</pre>
<script>
{_reload_script(rebuild.generation, keep_state=False)}
</script>
</body>
</html>
"""


def _reload_script(generation: int, keep_state: bool) -> str:
    """Reload on a new build; the cards page first remembers its toggles and the card shown."""
    remember = (
        """
    const doc = frame.contentDocument;
    const shown = doc ? [...doc.querySelectorAll("section.mlp-note")]
      .find((note) => note.getBoundingClientRect().bottom > 1) : null;
    sessionStorage.setItem(KEY, JSON.stringify({
      night: night.checked, phone: phone.checked, note: shown ? shown.id.slice(5) : null }));"""
        if keep_state
        else ""
    )
    return f"""(() => {{
  const KEY = "ml-anki-watch";
  const built = {generation};
  const events = new EventSource("{EVENTS_PATH}");
  events.onmessage = (event) => {{
    if (Number(event.data) === built) return;{remember}
    events.close();
    location.reload();
  }};
}})();"""


_RESTORE = """(() => {
  const saved = JSON.parse(sessionStorage.getItem("ml-anki-watch") || "null");
  if (!saved) return;
  night.checked = saved.night;
  phone.checked = saved.phone;
  apply();
  if (saved.note) {
    jump.value = saved.note;
    frame.addEventListener("load", () => {
      frame.contentWindow.postMessage({ show: saved.note }, "*");
    }, { once: true });
  }
})();"""


def _with_live_script(index_html: str, generation: int) -> str:
    script = f"<script>\n{_RESTORE}\n{_reload_script(generation, keep_state=True)}\n</script>\n"
    head, sep, tail = index_html.rpartition("</body>")
    return head + script + sep + tail if sep else index_html + script


_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}


def _content_type(name: str) -> str:
    return _TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


class PortUnavailable(Exception):
    """The port asked for cannot be listened on (usually: another program has it)."""

    def __init__(self, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {LOOPBACK}:{port}: {reason}")
        self.port = port
        self.reason = reason


class Server:
    """The HTTP server on 127.0.0.1, answering from a `LivePreview` in its own threads."""

    def __init__(self, live: LivePreview, port: int, mathjax_dir: Path | None) -> None:
        self.live = live
        self.stop = threading.Event()
        handler = _handler(live, self.stop, mathjax_dir)
        self.httpd = ThreadingHTTPServer((LOOPBACK, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.httpd.server_address[1]}/"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        self.live.wake()
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(
    live: LivePreview, stop: threading.Event, mathjax_dir: Path | None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ml-anki-watch"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == EVENTS_PATH:
                self._events()
            elif path == STATUS_PATH:
                self._send(json.dumps(live.status()).encode(), "application/json")
            elif path.startswith(MATHJAX_PATH) and mathjax_dir is not None:
                self._mathjax(path[len(MATHJAX_PATH) :])
            else:
                found = live.page(path.lstrip("/"))
                if found is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                else:
                    self._send(*found)

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # Every build changes what these names hold.
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _mathjax(self, relative: str) -> None:
            assert mathjax_dir is not None
            target = (mathjax_dir / relative).resolve()
            if not target.is_relative_to(mathjax_dir.resolve()) or not target.is_file():
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self._send(target.read_bytes(), _content_type(target.name))

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for generation in live.generations(stop):
                    line = ": keep-alive\n\n" if generation is None else f"data: {generation}\n\n"
                    self.wfile.write(line.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page was closed or reloaded

        def log_message(self, format: str, *args: object) -> None:
            pass  # the terminal shows builds, not requests

    return Handler


def _relevant(config: DeckConfig) -> Callable[[Path], bool]:
    """Changes that can change the deck: cards, figures, the config and the lock."""
    cards, media = config.cards_dir.resolve(), config.media_dir.resolve()
    root_files = {(config.root / "pyproject.toml").resolve(), config.lock_path.resolve()}

    def relevant(path: Path) -> bool:
        path = path.resolve()
        return path in root_files or path.is_relative_to(cards) or path.is_relative_to(media)

    return relevant


def run(
    config: DeckConfig,
    port: int,
    mathjax: str | None,
    on_ready: Callable[[str], None],
    on_rebuild: Callable[[Rebuild], None],
    stop: threading.Event | None = None,
    load_config: Callable[[], DeckConfig] | None = None,
) -> None:
    """Serve and rebuild until `stop` is set or Ctrl-C (KeyboardInterrupt) arrives.

    `mathjax`: a URL, a local MathJax script (served from its own folder), or None for the CDN.
    `load_config` reads the config again when pyproject.toml changes (None: keep `config`).
    """
    import watchfiles

    stop = stop or threading.Event()
    mathjax_dir = None
    if mathjax is not None and not preview.is_url(mathjax):
        mathjax_dir = Path(mathjax).resolve().parent
    live = LivePreview(config, preview.MATHJAX_URL, load_config)
    try:
        server = Server(live, port, mathjax_dir)
    except OSError as exc:
        raise PortUnavailable(port, exc.strerror or str(exc)) from None
    if mathjax_dir is not None:
        live.mathjax = f"{server.url.rstrip('/')}{MATHJAX_PATH}{Path(str(mathjax)).name}"
    elif mathjax is not None:
        live.mathjax = mathjax
    changes: queue.Queue[set[Path]] = queue.Queue()
    relevant = _relevant(config)

    def watch(paths: list[Path], recursive: bool) -> None:
        for batch in watchfiles.watch(
            *paths,
            debounce=SAVE_LONGEST_MS,
            step=SAVE_QUIET_MS,
            stop_event=stop,
            recursive=recursive,
            raise_interrupt=False,
            rust_timeout=500,
        ):
            found = {Path(name) for _, name in batch if relevant(Path(name))}
            if found:
                changes.put(found)

    # The project folder itself only for pyproject.toml and the lock: recursing into it
    # would watch .git, .venv and node_modules too.
    watchers = [
        threading.Thread(target=watch, args=([config.root], False), daemon=True),
        threading.Thread(
            target=watch,
            args=([d for d in (config.cards_dir, config.media_dir) if d.is_dir()], True),
            daemon=True,
        ),
    ]
    try:
        for thread in watchers:
            thread.start()
        server.start()
        on_rebuild(live.rebuild())
        on_ready(server.url)
        while not stop.is_set():
            try:
                batch = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            # Changes that arrived while the last build ran go into the same next build.
            while True:
                try:
                    batch |= changes.get_nowait()
                except queue.Empty:
                    break
            on_rebuild(live.rebuild(tuple(sorted(batch))))
    finally:
        stop.set()
        server.close()
        for thread in watchers:
            thread.join(timeout=2)
