"""Ctrl-C at random moments of start-up: how many runs show a traceback, and through whose code.

    python tools/early_sigint.py [EXECUTABLE] [--runs 100]

Each run starts `EXECUTABLE plan --kyphosis` with SIGINT at its default and sends SIGINT after
a random delay of up to 0.2 s. A traceback through the package's own files is a bug; one from
the interpreter's start-up or the launcher script pip writes happens before any package code.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("executable", nargs="?", default=shutil.which("osteocheck") or "osteocheck")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(1)  # noqa: S311 - reproducible moments, not secrecy
    package = launcher = 0
    codes: Counter[int] = Counter()
    for _ in range(args.runs):
        child = subprocess.Popen(  # noqa: S603 - our own executable, no shell
            [args.executable, "plan", "--kyphosis"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - resets one disposition
        )
        try:
            child.wait(timeout=rng.uniform(0, 0.2))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        codes[child.returncode] += 1
        if b"Traceback" in err:
            if b"/osteocheck/" in err.split(b"KeyboardInterrupt")[0].replace(b"bin/osteocheck", b""):
                package += 1
            else:
                launcher += 1
    print(f"{args.runs} runs: tracebacks through package code {package}, before any package code {launcher}")
    print("exit codes:", dict(sorted(codes.items())))
    sys.exit(1 if package else 0)


if __name__ == "__main__":
    main()
