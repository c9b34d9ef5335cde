"""Batch at scale: memory that does not grow with the roster, and workers that keep input order."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from osteocheck.batch import parallel
from processes import finish, run, spawn

BENCH = ROOT / "bench"


def roster(path: Path, rows: int, seed: int = 7) -> Path:
    sys.path.insert(0, str(BENCH))
    try:
        import roster as generator
    finally:
        sys.path.pop(0)
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in generator.profiles(rows, seed))
    return path


@pytest.fixture(scope="module")
def long_roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough that screening it takes seconds (made once for the signal tests)."""
    return roster(tmp_path_factory.mktemp("long") / "roster.jsonl", 150_000)


def peak_mib(*argv: str) -> float:
    """Peak resident memory of a batch run, measured by a fresh helper so nothing else counts."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = run([sys.executable, "-c", probe, sys.executable, "-m", "osteocheck", *argv], timeout=120, check=True)
    return int(result.stdout) / 1024


def test_memory_stays_flat_as_a_distinct_roster_grows(tmp_path: Path) -> None:
    small = roster(tmp_path / "small.jsonl", 5_000)
    large = roster(tmp_path / "large.jsonl", 60_000, seed=8)
    out = str(tmp_path / "out.jsonl")
    at_small = peak_mib("batch", str(small), "--output", out, "--jobs", "1")
    at_large = peak_mib("batch", str(large), "--output", out, "--force", "--jobs", "1")
    # Twelve times the rows, nearly all distinct: a memo of plans would grow by tens of MiB.
    assert at_large - at_small < 6, (at_small, at_large)
    assert at_large < 80


def test_workers_keep_input_order_and_say_the_same(tmp_path: Path) -> None:
    source = roster(tmp_path / "roster.jsonl", 12_000)
    assert source.stat().st_size >= parallel.MIN_BYTES  # long enough to be screened by workers
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    # A few bad rows in the middle: each keeps its place and its message.
    lines[2500] = "{not json\n"
    lines[4100] = '{"id": "bad", "fresh_fractures": ["wirst"]}\n'
    source.write_bytes("".join(lines).encode() + b"\xff\xfe not utf-8\n" + "".join(lines[:50]).encode())
    outputs = {}
    for jobs in ("1", "2", "3"):
        target = tmp_path / f"out{jobs}.jsonl"
        result = run(
            [sys.executable, "-m", "osteocheck", "batch", str(source), "--output", str(target), "--jobs", jobs]
        )
        assert result.returncode == 1  # the bad rows
        outputs[jobs] = (target.read_bytes(), result.stderr)
    assert outputs["1"] == outputs["2"] == outputs["3"]
    rows = [json.loads(line)["row"] for line in outputs["2"][0].splitlines()]
    assert rows == sorted(rows) and len(rows) == 12_051
    assert "row 2501: not a valid JSON object" in outputs["2"][1]
    assert "unknown site 'wirst'" in outputs["2"][1]


def test_workers_stop_at_the_first_failure_like_one_process(tmp_path: Path) -> None:
    source = roster(tmp_path / "roster.jsonl", 12_000)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5000] = '{"id": "bad", "t_score": "low"}\n'
    source.write_text("".join(lines), encoding="utf-8")
    seen = set()
    assert source.stat().st_size >= parallel.MIN_BYTES
    for jobs in ("1", "2"):
        target = tmp_path / f"out{jobs}.jsonl"
        argv = ["batch", str(source), "--output", str(target), "--jobs", jobs, "--fail-fast"]
        result = run([sys.executable, "-m", "osteocheck", *argv])
        assert result.returncode == 1
        seen.add((target.read_bytes(), result.stderr))
    assert len(seen) == 1
    ((written, err),) = seen
    assert written.count(b"\n") == 5001 and "stopped at the first failure" in err


def test_csv_through_workers_is_the_same_as_in_one_process(tmp_path: Path) -> None:
    rng = random.Random(5)
    sites = ["wrists", "spine", "hips", "legs", "ribs"]
    rows = ["id,t_score,anticoagulants,fresh_fractures,cleared"]
    for i in range(45_000):
        fracture = ";".join(rng.sample(sites, rng.randint(0, 2)))
        cleared = fracture.split(";")[0] if fracture and rng.random() < 0.3 else ""
        rows.append(f"c{i},{rng.uniform(-4, 0):.2f},{rng.choice(['yes', 'no'])},{fracture},{cleared}")
    source = tmp_path / "roster.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert source.stat().st_size >= parallel.MIN_BYTES
    found = []
    for jobs in ("1", "2"):
        target = tmp_path / f"out{jobs}.csv"
        argv = ["batch", str(source), "--format", "csv", "--output", str(target), "--jobs", jobs]
        result = run([sys.executable, "-m", "osteocheck", *argv], check=True)
        found.append((target.read_bytes(), result.stderr))
    assert found[0] == found[1]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is not reported on this platform")
def test_the_default_is_the_cpu_count() -> None:
    assert parallel.default_jobs() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_signal_ends_every_worker_and_leaves_no_file(
    tmp_path: Path, long_roster: Path, sig: int, code: int
) -> None:
    source = long_roster
    target = tmp_path / "out.jsonl"
    argv = [sys.executable, "-m", "osteocheck", "batch", str(source), "--output", str(target), "--jobs", "2"]
    with spawn(argv) as child:
        time.sleep(1.0)  # well into screening (it takes several seconds)
        os.killpg(child.pid, sig) if sig == signal.SIGINT else child.send_signal(sig)
        returned, _, err = finish(child)
        assert returned == code, err
        assert "Traceback" not in err
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the workers are gone with it: nothing left in its group
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("a worker outlived the batch")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # and no temporary file
