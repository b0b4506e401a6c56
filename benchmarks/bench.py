"""Benchmark `ml-anki build` against its floor (genanki alone) and a peer (markdown-anki-decks).

Generates synthetic card sources in the real layout (each note with inline and display math, a
list and a code block that differs per note, so a cache hit is never free), then measures, as
the median of several runs, each in a fresh process:

- cold build (empty render cache, no lock), no-change rebuild, one-edit rebuild;
- `ml-anki --help` start-up time;
- peak memory (max RSS of the build process);
- the floor: genanki alone packaging the same notes with their fields already rendered;
- the peer: `mdankideck` converting equivalent Markdown, when it is installed (it needs
  `click<8.2` and `typer<0.10`, so give it its own virtualenv and pass `--peer PATH`).

Seconds depend on the machine and its load; the ratios printed at the end are what to compare.

    python benchmarks/bench.py [--sizes 1000,5000,10000] [--runs 3] [--peer /path/to/mdankideck]
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


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    # ru_maxrss is KiB on Linux.
    return Run(elapsed, usage.ru_maxrss / 1024)


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.max_rss_mb for r in runs))


def ml_anki() -> list[str]:
    return [sys.executable, "-m", "ml_anki"]


def bench_size(count: int, runs: int, peer: str | None, work: Path) -> dict[str, Run]:
    root = work / f"deck-{count}"
    write_sources(root, count)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1800000000")
    results: dict[str, list[Run]] = {"cold": [], "nochange": [], "oneedit": []}
    edited = root / "cards" / "0000.md"
    original = edited.read_text(encoding="utf-8")
    for run in range(runs):
        env["ML_ANKI_CACHE_DIR"] = str(work / f"cache-{count}-{run}")
        (root / "ml-anki.lock").unlink(missing_ok=True)
        shutil.rmtree(root / "dist", ignore_errors=True)
        edited.write_text(original, encoding="utf-8")
        results["cold"].append(timed([*ml_anki(), "build", "-q"], root, env))
        results["nochange"].append(timed([*ml_anki(), "build", "-q"], root, env))
        edited.write_text(original.replace("첫째", f"첫째(수정 {run})", 1), encoding="utf-8")
        results["oneedit"].append(timed([*ml_anki(), "build", "-q"], root, env))
    edited.write_text(original, encoding="utf-8")

    # The floor: genanki alone, fields already rendered by ml-anki.
    fields_file = work / f"fields-{count}.json"
    dump = (
        "import json, sys, dataclasses\n"
        "from pathlib import Path\n"
        "from ml_anki import build, config\n"
        "c = config.load(Path('.'))\n"
        "c = dataclasses.replace(c, run=dataclasses.replace(c.run, cache_dir=None))\n"
        "r = build.check(c).rendered\n"
        "names = ['Question', 'Context', 'Answer', 'References']\n"
        "notes = [[n.question_html, n.context_html, n.answer_html, n.references_html] for n in r]\n"
        f"json.dump({{'names': names, 'notes': notes}}, open({str(fields_file)!r}, 'w'))\n"
    )
    subprocess.run([sys.executable, "-c", dump], cwd=root, check=True)
    floor_script = work / "floor.py"
    floor_script.write_text(FLOOR, encoding="utf-8")
    results["floor"] = [
        timed(
            [sys.executable, str(floor_script), str(fields_file), str(work / "floor.apkg")],
            root,
            env,
        )
        for _ in range(runs)
    ]
    if peer:
        peer_root = work / f"peer-{count}"
        write_peer_sources(peer_root / "in", count)
        results["peer"] = []
        for _ in range(runs):
            shutil.rmtree(peer_root / "out", ignore_errors=True)
            (peer_root / "out").mkdir()
            results["peer"].append(
                timed([peer, str(peer_root / "in"), str(peer_root / "out")], peer_root, env)
            )
    return {name: median(values) for name, values in results.items()}


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
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--peer", default=shutil.which("mdankideck"), help="path to mdankideck")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, {platform.system()}"
    )
    with tempfile.TemporaryDirectory(prefix="ml-anki-bench-") as tmp:
        results = {n: bench_size(n, args.runs, args.peer, Path(tmp)) for n in sizes}
    help_seconds = help_time(args.runs)

    columns = ["cold", "nochange", "oneedit", "floor"] + (["peer"] if args.peer else [])
    print()
    print("| notes | " + " | ".join(f"{c} (s)" for c in columns) + " | peak RSS cold (MB) |")
    print("|---:|" + "---:|" * (len(columns) + 1))
    for n, r in results.items():
        cells = " | ".join(f"{r[c].seconds:.2f}" for c in columns)
        print(f"| {n} | {cells} | {r['cold'].max_rss_mb:.0f} |")
    print()
    print(f"`ml-anki --help`: {help_seconds * 1000:.0f} ms")
    for n, r in results.items():
        line = (
            f"{n} notes: cold ÷ floor = {r['cold'].seconds / r['floor'].seconds:.2f}, "
            f"cold ÷ no-change = {r['cold'].seconds / r['nochange'].seconds:.1f}, "
            f"cold ÷ one-edit = {r['cold'].seconds / r['oneedit'].seconds:.1f}"
        )
        if "peer" in r:
            line += f", peer ÷ cold = {r['peer'].seconds / r['cold'].seconds:.1f}"
        print(line)
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        per_note = (results[large]["cold"].seconds / large) / (
            results[small]["cold"].seconds / small
        )
        print(f"per-note cold time, {large} ÷ {small}: {per_note:.2f}")
    if args.json:
        raw = {n: {k: vars(v) for k, v in r.items()} for n, r in results.items()}
        args.json.write_text(json.dumps({"help_seconds": help_seconds, "results": raw}, indent=2))


if __name__ == "__main__":
    main()
