"""Writing exports: never over an existing file without `force`, always atomically.

The content goes to a temporary file in the target's folder, then into place:
with `force` by rename; without it by a hard link, which fails if the name
exists, so two exports racing for the same new path cannot both win. A failed
or interrupted export leaves no partial file, no temporary file, and any old
file intact.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from osteocheck.errors import OutputError


def _preflight(path: Path, *, force: bool) -> Path:
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name")
    try:
        mode = path.lstat().st_mode
    except OSError:
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        # Replacing a device, FIFO or socket with a file of client data is never what was meant, --force or not.
        raise OutputError(f"{path} is {_kind(mode)}, not a regular file; osteocheck writes only regular files")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists; use --force to overwrite it")
    return folder


def check(target: str, *, force: bool) -> None:
    """Fail now, not after the work, if `target` could not be written (an interview's answers would be lost)."""
    if target != "-":
        _preflight(Path(target), force=force)


@contextmanager
def output(target: str, *, force: bool, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle to write to; `-` is standard output. The file appears only if the block succeeds."""
    if target == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    import tempfile  # noqa: PLC0415 - only when a file is written

    path = Path(target)
    folder = _preflight(path, force=force)
    try:
        # The temporary name stays short, so a target name near the 255-byte limit still works.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:40]}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {_cause(exc)}") from None
    try:
        handle: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        try:
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _mode_for(path))
        except OSError as exc:  # a full disk, a quota, an I/O error: the file's problem, not an internal one
            raise OutputError(f"cannot write {path}: {_cause(exc)}") from None
        _place(tmp, path, force=force)
        _sync_folder(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _mode_for(path: Path) -> int:
    """An existing file's mode, else what the umask gives a new file (mkstemp makes it 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _place(tmp: str, path: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise OutputError(f"{path} already exists; use --force to overwrite it") from None
        except OSError:
            # A file system without hard links: check, then rename (a narrow race remains).
            if path.exists():
                raise OutputError(f"{path} already exists; use --force to overwrite it") from None
            os.rename(tmp, path)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_cause(exc)}") from None


def _sync_folder(folder: Path) -> None:
    """The rename or link itself reaches the disk, not only the file's content."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the content is already synced
    finally:
        os.close(fd)


def _cause(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def write_text(target: str, text: str, *, force: bool) -> None:
    with output(target, force=force) as handle:
        handle.write(text)


def write_bytes(target: str, data: bytes, *, force: bool) -> None:
    with output(target, force=force, binary=True) as handle:
        handle.write(data)
