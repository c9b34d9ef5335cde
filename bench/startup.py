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
ROOT = Path(__file__).resolve().parents[1]
PLAN = ["plan", "--fracture-history", "--anticoagulants"]
PROFILE = str(ROOT / "examples" / "profiles" / "client.yaml")
# A real (Synthea) record, copied unchanged from ../shared/data with its attribution (tests/data/fhir/SOURCE.md).
BUNDLE = str(
    ROOT / "tests" / "data" / "fhir" / "synthea" / "Miguel_Angel_Garica_f6d15182-f6ac-46cf-8cbd-afacd43be763.json"
)
CASES = [
    ("plan --fracture-history --anticoagulants (table)", [EXE, *PLAN], 10.0),
    ("the same with --format json", [EXE, *PLAN, "--format", "json"], 5.0),
    ("plan --profile FILE (table)", [EXE, "plan", "--profile", PROFILE], 8.0),
    ("plan --profile FILE --format json", [EXE, "plan", "--profile", PROFILE, "--format", "json"], 6.0),
    ("excluded --format json", [EXE, "excluded", "--fracture-history", "--format", "json"], 6.0),
    ("explain mild_kneading --format json", [EXE, "explain", "mild_kneading", "--kyphosis", "--format", "json"], 6.0),
    ("selfcare (Markdown to stdout)", [EXE, "selfcare", "--fracture-history", "--anticoagulants"], 8.0),
    ("plan --fhir BUNDLE --format json", [EXE, "plan", "--fhir", BUNDLE, "--format", "json"], 8.0),
    ("--help", [EXE, "--help"], 6.0),
    ("--version", [EXE, "--version"], 3.0),
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


def batch_rate(rows: int, env: dict[str, str], jobs: int | None = None) -> tuple[float, float, float]:
    """Rows per second and peak memory (MiB) of `batch` on a roster of nearly all distinct profiles."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import roster  # noqa: PLC0415 - the generator beside this script

    folder = Path(tempfile.mkdtemp(prefix="osteocheck-bench-"))
    source = folder / "roster.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in roster.profiles(rows))
    out = folder / "out.jsonl"
    cmd = [EXE, "batch", str(source), "--output", str(out), *(["--jobs", str(jobs)] if jobs else [])]
    start = time.perf_counter()
    mem = peak_memory_mib(cmd, env)
    elapsed = time.perf_counter() - start
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    shutil.rmtree(folder)
    assert lines == rows, (lines, rows)  # noqa: S101
    return rows / elapsed, elapsed, mem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--only", default="", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("OSTEOCHECK_NO_CACHE", None)
    print(f"python: {PYTHON}\nosteocheck: {EXE}\nruns per command: {args.runs}\n")
    print("| what | target | median | range | python -c pass (median) |\n|---|---|---|---|---|")
    for label, cmd, target in (c for c in CASES if args.only in c[0]):
        base, r = ratios(cmd, args.runs, env)
        verdict = "ok" if statistics.median(r) <= target else "MISSED"
        print(
            f"| `{label}` | ≤ {target:g}× | {statistics.median(r):.2f}× {verdict} | {min(r):.2f}–{max(r):.2f}× "
            f"| {statistics.median(base) * 1000:.1f} ms |"
        )
    if args.batch:
        for jobs in (None, 1):
            rate, elapsed, mem = batch_rate(args.batch, env, jobs)
            verdict = "ok" if rate >= 50_000 else "MISSED"
            how = "default --jobs (the CPU count)" if jobs is None else f"--jobs {jobs}"
            print(
                f"| `batch`, {args.batch:,} distinct JSONL profiles, {how} | ≥ 50,000/s | {rate:,.0f}/s {verdict} "
                f"| {elapsed:.2f} s, peak {mem:.0f} MiB | |"
            )
    mem = peak_memory_mib([EXE, *PLAN], env)
    print(f"| peak memory of `plan` | ≤ 40 MiB | {mem:.1f} MiB {'ok' if mem <= 40 else 'MISSED'} | | |")


if __name__ == "__main__":
    main()
