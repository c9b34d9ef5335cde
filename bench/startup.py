"""Start-up and throughput of osteocheck, as ratios to the interpreter's own start-up.

Each command is run alternately with `python -c pass` of the same environment, so
the machine's noise hits both alike; the table reports the median ratio and its
range. Run from a checkout with the package installed:

    python bench/startup.py [--runs 21] [--batch 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
EXE = shutil.which("osteocheck", path=str(Path(PYTHON).parent)) or "osteocheck"
PLAN = ["plan", "--fracture-history", "--anticoagulants"]
CASES = [
    ("osteocheck plan --fracture-history --anticoagulants (table)", [EXE, *PLAN], 10.0),
    ("the same with --format json", [EXE, *PLAN, "--format", "json"], 5.0),
    ("osteocheck --version", [EXE, "--version"], 3.0),
    ("osteocheck --help", [EXE, "--help"], 8.0),
]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)  # noqa: S603
    return time.perf_counter() - start


def ratios(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    timed(cmd, env)  # warm: bytecode and the knowledge cache
    base, own = [], []
    for _ in range(runs):
        base.append(timed([PYTHON, "-c", "pass"], env))
        own.append(timed(cmd, env))
    return base, [o / b for o, b in zip(own, base, strict=True)]


def peak_memory_mib(cmd: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of one run, measured by a fresh helper so no other child counts."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([PYTHON, "-c", probe, *cmd], capture_output=True, text=True, check=True, env=env)  # noqa: S603
    return int(out.stdout) / 1024


def batch_rate(rows: int, env: dict[str, str]) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="osteocheck-bench-"))
    source = folder / "roster.jsonl"
    kinds = [
        {"fracture_history": True, "anticoagulants": True},
        {"stage": "osteopenia", "kyphosis": True},
        {"open_wounds": ["legs"], "cleared": ["legs"], "balance_issues": True},
        {"t_score": -2.8, "fresh_fractures": ["wrists"]},
        {},
    ]
    with source.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            handle.write(json.dumps({"id": f"c{i}", **kinds[i % len(kinds)]}) + "\n")
    out = folder / "out.jsonl"
    start = time.perf_counter()
    subprocess.run([EXE, "batch", str(source), "--output", str(out)], check=True, env=env)  # noqa: S603
    elapsed = time.perf_counter() - start
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    shutil.rmtree(folder)
    assert lines == rows, (lines, rows)  # noqa: S101
    return rows / elapsed, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("OSTEOCHECK_NO_CACHE", None)
    print(f"python: {PYTHON}\nosteocheck: {EXE}\nruns per command: {args.runs}\n")
    print("| what | target | median | range | python -c pass (median) |\n|---|---|---|---|---|")
    for label, cmd, target in CASES:
        base, r = ratios(cmd, args.runs, env)
        verdict = "ok" if statistics.median(r) <= target else "MISSED"
        print(
            f"| `{label}` | ≤ {target:g}× | {statistics.median(r):.2f}× {verdict} | {min(r):.2f}–{max(r):.2f}× "
            f"| {statistics.median(base) * 1000:.1f} ms |"
        )
    if args.batch:
        rate, elapsed = batch_rate(args.batch, env)
        verdict = "ok" if rate >= 50_000 else "MISSED"
        print(
            f"| `batch` of {args.batch:,} JSONL profiles | ≥ 50,000/s | {rate:,.0f}/s {verdict} | {elapsed:.2f} s | |"
        )
    mem = peak_memory_mib([EXE, *PLAN], env)
    print(f"| peak memory of `plan` | ≤ 40 MiB | {mem:.1f} MiB {'ok' if mem <= 40 else 'MISSED'} | | |")


if __name__ == "__main__":
    main()
