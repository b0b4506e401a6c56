"""Benchmark the author's edit loop: `ml-anki watch` from save to served page, and `ml-anki push`.

For each size (the real 46-note deck of this repository, and synthetic decks from bench.py's
generator), measures, as medians:

- watch: the time from saving one card (write a temporary file, rename it over the card, as
  editors do) until `watch` serves the rebuilt preview (its status endpoint reports the new
  build), in one warm `ml-anki watch` process;
- push: a one-edit `ml-anki push --dry-run` and `ml-anki push`, each a fresh process as the
  author runs it, against tests/ankiconnect.py (the AnkiConnect protocol over a real `anki`
  collection, which needs `pip install -e '.[test]'`) after a first push of the whole deck.

Seconds depend on the machine and its load.

    python benchmarks/loop.py [--sizes 46,5000] [--runs 5] [--watch-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO / "tests")]

from bench import ml_anki, write_sources

REAL = 46
"""The repository's own deck (cards/, media/, its lock), not a synthetic one."""


def make_deck(root: Path, count: int) -> Path:
    """The deck to measure and the card file to edit in it."""
    if count == REAL:
        root.mkdir(parents=True)
        for name in ("cards", "media"):
            shutil.copytree(REPO / name, root / name)
        for name in ("pyproject.toml", "ml-anki.lock"):
            shutil.copy(REPO / name, root / name)
        return min((root / "cards").glob("*.md"))
    write_sources(root, count)
    return root / "cards" / "0000.md"


def save(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.swp-save")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def edited(text: str, run: int) -> str:
    # A word inside an answer: a change every learner would see, in one note.
    return re.sub(r"(\n\n[^#\n][^\n]*?)([.!?]?)\n", rf"\1 (edit {run})\2\n", text, count=1)


def status(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url + "__ml-anki/status", timeout=30) as reply:
        return dict(json.loads(reply.read()))


def bench_watch(root: Path, card: Path, runs: int, env: dict[str, str]) -> list[float]:
    process = subprocess.Popen(
        [*ml_anki(), "watch"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    url = None
    for line in process.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if found:
            url = found.group(1)
            break
    assert url is not None, "watch did not start"
    original = card.read_text(encoding="utf-8")
    samples = []
    try:
        for run in range(runs + 1):
            before = int(str(status(url)["generation"]))
            started = time.perf_counter()
            save(card, edited(original, run))
            while True:
                now = status(url)
                if int(str(now["generation"])) > before:
                    break
                time.sleep(0.002)
            elapsed = time.perf_counter() - started
            assert now["ok"], "the edited deck did not build"
            if run:  # the first rebuild warms the process up
                samples.append(elapsed)
            time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=30)
        card.write_text(original, encoding="utf-8")
    return samples


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def bench_push(
    root: Path, card: Path, runs: int, env: dict[str, str], work: Path
) -> dict[str, list[float]]:
    from ankiconnect import running

    original = card.read_text(encoding="utf-8")
    times: dict[str, list[float]] = {"first": [], "dry": [], "real": []}
    with running(work / f"anki-{root.name}" / "collection.anki2") as server:
        push = [*ml_anki(), "push", "--url", server.url, "--timeout", "600"]
        times["first"].append(timed(push, root, env))
        for run in range(runs):
            save(card, edited(original, 100 + run))
            env = dict(env, SOURCE_DATE_EPOCH=str(1_800_000_000 + 60 * (run + 1)))
            times["dry"].append(timed([*push, "--dry-run"], root, env))
            times["real"].append(timed(push, root, env))
    card.write_text(original, encoding="utf-8")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=f"{REAL},5000", help="comma-separated note counts")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--watch-only", action="store_true", help="measure watch, not push")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()}; seconds, medians of {args.runs}"
    )
    print(
        "| notes | watch: save → served | (fastest–slowest) | push --dry-run, one edit "
        "| push, one edit | first push |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="ml-anki-loop-") as tmp:
        work = Path(tmp)
        for count in sizes:
            root = work / f"deck-{count}"
            card = make_deck(root, count)
            env = dict(
                os.environ,
                SOURCE_DATE_EPOCH="1800000000",
                ML_ANKI_CACHE_DIR=str(work / f"cache-{count}"),
            )
            # A first build fills the render cache and the lock, as an author's checkout has.
            timed([*ml_anki(), "build", "-q"], root, env)
            watch = bench_watch(root, card, args.runs, env)
            med = statistics.median
            row = f"| {count:,} | {med(watch):.3f} | {min(watch):.3f}–{max(watch):.3f} |"
            if args.watch_only:
                row += " | | |"
            else:
                push = bench_push(root, card, args.runs, env, work)
                row += (
                    f" {med(push['dry']):.2f} | {med(push['real']):.2f} | {push['first'][0]:.2f} |"
                )
            print(row, flush=True)


if __name__ == "__main__":
    main()
