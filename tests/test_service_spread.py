"""With several workers, the open connections are spread evenly over them (`service.balance`): a worker
holding more than its share by more than one closes a connection after its answer, and the client's
next one lands where there is room. The shares live in a small file, one locked slot per worker."""

from __future__ import annotations

import http.client
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")

from osteocheck.service import balance, protocol
from osteocheck.service.app import Settings
from osteocheck.service.balance import Spread, create, remove
from processes import DEADLINE, run, spawn
from serving import TIMEOUT, free_port, serving_here


@pytest.fixture
def counts() -> Iterator[str]:
    folder = create(2)
    yield folder
    remove(folder)


def _slots(folder: str) -> tuple[int, int]:
    return struct.unpack("2q", (Path(folder) / "counts").read_bytes())


def _set_other(folder: str, slot: int, count: int) -> None:
    with (Path(folder) / "counts").open("r+b") as f:
        f.seek(8 * slot)
        f.write(struct.pack("q", count))


def test_a_worker_over_its_share_by_more_than_one_lets_one_connection_go(counts: str) -> None:
    mine = Spread(counts, 2)
    other = 1 - mine.slot  # type: ignore[operator]
    _set_other(counts, other, 10)
    for held in (11, 12):  # 12 against 10: one over an even share of 22, which is allowed
        mine.held(held)
        assert not mine.lets_go(held)
    mine.held(13)
    assert mine.lets_go(13)  # 13 against 10
    assert not mine.lets_go(13)  # one is enough: 12 stay, and the one leaving will come back somewhere
    mine.gone(12, was_leaving=True)
    assert mine.leaving == 0
    assert _slots(counts)[mine.slot] == 12  # type: ignore[index]
    mine.gone(11, was_leaving=False)
    assert _slots(counts)[mine.slot] == 11  # type: ignore[index]
    _set_other(counts, other, 1)  # 27 opened at once, 26 of them here: 12 go, 14 stay
    mine.held(26)
    assert sum(mine.lets_go(26) for _ in range(26)) == 12


_CLAIM = (
    "from osteocheck.service.balance import Spread; import sys, time; print(Spread(sys.argv[1], 2).slot, flush=True)"
)


def _claimed(counts: str) -> str:
    """The slot another process takes (it then ends, as a worker that crashed would)."""
    return run([sys.executable, "-c", _CLAIM, counts], check=True).stdout.strip()


def test_each_worker_takes_a_free_slot_and_one_restarted_takes_it_again(counts: str) -> None:
    here = Spread(counts, 2)
    assert here.slot == 0
    for _ in range(2):  # a worker that ended leaves its slot to the next
        assert _claimed(counts) == "1"
    holding = [sys.executable, "-c", _CLAIM + "; time.sleep(60)", counts]
    with spawn(holding) as holder:
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], DEADLINE)
        assert ready and holder.stdout.readline().strip() == "1"
        # a third (more workers than slots, for a moment during a restart) takes none, and never lets go
        assert _claimed(counts) == "None"
    assert Spread(counts, 2).slot == 1  # in this process too, once the holder is gone


def test_without_flock_there_are_no_shared_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no flock: the workers then take connections as they come, and nothing is created."""
    monkeypatch.setattr(balance, "fcntl", None)
    assert balance.create(2) is None


def test_the_protocol_closes_one_connection_after_its_answer_when_over(counts: str) -> None:
    """In a worker that holds three connections while the other holds none, one answer says close
    (three against none is more than one over an even share; two against one is not)."""
    protocol.SPREAD = spread = Spread(counts, 2)
    try:
        for server in serving_here(Settings(), workers=2):
            connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT) for _ in range(3)]
            for c in connections:
                c.connect()
            deadline = time.monotonic() + TIMEOUT
            while _slots(counts)[spread.slot] != 3:  # type: ignore[index]
                assert time.monotonic() < deadline, "the server did not count the connections"
                time.sleep(0.01)
            said = []
            for c in connections:
                c.request("GET", "/cds-services")
                response = c.getresponse()
                assert response.status == 200
                response.read()
                said.append(response.getheader("connection"))
            assert said == ["close", None, None]
            assert connections[0].sock is None  # http.client closed it, as told
            deadline = time.monotonic() + TIMEOUT
            while _slots(counts)[spread.slot] != 2:  # type: ignore[index]
                assert time.monotonic() < deadline, "the closed connection is still counted"
                time.sleep(0.01)
            assert spread.leaving == 0
            for c in connections:
                c.close()
    finally:
        protocol.SPREAD = None


def _connections_by_worker(server: int, port: int) -> dict[int, int]:
    """How many established connections to `port` each child process of `server` holds (Linux /proc)."""
    sockets = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            sockets.add(f"socket:[{fields[9]}]")
    held: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent != server:
                continue
            pid = int(stat.parent.name)
            held[pid] = sum(os.readlink(fd) in sockets for fd in (stat.parent / "fd").iterdir())
        except (OSError, ValueError):  # a process that ended meanwhile
            continue
    return {pid: n for pid, n in held.items() if n}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the connections from Linux's /proc")
def test_thirty_connections_end_up_spread_evenly_over_two_workers(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "osteocheck", "serve", "--port", str(port), "--workers", "2"]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with (tmp_path / "serve.log").open("w") as log, spawn(argv, output=log, env=env) as child:
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT) for _ in range(30)]
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                connections[0].connect()
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, "the service did not start"
                time.sleep(0.05)
        assert len(list(tmp_path.glob("osteocheck-serve-*/counts"))) == 1

        def call(k: int) -> bool:
            """One request on connection k; whether the server asked for a new connection."""
            connections[k].request("GET", "/cds-services")
            response = connections[k].getresponse()
            response.read()
            assert response.status == 200
            return response.will_close

        with ThreadPoolExecutor(30) as pool:
            for _ in range(20):  # rounds of one request per connection, until nobody is asked to move
                if not any(list(pool.map(call, range(30)))):
                    break
                assert time.monotonic() < deadline, "connections were still moving at the deadline"
            else:
                pytest.fail("connections were still being moved after 20 rounds")
        for c in connections:
            c.connect() if c.sock is None else None
        held = _connections_by_worker(child.pid, port)
        assert sorted(held.values()) in ([15, 15], [14, 16]), held  # one over an even share at most
        for c in connections:
            c.close()
        child.send_signal(signal.SIGTERM)
        assert child.wait(DEADLINE) == 0
    logged = (tmp_path / "serve.log").read_text()
    assert logged.count("GET /cds-services 200") >= 30, logged[-2000:]  # each worker logs its requests
    assert list(tmp_path.iterdir()) == [tmp_path / "serve.log"]  # the shared file goes with the service
