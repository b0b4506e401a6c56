"""Benchmark `ml-anki build` against its floor (genanki alone) and a peer (markdown-anki-decks).

Generates synthetic card sources in the real layout (each note with inline and display math, a
list and a code block that differs per note, so a cache hit is never free), then measures, each
run in a fresh process:

- cold build (empty render cache, no lock), no-change rebuild, one-edit rebuild;
- the floor: genanki alone packaging the same notes with their fields already rendered;
- the peer: `mdankideck` converting equivalent Markdown, when it is installed (it needs
  `click<8.2` and `typer<0.10`, so give it its own virtualenv and pass `--peer PATH`);
- `ml-anki --help` start-up time and peak memory (max RSS of the largest build process).

The peer and ml-anki run interleaved, round after round (peer, cold, no-change, one edit,
floor; then again), so that a shared machine's load falls on both alike: single runs on such a
machine swing the ratio between them from 0.8× to 1.9×. Each row reports the median and the
spread (lowest–highest) over the rounds; ratios are taken within a round, then summarised the
same way. Seconds depend on the machine and its load; compare the ratios.

    python benchmarks/bench.py [--sizes 1000,5000,10000] [--rounds 5] [--peer /path/to/mdankideck]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NOTES_PER_FILE = 100
PYPROJECT = """\
[project]
name = "bench-deck"
version = "1.0.0"

[tool.ml-anki]
deck-name = "Bench"
deck-slug = "bench"
namespace = "bench"
notetype-id = 1700000000101
notetype-name = "bench Q&A"
deck-id = 1700000000102
tag-prefix = "bench"
"""

FLOOR = """\
import json, sys, genanki
fields = json.load(open(sys.argv[1], encoding="utf-8"))
model = genanki.Model(1700000000201, "floor", fields=[{"name": n} for n in fields["names"]],
    templates=[{"name": "c", "qfmt": "{{Question}}", "afmt": "{{Answer}}"}])
deck = genanki.Deck(1700000000202, "floor")
for i, values in enumerate(fields["notes"]):
    deck.add_note(genanki.Note(model=model, fields=values, guid=genanki.guid_for("floor", i)))
