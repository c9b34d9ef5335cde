"""Load on `osteocheck serve`: p50/p99 latency and requests/s at N concurrent requests, over real HTTP on loopback.

    pip install '.[serve,bench]'
    python bench/serve_load.py [--concurrency 50] [--requests 5000] [--warmup 500] [--workers 1] [--max-kib N]
                               [--client curl|aiohttp|wrk] [--same] [--new-labels | --new-texts] [--runs N]

Starts the real server (a child process, killed at the end), then sends patient-view calls built from
the shipped example records, the Synthea records and the patients of the Bulk Data export, in turn
(18 real patients; the generated ones moved in time to end today), each prefetch holding what the
service's templates ask for, from `--concurrency` clients on keep-alive connections. By default every call is
a different patient (`distinct`: conditions at drawn body sites, a drawn T-score), as on a roster;
`--same` sends the records as they are. The importer keeps what a label's words name (records share
their labels: names.py); `--new-labels` gives every coded concept of every patient a text of its own,
so that no label is ever read twice (the worst case for what is kept); `--new-texts` gives each a text of
its own beside the displays it had, so each coded one is read by its words as well (a clinic's own
texts, none shared: the worst case of all). The first `--warmup` requests open the connections and are not counted (the
connections stay open for the counted ones); a second line counts every request, openings included.
Two baselines, in the same run: discovery (GET /cds-services) at the same concurrency, the HTTP
stack's own floor on this machine; and a call through the service's app in this process, without
HTTP, which says how fast the host is running at the moment (its spells move everything by a
quarter). After the load, the CPU a call cost the server under it (its processes' user and system time
over the load, per request; Linux) and the client: at 50 calls in flight on 2 cores, p50 is about
50 x that CPU / 2, so this says whether a slow run was a call costing more or calls waiting longer.
Bounded: every request has a timeout and the whole run a deadline. `--runs N` makes N loads in a row,
each on a new server with its own baselines, and says in how many p99 met the target: this host's spells
move a single run's p99 by half, so the target is judged over runs.

The load's client shares the two cores with the server, so the lighter it is the less it measures
itself. The default is libcurl (pycurl's multi interface: the transfers in C, a few microseconds of
Python a call). aiohttp costs about a quarter of a millisecond of CPU a call and queues answers in
its own event loop. `--client wrk` sends the same bodies with wrk (C; Debian's `wrk` package) for
`--seconds`, connection openings included.

The server runs on this script's interpreter (`sys.executable`), named on the first line: the build
matters. On this host Debian's python3.11 (optimized with PGO and LTO, libpython in the executable)
ran the call in process about 15 % faster than pyenv's default build (shared libpython, no PGO), and
took 13 % less of the server's CPU a call under the load: give the bench a venv of the interpreter the
service is deployed on (docs/performance.md, "The interpreter").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pycurl

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "fhir").glob("*.json"))
SYNTHEA = sorted((ROOT / "tests/data/fhir/synthea").glob("*.json"))
BULK = ROOT / "tests/data/fhir/bulk-ndjson"
DEADLINE = 300.0


def interpreter() -> str:
    """This interpreter, whose build the server inherits, and whether its libpython is a shared library
    (Linux: from the process's memory map), as in pyenv's default build."""
    maps = Path("/proc/self/maps")
    shared = maps.exists() and "libpython" in maps.read_text()
    base = getattr(sys, "_base_executable", sys.executable)
    return f"Python {platform.python_version()} at {base}" + (", libpython a shared library" if shared else "")


def real_calls() -> list[dict[str, Any]]:
    """A patient-view call per real patient, as an EHR would send it today: the example records as they
    are, the Synthea records and the Bulk export's 13 moved in time so that each ends today (a chart
    opened today runs up to today, so its recent procedures and current medications are asked for)."""
    from osteocheck import api  # noqa: PLC0415 - the installed package's
    from osteocheck.service.hooks import bulk_records, request_for  # noqa: PLC0415

    codes = api.code_map()  # loaded once for both
    examples = [json.loads(p.read_text()) for p in EXAMPLES]
    generated = [json.loads(p.read_text()) for p in SYNTHEA] + bulk_records(BULK)
    today = datetime.date.today()
    bundles = examples + [moved(b, today - last_event(b)) for b in generated]
    return [request_for(b, "patient-view", codes, today=today) for b in bundles]


def within(max_kib: int) -> list[dict[str, Any]]:
    """The real calls whose prefetch is at most `max_kib` KiB (0: all): `--max-kib 128` is the typical
    prefetch, here and in call_instructions.py."""
    return [c for c in real_calls() if not max_kib or len(json.dumps(c)) <= max_kib * 1024]


_EVENTS = {"performedDateTime", "authoredOn", "onsetDateTime", "recordedDate", "effectiveDateTime", "start", "end"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def last_event(value: Any, key: str = "") -> datetime.date:
    """The record's last dated event (a procedure, an order, an onset, an encounter's start or end)."""
    if isinstance(value, dict):
        return max((last_event(v, k) for k, v in value.items()), default=datetime.date.min)
    if isinstance(value, list):
        return max((last_event(v, key) for v in value), default=datetime.date.min)
    if key in _EVENTS and isinstance(value, str) and _DAY.match(value):
        return datetime.date.fromisoformat(value[:10])
    return datetime.date.min


def moved(value: Any, by: datetime.timedelta) -> Any:
    """Every date and date-time in the record `by` later (birth dates too, so ages stay as they were)."""
    if isinstance(value, dict):
        return {k: moved(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [moved(v, by) for v in value]
    if isinstance(value, str) and _DAY.fullmatch(value[:10]) and (len(value) == 10 or value[10] == "T"):
        return (datetime.date.fromisoformat(value[:10]) + by).isoformat() + value[10:]
    return value


def distinct(
    calls: list[dict[str, Any]], count: int, seed: int = 7, *, new_labels: bool = False, new_texts: bool = False
) -> list[bytes]:
    """`count` calls, the real patients in turn, each time with every Condition placed at one or two body
    sites and a DXA T-score from -4.0 to -0.5 added, drawn (seeded) with the code map's own body-site
    and T-score codes: a roster's patients are nearly all distinct, and the cards keep the texts they
    have escaped, so a load that repeated 13 patients would measure those caches warm. What a record
    says otherwise (which conditions, how recent) stays as it is."""
    from osteocheck import api  # noqa: PLC0415

    codes = api.code_map()  # loaded once for both

    def coding(entry: dict[str, Any]) -> dict[str, str]:
        return {"system": codes.systems[entry["system"]], "code": entry["code"], "display": entry["display"]}

    sites = [coding(e) for e in codes.entries("body_sites")]
    scores = [coding(e) for e in codes.entries("observations") if e.get("t_score")]
    draw = random.Random(seed)  # noqa: S311 - a load's variety, not a secret
    today = datetime.date.today()
    out = []
    for n in range(count):
        call = calls[n % len(calls)]
        conditions = call["prefetch"]["conditions"]
        placed = [
            {
                "resource": {
                    **e["resource"],
                    "bodySite": [{"coding": draw.sample(sites, draw.randint(1, 2))}],
                }
            }
            for e in conditions["entry"]
        ]
        scan = {
            "resourceType": "Observation",
            "id": f"dxa-{n}",
            "status": "final",
            "code": {"coding": [draw.choice(scores)]},
            "subject": {"reference": f"Patient/{call['context']['patientId']}"},
            "effectiveDateTime": (today - datetime.timedelta(days=draw.randint(0, 730))).isoformat(),
            "valueQuantity": {"value": draw.randint(-40, -5) / 10, "unit": "{T-score}"},
        }
        observations = call["prefetch"]["observations"]
        prefetch = {
            **call["prefetch"],
            "conditions": {**conditions, "entry": placed},
            "observations": {**observations, "entry": [*observations["entry"], {"resource": scan}]},
        }
        if new_labels or new_texts:
            prefetch = relabelled(prefetch, n, displays=not new_texts)
        out.append(json.dumps({**call, "prefetch": prefetch}).encode())
    return out


_CONCEPTS = ("code", "medicationCodeableConcept")


def relabelled(value: Any, n: int, *, displays: bool = True) -> Any:
    """`value` with patient `n`'s own text (and displays) on each resource's code: the same words, and one
    more that no other patient's label holds (what the words name stays the same)."""
    if isinstance(value, list):
        return [relabelled(v, n, displays=displays) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: relabelled(v, n, displays=displays) for k, v in value.items()}
    if isinstance(out.get("resourceType"), str):
        for key in _CONCEPTS:
            concept = out.get(key)
            if isinstance(concept, dict):
                names = [concept.get("text"), *(c.get("display") for c in concept.get("coding", []))]
                words = next((w for w in names if isinstance(w, str) and w), "")
                own = f"{words} (patient {n})"  # the displays too, so the label is as long as before
                codings = [{**c, "display": own} if isinstance(c, dict) else c for c in concept.get("coding", [])]
                out[key] = {**concept, "text": own, **({"coding": codings} if displays else {})}
    return out


