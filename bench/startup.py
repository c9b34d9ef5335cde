"""Start-up and throughput of osteocheck, as ratios to the interpreter's own start-up.

Each command is run alternately with `python -c pass` of the same environment, so
the machine's noise hits both alike; the table reports the median ratio and its
range. Run from a checkout with the package installed:

    python bench/startup.py [--runs 21] [--batch 100000] [--batch-runs 5]
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


def write_roster(rows: int, folder: Path) -> Path:
    """A JSONL roster of nearly all distinct profiles (bench/roster.py), written once per run of this script."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import roster  # noqa: PLC0415 - the generator beside this script

    source = folder / "roster.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in roster.profiles(rows))
    return source


def batch_rate(source: Path, rows: int, env: dict[str, str], jobs: int | None = None) -> tuple[float, float]:
    """Rows per second and peak memory (MiB) of one `batch` run over the roster."""
    out = source.with_name("out.jsonl")
    out.unlink(missing_ok=True)
    cmd = [EXE, "batch", str(source), "--output", str(out), *(["--jobs", str(jobs)] if jobs else [])]
    start = time.perf_counter()
    mem = peak_memory_mib(cmd, env)
    elapsed = time.perf_counter() - start
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    assert lines == rows, (lines, rows)  # noqa: S101
    return rows / elapsed, mem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--batch-runs", type=int, default=5, help="runs of batch per setting (median and range)")
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
        folder = Path(tempfile.mkdtemp(prefix="osteocheck-bench-"))
        try:
            source = write_roster(args.batch, folder)
            for jobs in (None, 1):
                runs = [batch_rate(source, args.batch, env, jobs) for _ in range(args.batch_runs)]
                rates = [rate for rate, _ in runs]
                rate = statistics.median(rates)
                if jobs is None:  # the target is for the default; one process is shown beside it
                    how, target, verdict = (
                        "default --jobs (the CPU count)",
                        "≥ 50,000/s",
                        "ok" if rate >= 50_000 else "MISSED",
                    )
                else:
                    how, target, verdict = f"--jobs {jobs}", "", ""
                print(
                    f"| `batch`, {args.batch:,} distinct JSONL profiles, {how} | {target} | {rate:,.0f}/s {verdict} "
                    f"| {min(rates):,.0f}–{max(rates):,.0f}/s over {len(rates)} runs, peak {max(m for _, m in runs):.0f} MiB | |"
                )
        finally:
            shutil.rmtree(folder)
    mem = peak_memory_mib([EXE, *PLAN], env)
    print(f"| peak memory of `plan` | ≤ 40 MiB | {mem:.1f} MiB {'ok' if mem <= 40 else 'MISSED'} | | |")


if __name__ == "__main__":
    main()
