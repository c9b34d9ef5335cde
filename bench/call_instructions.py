"""Instructions a hook call costs, counted by callgrind: a figure this host's spells do not move.

    pip install '.[serve,bench]'      # and valgrind (Debian's `valgrind` package)
    python bench/call_instructions.py [--calls 200] [--max-kib 128]

The time of a call here moves by half from one hour to the next (bench/serve_load.py prints it as
"the host's pace"), so builds compared by time must be alternated within one spell. A count of
instructions does not move: the same build, inputs and interpreter give the same count, whatever else
the machine is doing. This runs serve_load.py's call in process (the service's app, its start-up
included, without HTTP) under `valgrind --tool=callgrind`, once with a few calls and once with
`--calls` more distinct patients (serve_load.py's typical prefetch, drawn with the same seed): the
difference, over those calls, is what one call costs, start-up and first calls left out. The
baseline, in the same run and counted the same way: reading the same bodies as JSON (orjson), which
any service that reads the prefetch pays.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FIRST = 20  # calls in both runs: the lazy imports and first allocations, left out of the difference


def child(mode: str, calls: int, count: int, max_kib: int) -> None:
    """The counted process: `calls` of the `count` bodies, through the app or through orjson."""
    import serve_load  # noqa: PLC0415 - beside this file; its clients' imports are in both runs alike

    bodies = serve_load.distinct(serve_load.within(max_kib), count)
    if mode == "app":
        serve_load.in_process(bodies, calls=calls, rounds=1)
    else:
        import orjson  # noqa: PLC0415 - the service's own reader (service/wire.py)

        for body in bodies[:calls]:
            orjson.loads(body)


def counted(mode: str, calls: int, count: int, max_kib: int, folder: str) -> int:
    """The instructions of one child process, from callgrind's totals."""
    out = os.path.join(folder, f"{mode}.{calls}.out")
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
            "--child", mode, "--calls", str(calls), "--count", str(count), "--max-kib", str(max_kib)]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same hashes, so the same dict and set layouts
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        sys.exit(f"callgrind did not finish within 30 minutes ({mode}, {calls} calls)")
    if done.returncode != 0:
        sys.exit(f"the counted process failed ({mode}, {calls} calls):\n{done.stderr[-2000:]}")
    totals = re.search(r"^(?:summary|totals): (\d+)", Path(out).read_text(), re.MULTILINE)
    if totals is None:
        sys.exit(f"no totals in callgrind's output {out}")
    return int(totals[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="distinct calls counted")
    parser.add_argument("--max-kib", type=int, default=128, help="only records whose prefetch is at most this size")
    parser.add_argument("--child", choices=("app", "json"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.calls, args.count, args.max_kib)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607
    count = FIRST + args.calls
    from serve_load import interpreter  # noqa: PLC0415 - beside this file, as in the child

    print(f"{version}, {interpreter()}; {args.calls} distinct patients, prefetch up to {args.max_kib} KiB")
    per_call = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("app", "json"):
            few, more = (counted(mode, calls, count, args.max_kib, folder) for calls in (FIRST, count))
            per_call[mode] = (more - few) / args.calls
    print(f"a hook call through the app, without HTTP   {per_call['app'] / 1e6:6.2f} M instructions")
    print(f"reading its body as JSON (baseline)         {per_call['json'] / 1e6:6.2f} M instructions")
    print(f"a call / reading its body: {per_call['app'] / per_call['json']:.1f}x")


if __name__ == "__main__":
    main()