genanki.Package(deck).write_to_file(sys.argv[2], timestamp=1_800_000_000)
"""


def note_markdown(i: int, heading: str) -> str:
    return (
        f"{heading}\n\n### 질문 {i}: gradient의 {i}번째 성질은?\n\n"
        f"**핵심 {i}.** 학습률 $\\eta_{{{i}}}$ 로 $\\theta \\leftarrow \\theta - \\eta \\nabla L$ 를 반복합니다.\n\n"
        f"- 첫째, $x_{{{i}}}^2 + y_{i}$ 는 볼록합니다.\n- 둘째, batch {i % 97} 개를 씁니다.\n\n"
        f"$$\nL_{{{i}}}(w) = \\frac{{1}}{{n}} \\sum_{{k=1}}^{{n}} (w x_k - y_k)^2 + {i}\n$$\n\n"
        f"```python\ndef step_{i}(w, g, lr={i % 7 + 1}e-3):\n    return w - lr * g  # note {i}\n```\n\n"
        f"##### References\n\n- [Source {i}](https://d2l.ai/)\n\n"
    )


def write_sources(root: Path, count: int) -> None:
    (root / "cards").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for start in range(0, count, NOTES_PER_FILE):
        body = "".join(
            note_markdown(i, f"## #{i + 1}")
            for i in range(start, min(start + NOTES_PER_FILE, count))
        )
        (root / "cards" / f"{start // NOTES_PER_FILE:04d}.md").write_text(body, encoding="utf-8")


def write_peer_sources(root: Path, count: int) -> None:
    """The same content in markdown-anki-decks' layout: `## question`, answer until the next `##`."""
    root.mkdir(parents=True)
    for start in range(0, count, NOTES_PER_FILE):
        notes = []
        for i in range(start, min(start + NOTES_PER_FILE, count)):
            text = (
                note_markdown(i, "")
                .replace("### ", "## ", 1)
                .replace("##### References", "**References**")
            )
            notes.append(text)
        (root / f"{start // NOTES_PER_FILE:04d}.md").write_text(
            f"# Deck {start}\n\n" + "".join(notes), encoding="utf-8"
        )


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    cpu_seconds: float
    """User and system time of the process and the workers it waited for: what the load of a
    shared machine changes least."""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    # stderr goes to a file: a pipe nobody reads while waiting would stall a chatty process.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read().decode()}")
    # ru_maxrss is KiB on Linux.
    return Run(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


@dataclass
class Spread:
    """The median of several measurements and their range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def cell(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def ml_anki() -> list[str]:
    return [sys.executable, "-m", "ml_anki"]


FIELDS_DUMP = """\
import json, sys, dataclasses
from pathlib import Path
from ml_anki import build, config
c = config.load(Path('.'))
c = dataclasses.replace(c, run=dataclasses.replace(c.run, cache_dir=None))
r = build.check(c).rendered
names = ['Question', 'Context', 'Answer', 'References']
notes = [[n.question_html, n.context_html, n.answer_html, n.references_html] for n in r]
json.dump({'names': names, 'notes': notes}, open(sys.argv[1], 'w'))
"""


def bench_size(count: int, rounds: int, peer: str | None, work: Path) -> dict[str, list[Run]]:
    root = work / f"deck-{count}"
    write_sources(root, count)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1800000000")
    # The floor packages the fields ml-anki renders, computed once beforehand.
    fields_file = work / f"fields-{count}.json"
    subprocess.run([sys.executable, "-c", FIELDS_DUMP, str(fields_file)], cwd=root, check=True)
    floor_script = work / "floor.py"
    floor_script.write_text(FLOOR, encoding="utf-8")
    peer_root = work / f"peer-{count}"
    if peer:
        write_peer_sources(peer_root / "in", count)

    names = (["peer"] if peer else []) + ["cold", "nochange", "oneedit", "floor"]
    results: dict[str, list[Run]] = {name: [] for name in names}
    edited = root / "cards" / "0000.md"
    original = edited.read_text(encoding="utf-8")
    for round_ in range(rounds):
        if peer:
            shutil.rmtree(peer_root / "out", ignore_errors=True)
            (peer_root / "out").mkdir()
            command = [peer, str(peer_root / "in"), str(peer_root / "out")]
            results["peer"].append(timed(command, peer_root, env))
        env["ML_ANKI_CACHE_DIR"] = str(work / f"cache-{count}-{round_}")
        (root / "ml-anki.lock").unlink(missing_ok=True)
        shutil.rmtree(root / "dist", ignore_errors=True)
        edited.write_text(original, encoding="utf-8")
        results["cold"].append(timed([*ml_anki(), "build", "-q"], root, env))
        results["nochange"].append(timed([*ml_anki(), "build", "-q"], root, env))
        edited.write_text(original.replace("첫째", f"첫째(수정 {round_})", 1), encoding="utf-8")
        results["oneedit"].append(timed([*ml_anki(), "build", "-q"], root, env))
        command = [sys.executable, str(floor_script), str(fields_file), str(work / "floor.apkg")]
        results["floor"].append(timed(command, root, env))
        shutil.rmtree(work / f"cache-{count}-{round_}", ignore_errors=True)
        print(
            f"  {count} notes, round {round_ + 1}/{rounds}: "
            + ", ".join(f"{name} {runs[-1].seconds:.2f} s" for name, runs in results.items()),
            file=sys.stderr,
        )
    edited.write_text(original, encoding="utf-8")
    return results


def ratio(results: dict[str, list[Run]], top: str, bottom: str) -> Spread:
    """`top ÷ bottom`, taken within each round (the two ran under the same load)."""
    pairs = zip(results[top], results[bottom], strict=True)
    return Spread.of([a.seconds / b.seconds for a, b in pairs])


def help_time(runs: int) -> float:
    samples = []
    for _ in range(max(runs, 10)):
        start = time.perf_counter()
        subprocess.run([*ml_anki(), "--help"], check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated note counts")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median, range)")
    parser.add_argument("--peer", default=shutil.which("mdankideck"), help="path to mdankideck")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, "
        f"{platform.system()}; {args.rounds} interleaved rounds, median (lowest–highest)"
    )
    with tempfile.TemporaryDirectory(prefix="ml-anki-bench-") as tmp:
        results = {n: bench_size(n, args.rounds, args.peer, Path(tmp)) for n in sizes}
    help_seconds = help_time(args.rounds)

    columns = ["cold", "nochange", "oneedit", "floor"] + (["peer"] if args.peer else [])
    print()
    print("| notes | " + " | ".join(f"{c} (s)" for c in columns) + " | peak RSS cold (MB) |")
    print("|---:|" + "---:|" * (len(columns) + 1))
    for n, r in results.items():
        cells = " | ".join(Spread.of([run.seconds for run in r[c]]).cell() for c in columns)
        print(f"| {n:,} | {cells} | {max(run.max_rss_mb for run in r['cold']):.0f} |")
    print()
    print(f"`ml-anki --help`: {help_seconds * 1000:.0f} ms")
    for n, r in results.items():
        line = (
            f"{n:,} notes: cold ÷ floor = {ratio(r, 'cold', 'floor').cell()}, "
            f"no-change ÷ floor = {ratio(r, 'nochange', 'floor').cell()}, "
            f"cold ÷ no-change = {ratio(r, 'cold', 'nochange').cell(1)}, "
            f"cold ÷ one-edit = {ratio(r, 'cold', 'oneedit').cell(1)}"
        )
        if "peer" in r:
            line += f", peer ÷ cold = {ratio(r, 'peer', 'cold').cell()}"
            cpu = Spread.of([a.cpu_seconds / b.cpu_seconds for a, b in zip(r["peer"], r["cold"])])
            line += f" (in CPU seconds, peer ÷ cold = {cpu.cell()})"
        print(line)
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        per_note = (statistics.median(run.seconds for run in results[large]["cold"]) / large) / (
            statistics.median(run.seconds for run in results[small]["cold"]) / small
        )
        print(f"per-note cold time, {large:,} ÷ {small:,}: {per_note:.2f}")
    if args.json:
        raw = {n: {k: [vars(run) for run in v] for k, v in r.items()} for n, r in results.items()}
        args.json.write_text(json.dumps({"help_seconds": help_seconds, "results": raw}, indent=2))


if __name__ == "__main__":
    main()
