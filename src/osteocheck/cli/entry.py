"""The `osteocheck` executable: answers `--version` and plain `plan` calls without Typer."""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["--version"]:
        from osteocheck import __version__  # noqa: PLC0415

        sys.stdout.write(f"osteocheck {__version__}\n")
        return
    if argv[:1] == ["plan"]:
        try:
            from osteocheck.cli.fastpath import run  # noqa: PLC0415

            if run(argv):
                sys.stdout.flush()
                return
        except BrokenPipeError:
            sys.exit(0)
        except Exception:  # noqa: BLE001, S110 - the full command line below reports any problem properly
            pass
    from osteocheck.cli.app import main as full  # noqa: PLC0415

    full()
