"""Screen a generated FHIR Bulk Data export of many patients: rate, peak memory, and how memory scales.

    python bench/bulk_export.py [PATIENTS] [RESOURCES_PER_PATIENT]

The export is made from the real one in tests/data/fhir/bulk-ndjson: each new
patient takes a real patient's resources (cycling through them), with fresh ids,
so the export has the shape and codes of real data and every patient is distinct
(a cache of identical profiles would flatter the figures). Reported as ratios to
`python -c pass` run in the same invocation, and peak RSS from the child's rusage.
"""

from __future__ import annotations

import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "fhir" / "bulk-ndjson"


def sample() -> tuple[list[dict[str, object]], dict[str, list[tuple[str, dict[str, object]]]]]:
    patients = [json.loads(line) for line in (SAMPLE / "Patient.000.ndjson").read_text().splitlines() if line]
    by_patient: dict[str, list[tuple[str, dict[str, object]]]] = defaultdict(list)
    for path in sorted(SAMPLE.glob("*.ndjson")):
        kind = path.name.split(".")[0]
        if kind == "Patient":
            continue
        for line in path.read_text().splitlines():
            r = json.loads(line)
            ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
            by_patient[ref.rsplit("/", 1)[-1]].append((kind, r))
    return patients, by_patient


def generate(folder: Path, count: int, per_patient: int) -> int:
    patients, by_patient = sample()
    files = {}
    size = 0
    try:
        for n, template in zip(range(count), itertools.cycle(patients), strict=False):
            pid = str(uuid.UUID(int=n + 1))
            new = {**template, "id": pid}
            for kind, r in [("Patient", new), *by_patient[str(template["id"])][:per_patient]]:
                if kind != "Patient":
                    key = "subject" if "subject" in r else "patient"
                    r = {**r, "id": f"{n}-{r['id']}", key: {"reference": f"Patient/{pid}"}}
                if kind not in files:
                    files[kind] = (folder / f"{kind}.000.ndjson").open("w", encoding="utf-8")
                line = json.dumps(r, separators=(",", ":")) + "\n"
                files[kind].write(line)
                size += len(line)
    finally:
        for handle in files.values():
            handle.close()
    return size


def timed(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)  # noqa: S603
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(peak, before)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_patient = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    tool = [sys.executable, "-m", "osteocheck"]
    baseline, _ = timed([sys.executable, "-c", "pass"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        size = generate(folder, count, per_patient)
        out = Path(tmp) / "screened.jsonl"
        argv = [*tool, "batch", "--fhir-ndjson", str(folder), "--as-of", "2026-01-01", "-o", str(out)]
        seconds, peak = timed(argv)
        lines = sum(1 for _ in out.open(encoding="utf-8"))
    print(
        f"{count:,} patients, {per_patient} resources each at most, export {size / 2**20:,.0f} MiB; {lines:,} lines out"
    )
    print(f"screened in {seconds:.1f} s ({count / seconds:,.0f} patients/s; {seconds / baseline:,.0f}x python -c pass)")
    print(f"peak memory {peak / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
