"""Open connections spread evenly over the service's workers.

The kernel hands a new connection to whichever worker takes it first, and a kept-alive connection
stays where it landed: fifty opened at once split anywhere from 25/25 to 42/8, and the calls on
the fuller worker waited five times as long. So each worker writes how many connections it holds into a
small shared file, one slot each, and a worker holding more than its share by more than one answers
the request in hand with `Connection: close`: the client's next connection lands on whichever worker
takes it, and the shares even out within a few calls. A client that honours HTTP/1.1 loses nothing
(the answer is whole); it opens a connection again.
"""

from __future__ import annotations

import mmap
import os
import shutil
import struct
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock, so no shared counts; workers take connections as they come
    fcntl = None  # type: ignore[assignment]

_COUNT = struct.Struct("q")


def create(workers: int) -> str | None:
    """A new folder (this user's only) with the shared file of `workers` zero counts, and a lock file
    per slot; `remove` it when the workers have stopped. None where there is no flock."""
    if fcntl is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="osteocheck-serve-"))
    (folder / "counts").write_bytes(bytes(_COUNT.size * workers))
    for slot in range(workers):
        (folder / f"slot-{slot}").touch()
    return str(folder)


def remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


class Spread:
    """One worker's slot in the shared file, and the connections it has asked to close."""

    def __init__(self, folder: str, workers: int) -> None:
        self.workers = workers
        self.leaving = 0
        with open(Path(folder) / "counts", "r+b") as counts:
            self._map = mmap.mmap(counts.fileno(), _COUNT.size * workers)
        self._all = struct.Struct(f"{workers}q")
        self.slot, self._lock = _claim(Path(folder), workers)
        self.held(0)

    def held(self, connections: int) -> None:
        """Say how many connections this worker has open."""
        if self.slot is not None:
            _COUNT.pack_into(self._map, self.slot * _COUNT.size, connections)

    def lets_go(self, connections: int) -> bool:
        """Whether one of this worker's `connections` should close after its answer. Those already
        told to close count among all the workers' connections (their clients come back), not as
        this worker's."""
        if self.slot is None:
            return False
        staying = connections - self.leaving
        if staying * self.workers <= sum(self._all.unpack_from(self._map)) + self.workers:
            return False
        self.leaving += 1
        return True

    def gone(self, connections: int, *, was_leaving: bool) -> None:
        """A connection closed; `connections` are still open."""
        if was_leaving:
            self.leaving -= 1
        self.held(connections)


def _claim(folder: Path, workers: int) -> tuple[int | None, int | None]:
    """The first slot no living worker holds, and the descriptor that holds its lock file's lock (kept
    open; the kernel drops the lock when the process ends, so a worker restarted after a crash takes
    the slot again). None: all taken."""
    for slot in range(workers):
        fd = os.open(folder / f"slot-{slot}", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return slot, fd
    return None, None
