"""Batch on a roster of nearly all distinct profiles: rows per second and memory, at any size.

    python bench/batch_scale.py ROWS [--jobs N] [--csv]

Peak memory is reported two ways: the largest single process (what `resource` reports for
children) and the whole process tree (main plus workers, proportional set size), sampled every 20 ms
from /proc (Linux).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import roster  # noqa: E402 - the generator beside this script

EXE = shutil.which("osteocheck", path=str(Path(sys.executable).parent)) or "osteocheck"


def tree_pss_kib(pid: int) -> int:
    """Proportional memory (PSS) of a process and all its descendants: pages the forked workers share
    with the main process count once, not once per process as a sum of RSS would (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="osteocheck-scale-"))
    source = folder / "roster.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in roster.profiles(args.rows))
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    cmd = [EXE, "batch", str(source), "--output", str(folder / "out.jsonl"), *jobs]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)  # noqa: S603
    peak_tree = 0
    while child.poll() is None:
        peak_tree = max(peak_tree, tree_pss_kib(child.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = source.stat().st_size / 2**20
    shutil.rmtree(folder)
    print(
        f"{args.rows:,} rows ({size:.0f} MiB), jobs {args.jobs or 'default'}: {elapsed:.2f} s, "
        f"{args.rows / elapsed:,.0f} rows/s; peak memory: largest process {largest:.0f} MiB, "
        f"whole tree (PSS) {peak_tree / 1024:.0f} MiB (exit {child.returncode})"
    )


if __name__ == "__main__":
    main()
