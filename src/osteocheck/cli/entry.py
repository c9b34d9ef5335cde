"""The `osteocheck` executable: answers `--version` and plain `plan` calls without Typer.

Also the last line of defence for the whole process: stop signals unwind like
Ctrl-C (so no temporary file is left), and a closed, full or broken standard
output is one line on stderr, never a traceback.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module: importing `signal` itself takes milliseconds
import os


def _interrupted_while_starting(_signum: int, _frame: object) -> None:
    # Until main() is running nothing has been written, and a traceback would be noise: leave at once.
    os.write(2, b"osteocheck: interrupted\n")
    os._exit(130)


_signal.signal(_signal.SIGINT, _interrupted_while_starting)

import errno  # noqa: E402 - after the handler above, so Ctrl-C while importing is quiet too
import sys  # noqa: E402

TYPE_CHECKING = False  # `typing` costs milliseconds at every start; only the type checker needs it
if TYPE_CHECKING:
    from typing import Any, NoReturn

# By number (no SIGHUP on Windows); `signal` itself is not imported: its enums cost a millisecond or two.
_STOP_SIGNALS = {getattr(_signal, name): name for name in ("SIGTERM", "SIGHUP") if hasattr(_signal, name)}


class Stopped(BaseException):
    """A stop signal arrived; raised where the process is, so every `finally` runs and cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def main() -> None:
    try:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # from here on, Ctrl-C unwinds and cleans up
        _guard_streams()
        for signum in _STOP_SIGNALS:
            _signal.signal(signum, _stop)
        _dispatch(sys.argv[1:])
        sys.stdout.flush()
    except Stopped as stop:
        _leave(f"osteocheck: stopped by {_STOP_SIGNALS[stop.signum]}", 128 + stop.signum)
    except KeyboardInterrupt:
        _leave("osteocheck: interrupted", 130)
    except BrokenPipeError:
        _leave("", 1)  # the reader went away (`| head`): nothing to say, and nothing more to write
    except OSError as exc:
        _leave(f"osteocheck: cannot write the output: {exc.strerror or errno.errorcode.get(exc.errno or 0, '')}", 1)


def _dispatch(argv: list[str]) -> None:
    if argv == ["--version"]:
        from osteocheck import __version__  # noqa: PLC0415

        sys.stdout.write(f"osteocheck {__version__}\n")
        return
    if argv in (["--help"], ["-h"]):
        from osteocheck.cli.help import top_help  # noqa: PLC0415

        text = top_help()
        if text is not None:
            sys.stdout.write(text)
            return
    if argv[:1] in (["plan"], ["excluded"], ["explain"], ["selfcare"]):
        try:
            from osteocheck.cli.fastpath import run  # noqa: PLC0415

            if run(argv):
                return
        except (OSError, Stopped, KeyboardInterrupt):
            raise
        except Exception:  # noqa: BLE001, S110 - the full command line below reports any problem properly
            pass
    from osteocheck.cli.app import main as full  # noqa: PLC0415

    full()


def _stop(signum: int, _frame: object) -> NoReturn:
    raise Stopped(signum)


def _leave(message: str, code: int) -> NoReturn:
    # Output may be what failed: point stdout at nothing, so the interpreter's final flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    if message and sys.stderr is not None:
        try:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
    raise SystemExit(code)


class _Closed:
    """Stands in for a standard stream that was closed before start: writing to it is an error to report."""

    encoding = "utf-8"

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _guard_streams() -> None:
    encodings = {(getattr(s, "encoding", None) or "utf-8").lower().replace("_", "-") for s in (sys.stdout, sys.stderr)}
    if encodings - {"utf-8", "utf8"}:
        from osteocheck.cli.encoding import degrade_unencodable_output  # noqa: PLC0415 - rare: non-UTF-8 output

        degrade_unencodable_output()
    if sys.stdout is None:
        sys.stdout = _Closed()
    else:
        # A pipe left non-blocking by the caller drops whatever does not fit at once, silently.
        try:  # noqa: SIM105 - contextlib costs start-up time here
            os.set_blocking(1, True)
        except OSError:
            pass
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stderr = _Diagnostics(sys.stderr)


class _Diagnostics:
    """stderr that cannot fail the command: a message that cannot be delivered (2>/dev/full) is dropped."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:  # noqa: SIM105 - contextlib costs start-up time here
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