def in_process(bodies: list[bytes], calls: int = 150, rounds: int = 3) -> float:
    """Seconds a call takes in this process through the service's own app, without HTTP (the fastest
    of `rounds` rounds of `calls` bodies): the host's pace at the moment, for reading the figures
    of a run (this host's spells move everything by a quarter)."""
    from osteocheck.service.app import Settings, create_app  # noqa: PLC0415 - the installed package's

    app = create_app(Settings())
    path = "/cds-services/osteocheck-patient-view"
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "root_path": ""}  # fmt: skip

    async def call(body: bytes) -> int:
        said: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                said.append(message["status"])

        await app(dict(scope), receive, send)
        return said[0]

    async def timed() -> float:
        best = float("inf")
        async with app.router.lifespan_context(app):  # the app's start-up, as under uvicorn (the collector's settings)
            for n in range(rounds):
                chunk = [bodies[(n * calls + k) % len(bodies)] for k in range(calls)]
                started = time.perf_counter()
                statuses = [await call(body) for body in chunk]
                best = min(best, (time.perf_counter() - started) / calls)
                if set(statuses) != {200}:
                    sys.exit(f"the app answered {sorted(set(statuses))} in process")
        return best

    collector = gc.get_threshold()
    try:
        return asyncio.run(timed())
    finally:
        gc.set_threshold(*collector)  # the start-up raised it for the service; this process is the load's client


