"""Where a note's rendering time goes: Markdown, Pygments, the sanitizer and lint, per note.

Renders the notes of a synthetic deck (the generator of `bench.py`) in one process, as a cold
build's workers do, and times each stage by CPU time (not wall time, so that a shared machine's
load matters less). Run it from the repository, or with `PYTHONPATH=<other checkout>/src` to
measure another version of the code on the same notes.

    python benchmarks/split.py [--notes 1500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import write_sources

from ml_anki import lint, markdown_ext, render, source

Stage = Callable[..., Any]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1500, help="notes to render")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the fastest is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ml-anki-split-") as tmp:
        root = Path(tmp)
        write_sources(root, args.notes)
        notes = source.load(root / "cards").notes
        renderer = render.Renderer(root / "media", "bench")
        for note in notes[:50]:  # lexers and caches warm, as in a worker after its first notes
            renderer.note(note, None)

        spent: dict[str, float] = {}

        def timed(name: str, stage: Stage) -> Stage:
            def run(*args: Any, **kwargs: Any) -> Any:
                start = time.process_time()
                try:
                    return stage(*args, **kwargs)
                finally:
                    spent[name] = spent.get(name, 0.0) + time.process_time() - start

            return run

        # The stages as the renderer calls them: Markdown's convert (highlighting included),
        # the highlighter inside it, the sanitizer; lint after each note, with the rendered
        # note when this version of lint takes one.
        renderer._md.convert = timed("markdown", renderer._md.convert)
        markdown_ext.highlight = timed("pygments", markdown_ext.highlight)
        render.sanitize = timed("nh3", render.sanitize)
        lint_note = timed("lint", lint.note)
        with_render = len(inspect.signature(lint.note).parameters) > 1
        best: dict[str, float] | None = None
        for _ in range(args.rounds):
            spent.clear()
            start = time.process_time()
            for note in notes:
                rendered, _ = renderer.note(note, None)
                lint_note(note, rendered) if with_render else lint_note(note)
            spent["total"] = time.process_time() - start
            if best is None or spent["total"] < best["total"]:
                best = dict(spent)
    assert best is not None
    total = best["total"]
    best["markdown"] -= best["pygments"]  # highlighting runs inside Markdown's convert
    best["other"] = total - sum(v for k, v in best.items() if k != "total")
    print(f"{len(notes)} notes: {total / len(notes) * 1000:.2f} ms of CPU per note")
    for name in ("markdown", "pygments", "nh3", "lint", "other"):
        print(f"  {name:9} {best[name] / total:4.0%}")


if __name__ == "__main__":
    main()