def group_cpu(group: int) -> float | None:
    """CPU seconds (user and system) of the live processes in process group `group`: the server and
    its workers. From Linux's /proc; None elsewhere."""
    if not Path("/proc/self/stat").exists():
        return None
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the name, which may hold spaces
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def host_ticks() -> tuple[int, int, int] | None:
    """All CPUs' ticks so far, from Linux's /proc/stat: busy, stolen (run by the hypervisor for others
    while this machine waited: a shared host's noise, which no build moves) and idle. None elsewhere."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal, idle + iowait


def shares(before: tuple[int, int, int], after: tuple[int, int, int], server: float, client: float) -> str:
    """What the machine's CPUs did over the load: the server, its client, anything else running here, and
    what the hypervisor took (steal) or left idle."""
    hz = os.sysconf("SC_CLK_TCK")
    busy, stolen, idle = ((a - b) / hz for b, a in zip(before, after, strict=True))
    total = busy + stolen + idle
    if total <= 0:
        return "the machine's CPUs under this load: not measured (no ticks)"
    parts = {"the server": server, "the client": client, "other processes": max(0.0, busy - server - client)}
    parts |= {"steal": stolen, "idle": idle}
    return "the machine's CPUs under this load: " + ", ".join(f"{name} {t / total:.0%}" for name, t in parts.items())


def client_cpu() -> float:
    """CPU seconds of the load's client: this process, and wrk once it has ended (a waited-for child)."""
    own, ended = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def started(argv: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The service on port 0 (it binds a free port itself, and says which), once it answers discovery."""
    with log.open("wb") as out:
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=out, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 30
    base = None
    while True:
        if base is None and (said := re.search(r"CDS Hooks service on (http://\S+)/cds-services", log.read_text())):
            base = said[1]
        try:
            if base is not None:
                with urllib.request.urlopen(f"{base}/cds-services", timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return server, base
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit(f"the service did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)


async def aiohttp_load(
    url: str, bodies: list[bytes] | None, total: int, concurrency: int, warmup: int
) -> tuple[Run, Run]:
    """The same from aiohttp: `concurrency` clients, each on its own keep-alive connection."""
    done: list[tuple[int, float, float, bool, int]] = []
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def client() -> None:
            nonlocal sent
            while sent < warmup + total:
                n = sent
                sent += 1
                started = time.perf_counter()
                if bodies is None:
                    response = await session.get(url)
                else:
                    body = bodies[n % len(bodies)]
                    response = await session.post(url, data=body, headers={"Content-Type": "application/json"})
                await response.read()
                done.append((n, started, time.perf_counter(), response.status == 200, 0))

        await asyncio.wait_for(asyncio.gather(*(client() for _ in range(concurrency))), DEADLINE)
    return _run([d for d in done if d[0] >= warmup]), _run(done)


class Run(NamedTuple):
    latencies: list[float]  # seconds, of the counted requests, in the order they finished
    errors: int  # answers other than 200, and failed transfers
    seconds: float  # from the first counted request's start to the last one's end
    connects: int  # connections opened (curl only): the first ones, then when the service asks a client to move


def curl_load(url: str, bodies: list[bytes] | None, total: int, concurrency: int, warmup: int) -> tuple[Run, Run]:
    """`warmup + total` requests from `concurrency` transfers at once (libcurl, keep-alive): the counted
    ones, and all of them."""
    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_MAXCONNECTS, concurrency)
    started: dict[pycurl.Curl, tuple[int, float]] = {}
    done: list[tuple[int, float, float, bool, int]] = []  # index, start, end, ok, new connections
    sent = 0

    def launch(handle: pycurl.Curl) -> None:
        nonlocal sent
        if bodies is not None:
            handle.setopt(pycurl.POSTFIELDS, bodies[sent % len(bodies)])
        started[handle] = (sent, time.perf_counter())
        sent += 1
        multi.add_handle(handle)

    handles = []
    for _ in range(min(concurrency, warmup + total)):
        handle = pycurl.Curl()
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json", "Expect:"])
        handle.setopt(pycurl.WRITEFUNCTION, len)  # the answer is read and dropped
        handle.setopt(pycurl.TIMEOUT, 30)
        handles.append(handle)
        launch(handle)
    deadline = time.monotonic() + DEADLINE
    while len(done) < warmup + total:
        if time.monotonic() > deadline:
            sys.exit("the load did not finish in time")
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        while True:
            left, finished, failed = multi.info_read()
            now = time.perf_counter()
            for handle in [*finished, *(f[0] for f in failed)]:
                index, began = started.pop(handle)
                ok = handle not in [f[0] for f in failed] and handle.getinfo(pycurl.RESPONSE_CODE) == 200
                done.append((index, began, now, ok, handle.getinfo(pycurl.NUM_CONNECTS)))
                multi.remove_handle(handle)
                if sent < warmup + total:
                    launch(handle)
            if not left:
                break
        multi.select(1.0)
    for handle in handles:
        handle.close()
    multi.close()
    counted = [d for d in done if d[0] >= warmup]
    return _run(counted), _run(done)


def _run(done: list[tuple[int, float, float, bool, int]]) -> Run:
    return Run(
        [end - start for _, start, end, _, _ in done],
        sum(not ok for *_, ok, _ in done),
        max(d[2] for d in done) - min(d[1] for d in done),
        sum(d[4] for d in done),
    )


def report(name: str, run: Run, *, connects: bool) -> dict[str, float]:
    ordered = sorted(run.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(ordered) / run.seconds
    print(
        f"{name:<30} {len(ordered):>6} requests  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms  {rate:7.0f} req/s  errors {run.errors}"
        + (f"  connections opened {run.connects}" if connects else "")
    )
    return {"p50": p50, "p99": p99, "rate": rate, "errors": run.errors}


# wrk's script: the bodies in turn, each from its file, each request written out once at the start (a
# request made per call from a 50 KiB body cost wrk more CPU than the server's answer).
LUA = """local requests = {}
for _, path in ipairs({%s}) do
  local f = assert(io.open(path, "rb"))
  requests[#requests + 1] = wrk.format("POST", "%s", {["Content-Type"] = "application/json"}, f:read("*all"))
  f:close()
end
local k = 0
request = function()
  k = k %% #requests + 1
  return requests[k]
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
TARGET_P99 = 50.0  # ms, for a typical prefetch at 50 concurrent calls on 2 cores (the service's issue)


def wrk_run(name: str, url: str, bodies: list[bytes] | None, seconds: int, concurrency: int) -> dict[str, float]:
    """The same load from wrk: `seconds` long, `concurrency` connections, one thread."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("--client wrk needs wrk on the PATH (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        argv = [wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
        if bodies is not None:
            paths = []
            for i, body in enumerate(bodies):
                path = Path(tmp) / f"{i}.json"
                path.write_bytes(body)
                paths.append(f"[[{path}]]")
            script = Path(tmp) / "bodies.lua"
            script.write_text(LUA % (", ".join(paths), urllib.parse.urlsplit(url).path))
            argv += ["-s", str(script)]
        out = subprocess.run(  # noqa: S603 - wrk, found on the PATH
            [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
        ).stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if "50" not in latency or "99" not in latency or rate is None or count is None:
        sys.exit(f"wrk said:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(n) for n in failed.groups()) if failed else 0)
    print(
        f"{name:<24} {count.group(1):>6} requests  p50 {latency['50']:7.1f} ms  "
        f"p99 {latency['99']:7.1f} ms  {float(rate.group(1)):7.0f} req/s  errors {errors}  (wrk)"
    )
    return {
        "p50": latency["50"],
        "p99": latency["99"],
        "rate": float(rate.group(1)),
        "requests": float(count.group(1)),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-kib", type=int, default=0, help="only records whose prefetch is at most this size")
    parser.add_argument("--warmup", type=int, default=500, help="requests that open the connections, not counted")
    parser.add_argument("--client", choices=("curl", "aiohttp", "wrk"), default="curl")
    parser.add_argument("--seconds", type=int, default=5, help="how long each wrk run lasts")
    parser.add_argument("--same", action="store_true", help="send the real records as they are, in turn")
    parser.add_argument(
        "--runs", type=int, default=1, help="loads in a row, each on a new server, and how many met the target"
    )
    relabel = parser.add_mutually_exclusive_group()
    relabel.add_argument(
        "--new-labels", action="store_true", help="a text and displays of its own on every patient's codes"
    )
    relabel.add_argument(
        "--new-texts", action="store_true", help="a text of its own on every patient's codes, beside their displays"
    )
    args = parser.parse_args()
    calls = within(args.max_kib)
    sizes = sorted(len(json.dumps(c)) for c in calls)
    print(f"the server's interpreter: {interpreter()}")
    print(f"records: {len(calls)} (prefetch {sizes[0] / 1024:.0f}–{sizes[-1] / 1024:.0f} KiB)", end="")
    if args.same:
        bodies = [json.dumps(c).encode() for c in calls]
        print(", each sent as it is, in turn")
    else:
        bodies = distinct(calls, args.warmup + args.requests, new_labels=args.new_labels, new_texts=args.new_texts)
        print(
            f", in turn, as {len(bodies):,} distinct patients (conditions at drawn sites and dates"
            + ("; every label new)" if args.new_labels else "; every text new)" if args.new_texts else ")")
        )
    runs = []
    for n in range(args.runs):
        if args.runs > 1:
            print(f"--- run {n + 1} of {args.runs}, a new server")
        runs.append(one_run(args, bodies))
    if args.runs > 1:
        p99s = [hook["p99"] for hook in runs]
        met = sum(hook["p99"] <= TARGET_P99 and not hook["errors"] for hook in runs)
        print(
            f"patient-view p99 over {args.runs} runs: {min(p99s):.1f}–{max(p99s):.1f} ms, median"
            f" {statistics.median(p99s):.1f}; at most {TARGET_P99:.0f} ms with no error in {met} of {args.runs}"
        )


def one_run(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, float]:
    """One load on a new server, with its baselines and its CPU: patient-view's figures."""
    pace = in_process(bodies)
    print(f"in process, the app without HTTP: {pace * 1000:.2f} ms a call (the host's pace now)")
    argv = [sys.executable, "-m", "osteocheck", "serve", "--port", "0", "--workers", str(args.workers)]
    folder = tempfile.TemporaryDirectory()
    server, base = started(argv, Path(folder.name) / "serve.log")
    try:
        hook_url = f"{base}/cds-services/osteocheck-patient-view"

        def measure(url: str, sent: list[bytes] | None, total: int, warmup: int) -> tuple[Run, Run]:
            if args.client == "aiohttp":
                return asyncio.run(aiohttp_load(url, sent, total, args.concurrency, warmup))
            return curl_load(url, sent, total, args.concurrency, warmup)

        measure(hook_url, bodies, 500, 0)  # the server's first calls (imports, first allocations)
        print(f"{os.cpu_count()} CPUs, {args.workers} answering (--workers), {args.concurrency} concurrent clients")
        curl = args.client == "curl"
        if args.client == "wrk":
            floor = wrk_run("discovery (baseline)", f"{base}/cds-services", None, args.seconds, args.concurrency)
        else:
            counted, _ = measure(f"{base}/cds-services", None, args.requests, args.warmup)
            floor = report(f"discovery (baseline, {args.client})", counted, connects=curl)
        server_before, client_before, host_before = group_cpu(server.pid), client_cpu(), host_ticks()
        if args.client == "wrk":
            hook = wrk_run("patient-view", hook_url, bodies, args.seconds, args.concurrency)
            calls = int(hook["requests"])
        else:
            counted, every = measure(hook_url, bodies, args.requests, args.warmup)
            calls = len(every.latencies)
        server_after, client_after, host_after = group_cpu(server.pid), client_cpu(), host_ticks()
        if args.client != "wrk":
            hook = report(f"patient-view ({args.client})", counted, connects=curl)
            report("  the same, openings included", every, connects=curl)
        if server_before is not None and server_after is not None:
            server_call = (server_after - server_before) / calls
            print(
                f"CPU a call under this load: the server {server_call * 1000:.2f} ms ({server_call / pace:.1f}x a call"
                f" in process), the client {(client_after - client_before) / calls * 1000:.2f} ms"
            )
            if host_before is not None and host_after is not None:
                print(shares(host_before, host_after, server_after - server_before, client_after - client_before))
        print(f"patient-view / baseline: p50 {hook['p50'] / floor['p50']:.1f}x, p99 {hook['p99'] / floor['p99']:.1f}x")
        print(f"patient-view p99 / a call in process: {hook['p99'] / (pace * 1000):.0f}x")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        folder.cleanup()
    return hook


if __name__ == "__main__":
    main()
