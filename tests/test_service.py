"""`osteocheck serve`: real HTTP against the real server, started here on a free port and killed after.

The cards must say what `osteocheck plan` says for the same record; every bad request is a 4xx with a
JSON error (never a 500, never a traceback); the log names no patient; a record is fetched with the
EHR's token only from an allowed server; the EHR's JWT is checked when keys are configured.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.client
import json
import shlex
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, mapped
from osteocheck import api
from osteocheck.client.records.codes import load_code_map
from osteocheck.service import hooks
from serving import TIMEOUT, Server, serving, serving_here
from test_cards import says_what_its_rule_says

pytest.importorskip("starlette", reason="the serve extra is not installed")

SCHEMAS = ROOT / "tests" / "data" / "cds-hooks"
RESPONSE = json.loads((SCHEMAS / "response.schema.json").read_text())
DISCOVERY = json.loads((SCHEMAS / "discovery.schema.json").read_text())
RECORDS = sorted((ROOT / "examples" / "fhir").glob("*.json")) + sorted(
    (ROOT / "tests" / "data" / "fhir" / "synthea").glob("*.json")
)
VIEW, BOOK = "osteocheck-patient-view", "osteocheck-appointment-book"
CODES = load_code_map()
TODAY = dt.date.today().isoformat()
KEYS = tuple(hooks.prefetch_templates(CODES, dt.date.today()))
NEEDED = tuple(key for key in KEYS if key not in hooks.OPTIONAL)  # a plan is never made without them


@pytest.fixture(scope="module")
def stub() -> Iterator[FhirStub]:
    found = FhirStub()
    yield found
    found.close()


@pytest.fixture(scope="module")
def server(stub: FhirStub) -> Iterator[Server]:
    from osteocheck.service.app import Settings

    yield from serving_here(Settings(fhir_servers=(stub.base,), max_body=3_000_000))


@pytest.fixture(scope="module")
def started() -> Iterator[Server]:
    """`osteocheck serve` as a user starts it: its own process, its log on stderr."""
    yield from serving("--max-body", "3000000")


def request_for(path: Path, hook: str = "patient-view") -> dict[str, Any]:
    return hooks.request_for(json.loads(path.read_text()), hook, CODES)


@functools.cache  # both hooks compare with it, and only read it
def plan_of(record: Path) -> dict[str, Any]:
    """`osteocheck plan` on the whole record, as a therapist runs it, judged today as the service judges."""
    from processes import run

    done = run([sys.executable, "-m", "osteocheck", "plan", "--fhir", str(record), "--as-of", TODAY, "-f", "json"])
    assert done.returncode == 0, done.stderr
    plan: dict[str, Any] = json.loads(done.stdout)
    return plan


# --- discovery and the cards -----------------------------------------------------------------


def test_discovery_lists_both_hooks_with_the_prefetch_the_importer_reads(server: Server) -> None:
    status, headers, body = server.call("GET", "/cds-services")
    assert status == 200 and headers["content-type"].startswith("application/json")
    listing = json.loads(body)
    jsonschema.validate(listing, DISCOVERY)
    assert {(s["id"], s["hook"]) for s in listing["services"]} == {(VIEW, "patient-view"), (BOOK, "appointment-book")}
    prefetch = listing["services"][0]["prefetch"]
    assert set(prefetch) == {
        "patient",
        "conditions",
        "medicationRequests",
        "medicationStatements",
        "medicationDispenses",
        "medicationAdministrations",
        "observations",
        "procedures",
        "dxaPanels",
    }
    assert "http://loinc.org|38263-0" in prefetch["observations"]  # a DXA T-score code of the code map
    assert prefetch["dxaPanels"] == prefetch["observations"].replace("&code=", "&component-code=")
    since = (dt.date.today() - dt.timedelta(days=CODES.recent_surgery_days + 1)).isoformat()
    assert (
        prefetch["procedures"]
        == f"Procedure?patient={{{{context.patientId}}}}&date=ge{since}&status=completed,in-progress,stopped,on-hold,unknown"
    )
    assert prefetch["medicationRequests"].endswith(
        "&status=active,on-hold,unknown&_include=MedicationRequest:medication"
    )


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.stem[:30])
@pytest.mark.parametrize("service", [VIEW, BOOK])
def test_each_hook_gives_the_cards_of_the_plan_for_the_same_record(server: Server, record: Path, service: str) -> None:
    request = request_for(record, "patient-view" if service == VIEW else "appointment-book")
    status, answer = server.hook(service, request)
    assert status == 200, answer
    jsonschema.validate(answer, RESPONSE, format_checker=jsonschema.FormatChecker())
    cards = answer["cards"]
    plan = plan_of(record)
    first = cards[0]
    expected = {"yes": "Massage may proceed", "after_clearance": "Massage only after", "postpone": "Postpone massage"}
    assert first["summary"].startswith(expected[plan["proceed"]])
    # what the record leaves to the therapist (ask the client, confirm a name, a death) is on the go-ahead
    told = first["detail"].replace("\\", "")
    assert all(f"- **From the record:** {' '.join(note.split())}" in told for note in plan["record"]["notes"])
    # clearances come right after the go-ahead, one card per clearance of the plan, naming its sites
    clearing = [c for c in cards if c["summary"].startswith("Physician must clear first: ")]
    assert cards[1 : 1 + len(clearing)] == clearing
    assert len(clearing) == len(plan["clearance_required"])
    for card, clearance in zip(clearing, plan["clearance_required"], strict=True):
        assert card["source"]["topic"]["code"] == clearance["rule"]
        assert ", ".join(clearance["sites"]) in card["summary"]
    # every excluded technique and every site not to treat has a card, and nothing else is called so
    named = _items(cards, "Do not use")
    assert named == {t["name"] for t in plan["techniques"] if t["status"] == "excluded"}
    assert _items(cards, "Do not treat") == {s["site"] for s in plan["sites"] if s["no_treatment"]}
    assert _items(cards, "Modify") == {t["name"] for t in plan["techniques"] if t["status"] == "modify"}
    # each restriction card shows its rule, the facts and the source sentence
    rules = {r["rule"]: r for t in plan["techniques"] for r in t["reasons"]}
    for card in cards[1:-1]:
        rule = card["source"]["topic"]["code"]
        assert card["source"]["url"].endswith(f"/rules/{rule}")
        if rule in rules:
            assert rules[rule]["severity"] == card["indicator"]
        says_what_its_rule_says(card)  # a cap's rule is never cited for "Do not treat", nor for a lower cap
    assert cards[-1]["links"][0]["type"] == "absolute"
    assert len({c["uuid"] for c in cards}) == len(cards)
    assert len({c["summary"] for c in cards}) == len(cards)  # an EHR lists summaries: none reads as another's


def _items(cards: list[dict[str, Any]], head: str) -> set[str]:
    """What the cards starting with `head` name, from their details (a summary may be cut short)."""
    found: set[str] = set()
    for card in cards:
        if card["summary"].startswith(head + ":"):
            first, rest = card["detail"].split("\n", 1)
            if first.endswith(":**"):  # modified techniques, one a line, each with what the rule asks of it
                listed = [line[4:].split(":** ", 1)[0] for line in rest.strip().split("\n\n")[0].split("\n")]
            else:
                listed = first.split(":** ", 1)[1].split(", ")
            found.update(x.replace("\\", "").strip() for x in listed)
    return found


def test_the_cards_are_stable_and_the_link_card_opens_the_full_plan(server: Server) -> None:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    first, again = server.hook(VIEW, request)[1]["cards"], server.hook(VIEW, request)[1]["cards"]
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    url = first[-1]["links"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:{server.port}/plans/")
    status, headers, body = server.call("GET", url.split(str(server.port), 1)[1])
    assert status == 200 and headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"] == "default-src 'none'"
    assert "Physician" in body.decode() and "Sources" in body.decode()
    assert first[-1]["links"][0]["url"] != again[-1]["links"][0]["url"]  # an unguessable token each time
    rule = first[1]["source"]["topic"]["code"]
    status, _, body = server.call("GET", f"/rules/{rule}")
    assert status == 200 and json.loads(body)["rule"] == rule and json.loads(body)["source"]["quote"]


def test_the_prefetched_record_is_read_as_the_importer_reads_a_file(server: Server) -> None:
    """The cards rest on the record: Miguel's warfarin and T-score give the anticoagulant and stage cards."""
    cards = server.hook(
        VIEW,
        request_for(ROOT / "tests/data/fhir/synthea/Miguel_Angel_Garica_f6d15182-f6ac-46cf-8cbd-afacd43be763.json"),
    )[1]["cards"]
    details = " ".join(c["detail"] for c in cards)
    assert "blood thinners" in details or "anticoagulant" in details
    assert "**Stage:** osteoporosis" in cards[0]["detail"]


def test_a_search_answered_under_implicit_rules_is_named_on_the_go_ahead_card(server: Server) -> None:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    request["prefetch"]["conditions"]["implicitRules"] = "https://ehr.example/rules"
    status, answer = server.hook(VIEW, request)
    assert status == 200, answer
    assert "carries implicit rules (https://ehr.example/rules), which osteocheck cannot read" in answer["cards"][0][
        "detail"
    ].replace("\\", "")


# --- what it refuses ----------------------------------------------------------------------------


def _bad(
    server: Server, body: bytes, *, path: str = f"/cds-services/{VIEW}", content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    status, headers, raw = server.call("POST", path, body, {"Content-Type": content_type})
    assert headers["content-type"].startswith("application/json")
    return status, json.loads(raw)


def _r5() -> dict[str, Any]:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    for e in request["prefetch"]["medicationStatements"]["entry"]:
        e["resource"]["medication"] = {"concept": e["resource"].pop("medicationCodeableConcept")}
    return request


def _subsetted() -> dict[str, Any]:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    for e in request["prefetch"]["conditions"]["entry"]:
        e["resource"]["meta"] = {"tag": [{"code": "SUBSETTED"}]}  # answered with _summary: no site, no onset
    return request


def _redacted() -> dict[str, Any]:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    request["prefetch"]["conditions"]["meta"] = {"security": [{"code": "REDACTED"}]}  # a consent withheld some
    return request


def _stu3() -> dict[str, Any]:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    condition = {"resourceType": "Condition", "id": "old", "clinicalStatus": "active", "code": {"text": "Osteoporosis"}}
    request["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": condition}],
    }
    return request


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (b"[]", 400, "must be a JSON object"),
        (
            json.dumps({"hook": "order-sign", "hookInstance": "x", "context": {}}).encode(),
            400,
            "answers the 'patient-view' hook",
        ),
        (json.dumps({"hook": "patient-view", "hookInstance": "x"}).encode(), 400, "'context' must be an object"),
        (json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {}}).encode(), 400, "context.patientId"),
        (
            json.dumps(
                {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, "prefetch": []}
            ).encode(),
            400,
            "'prefetch' must be an object",
        ),
        (
            json.dumps(
                {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, "prefetch": {"patient": 3}}
            ).encode(),
            400,
            "not a FHIR resource",
        ),
        (json.dumps(_stu3()).encode(), 422, "not a FHIR R4 record"),
        (json.dumps(_r5()).encode(), 422, "(MedicationStatement.medication is an element of FHIR R5)"),
        (json.dumps(_subsetted()).encode(), 422, "holds a Condition marked SUBSETTED (some of it left out"),
        (json.dumps(_redacted()).encode(), 422, "prefetch 'conditions': the search Bundle is labelled REDACTED"),
        (b"[" * 100_000, 400, "nested too deeply"),
        (b" " * 3_100_000, 413, "larger than 3,000,000 bytes"),
    ],
    ids=[
        "malformed",
        "not-utf8",
        "array",
        "wrong-hook",
        "no-context",
        "no-patient",
        "prefetch-list",
        "prefetch-not-resource",
        "stu3",
        "r5",
        "subsetted",
        "redacted",
        "deep",
        "oversized",
    ],
)
def test_every_bad_request_is_a_4xx_with_a_json_error(server: Server, body: bytes, status: int, says: str) -> None:
    got, answer = _bad(server, body)
    assert got == status and says in answer["error"], answer


def _booked(on: dt.date | None, t_score: float, measured: dt.date) -> dict[str, Any]:
    """An appointment-book request for the example patient, booked `on` that day, with one DXA reading."""
    request = hooks.request_for(
        json.loads((ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json").read_text()),
        "appointment-book",
        CODES,
        booked=on,
    )
    scan = {"resourceType": "Observation", "id": "dxa", "status": "final", "code": mapped("observations", t_score=True),
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": measured.isoformat(),
            "valueQuantity": {"value": t_score}}  # fmt: skip
    request["prefetch"]["observations"] = {"resourceType": "Bundle", "type": "searchset", "total": 1,
                                           "entry": [{"resource": scan}]}  # fmt: skip
    return request


def test_a_booking_weeks_ahead_needs_a_dxa_reading_still_current_on_its_day(server: Server) -> None:
    """A reading current today but not on the appointment's day counts as it would on the day: not at all."""
    today = dt.date.today()
    measured = today - dt.timedelta(days=335)  # -2.2: current for about a year (the map's band)
    days = (None, today - dt.timedelta(days=1), today + dt.timedelta(days=7), today + dt.timedelta(days=60))
    for on, counted in zip(days, (True, True, True, False), strict=True):  # a day before: judged today, as today's
        status, answer = server.hook(BOOK, _booked(on, -2.2, measured))
        assert status == 200, answer
        told = answer["cards"][0]["detail"].replace("\\", "")
        assert ("and the session is on" in told) is not counted, told
        before = on is not None and on < today  # planned as today's, and said
        assert (
            f"The appointment's day, {on}, is before today's, {today}: planned as a session today" in told
        ) is before
        if not counted:
            assert f"T-score -2.2 measured {measured.isoformat()}, so not counted" in told
            assert f"and the session is on {on.isoformat()}; ask for a newer DXA result" in told  # type: ignore[union-attr]
    status, answer = server.hook(VIEW, {**_booked(None, -2.2, measured), "hook": "patient-view"})
    assert status == 200 and "not counted" not in answer["cards"][0]["detail"]
    later = (today + dt.timedelta(days=60)).isoformat()
    for period in ({"start": today.isoformat(), "end": later}, {"start": later}):  # proposed: no start of its own
        request = _booked(None, -2.2, measured)
        request["context"]["appointments"]["entry"] = [
            {"resource": {"resourceType": "Appointment", "status": "proposed", "requestedPeriod": [period]}}
        ]
        status, answer = server.hook(BOOK, request)
        assert status == 200 and f"and the session is on {later}" in answer["cards"][0]["detail"], answer


def test_a_session_being_booked_is_postponed_as_the_record_stands_today(server: Server) -> None:
    """A clot in today's record postpones massage; the session being booked is not today's."""
    request = _booked(dt.date.today() + dt.timedelta(days=14), -2.2, dt.date.today())
    clot = {"resourceType": "Condition", "id": "dvt", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "active"}]}, "code": mapped("conditions", fact="dvt")}  # fmt: skip
    request["prefetch"]["conditions"]["entry"].append({"resource": clot})
    request["prefetch"]["conditions"]["total"] += 1
    summaries = {}
    for service, hook in ((BOOK, "appointment-book"), (VIEW, "patient-view")):
        status, answer = server.hook(service, {**request, "hook": hook})
        assert status == 200, answer
        summaries[hook] = answer["cards"][0]["summary"]
    on = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    assert summaries["appointment-book"].startswith(f"As the record stands today, postpone the session of {on}: ")
    assert summaries["patient-view"].startswith("Postpone massage today: ")


@pytest.mark.parametrize(
    ("appointments", "says"),
    [
        ([], "'context.appointments' must be a FHIR Bundle of Appointments"),
        ({"resourceType": "Bundle", "entry": {}}, "'context.appointments' must be a FHIR Bundle of Appointments"),
        ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Appointment", "start": "soon"}}]},
         "'context.appointments' entry 0: 'start' is not a FHIR date"),
        ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Appointment", "requestedPeriod": [
            {"start": "2026-12-01", "end": "2026-13-01"}]}}]},
         "'context.appointments' entry 0: 'requestedPeriod.end' is not a FHIR date"),
    ],
)  # fmt: skip
def test_an_appointment_whose_day_cannot_be_read_is_a_400(server: Server, appointments: object, says: str) -> None:
    request = _booked(dt.date.today(), -2.2, dt.date.today())
    request["context"]["appointments"] = appointments
    got, answer = _bad(server, json.dumps(request).encode(), path=f"/cds-services/{BOOK}")
    assert got == 400 and answer["error"] == says


def test_other_bad_calls_are_json_errors_too(server: Server) -> None:
    assert _bad(server, b"{}", content_type="text/plain")[0] == 415
    assert _bad(server, b"{}", path="/cds-services/nope")[0] == 404
    status, _, raw = server.call("GET", f"/cds-services/{VIEW}")
    assert status == 405 and json.loads(raw)["error"]
    status, _, raw = server.call("GET", "/plans/not-a-token")
    assert status == 404 and json.loads(raw)["error"]
    status, _, raw = server.call("GET", "/etc/passwd")
    assert status == 404 and json.loads(raw)["error"]
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    request["context"]["patientId"] = "someone-else"
    status, answer = server.hook(VIEW, request)
    assert status == 422 and "context.patientId" in answer["error"]


def test_a_body_sent_in_chunks_is_cut_off_at_the_limit(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        chunks = (b"{" + b" " * 500_000 for _ in range(10))
        connection.request(
            "POST",
            f"/cds-services/{VIEW}",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413 and json.loads(response.read())["status"] == 413
    finally:
        connection.close()


@pytest.fixture
def fixtures(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


@pytest.mark.parametrize("where", ["process", "thread"])
def test_the_log_names_the_route_status_and_time_never_the_patient(where: str, fixtures: pytest.FixtureRequest) -> None:
    server: Server = fixtures.getfixturevalue("started" if where == "process" else "server")
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    assert server.hook(VIEW, request)[0] == 200
    _bad(server, json.dumps(_stu3()).encode())
    time.sleep(0.2)
    log = server.log.read_text()
    assert f"POST /cds-services/{VIEW} 200" in log and f"POST /cds-services/{VIEW} 422" in log
    patient = request["context"]["patientId"]
    name = request["prefetch"]["patient"]["name"][0]["family"]
    assert patient not in log and name not in log and "Traceback" not in log
    link = server.hook(VIEW, request)[1]["cards"][-1]["links"][0]["url"]
    assert server.call("GET", "/plans/" + link.rsplit("/", 1)[1])[0] == 200
    time.sleep(0.2)
    log = server.log.read_text()
    assert "GET /plans/… 200" in log and link.rsplit("/", 1)[1] not in log  # a plan's token is never logged


def test_cors_is_off_unless_configured(server: Server) -> None:
    _, headers, _ = server.call("GET", "/cds-services", headers={"Origin": "https://ehr.example"})
    assert "access-control-allow-origin" not in headers


def test_fifty_concurrent_requests_all_answer_the_same(server: Server) -> None:
    request = request_for(ROOT / "tests/data/fhir/synthea/Fredrick_Kris_ec6a5bb6-b412-4bb6-8219-11d66f52ae8b.json")
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: server.hook(VIEW, request), range(100)))
    assert {status for status, _ in answers} == {200}
    summaries = {tuple(c["summary"] for c in answer["cards"]) for _, answer in answers}
    assert len(summaries) == 1


# --- fetching what was not prefetched, with the EHR's token -------------------------------------


class FhirStub:
    """A FHIR server on loopback that answers searches from one bundle, only with the right token."""

    TOKEN = "token-for-the-test"  # noqa: S105 - a made-up token the stub expects

    def __init__(self) -> None:
        record = json.loads((ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json").read_text())
        self.resources = [e["resource"] for e in record["entry"]]
        self.seen: list[str] = []
        self.failing: set[str] = set()  # resource types (or parameters) whose searches answer an OperationOutcome
        self.page_size: int | None = None  # searches answered page by page, each linking to the next
        self.next_page: str | None = None  # the next page's URL, whatever the search found (a wrong server's)
        self.delay = 0.0  # seconds before each answer
        self.redirect: str | None = None  # a URL every search is sent on to (302)
        self.unsent = 0  # matches each search counts in its total and leaves out (a search cut short)
        self.meta: dict[str, Any] | None = None  # each search Bundle's meta (a security label)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.seen.append(self.headers.get("Authorization", ""))
                time.sleep(stub.delay)
                if stub.redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", stub.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {stub.TOKEN}":
                    self._send(401, {"resourceType": "OperationOutcome"})
                    return
                kind = self.path.removeprefix("/fhir/").partition("?")[0]
                if "/" in kind:
                    kind, _, rid = kind.partition("/")
                    found = [r for r in stub.resources if r["resourceType"] == kind and r.get("id") == rid]
                    self._send(200 if found else 404, found[0] if found else {"resourceType": "OperationOutcome"})
                    return
                if kind in stub.failing or any(f"&{param}=" in self.path for param in stub.failing):
                    self._send(200, {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]})
                    return
                query, _, page = urllib.parse.unquote(self.path.removeprefix("/fhir/")).partition("&_page=")
                hits = hooks.found_by(query, stub.resources)
                counted = sum(r["resourceType"] == kind for r in hits) + stub.unsent  # R4: matches, not includes
                answer: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": counted}
                if stub.meta is not None:
                    answer["meta"] = stub.meta
                if stub.page_size is not None:
                    n = int(page or 0)
                    hits, rest = hits[n * stub.page_size : (n + 1) * stub.page_size], hits[(n + 1) * stub.page_size :]
                    if rest or stub.next_page:
                        answer["link"] = [
                            {"relation": "next", "url": stub.next_page or f"{stub.base}/{query}&_page={n + 1}"}
                        ]
                self._send(200, answer | {"entry": [{"resource": r} for r in hits]})

            def _send(self, status: int, data: object) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _without_prefetch(stub: FhirStub, *, token: str = FhirStub.TOKEN, server: str | None = None) -> dict[str, Any]:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    del request["prefetch"]
    request["fhirServer"] = server or stub.base
    request["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "osteocheck",
    }
    return request


def test_with_no_prefetch_it_reads_the_record_from_the_fhir_server_with_the_token(
    server: Server, stub: FhirStub
) -> None:
    given = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    expected = [c["summary"] for c in server.hook(VIEW, given)[1]["cards"]]
    stub.seen.clear()
    request = _without_prefetch(stub)
    request["fhirAuthorization"]["patient"] = request["context"]["patientId"]  # a token for this patient only
    status, answer = server.hook(VIEW, request)
    assert status == 200, answer
    assert [c["summary"] for c in answer["cards"]] == expected
    assert len(stub.seen) == len(KEYS) and set(stub.seen) == {f"Bearer {FhirStub.TOKEN}"}


def test_a_dxa_panel_is_read_when_sent_or_fetched_and_the_plan_says_when_it_is_not(
    server: Server, stub: FhirStub
) -> None:
    """R4 lets a DXA report be one Observation whose components hold the T-scores; `code` does not find it,
    `component-code` does, but not every server runs that search: without it, a plan, saying so."""
    record = json.loads((ROOT / "examples" / "fhir" / "osteopenia-after-knee-surgery.json").read_text())
    panel = {"resourceType": "Observation", "id": "panel", "status": "final", "code": {"text": "DXA report"},
             "subject": {"reference": "Patient/p2"}, "effectiveDateTime": str(dt.date.today() - dt.timedelta(days=30)),
             "component": [{"code": mapped("observations", t_score=True), "valueQuantity": {"value": -3.0}}]}  # fmt: skip
    record["entry"].append({"resource": panel})
    assert api.plan(bundle=record)["stage"] == "osteoporosis"  # the panel's reading, over the diagnosis "Osteopenia"
    given = hooks.request_for(record, "patient-view", CODES)
    assert [e["resource"]["id"] for e in given["prefetch"]["dxaPanels"]["entry"]] == ["panel"]

    def stage_and_notes(request: dict[str, Any]) -> tuple[str, list[str]]:
        status, answer = server.hook(VIEW, request)
        assert status == 200, answer
        lines = answer["cards"][0]["detail"].replace("\\", "").splitlines()
        return lines[0].removeprefix("**Stage:** "), [n for n in lines if "DXA panels" in n]

    assert stage_and_notes(given) == ("osteoporosis", [])
    said = "DXA panels (Observations whose components hold the T-scores): {}, so not read; a T-score given only in"
    paged = given["prefetch"]["dxaPanels"] | {"link": [PAGED]}
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported"}]}
    for value, how in ((None, "not sent"), (outcome, "not sent"), (paged, f"sent in part ({PARTS['one page']})")):
        request = json.loads(json.dumps(given))
        request["prefetch"]["dxaPanels"] = value
        if value is None:
            del request["prefetch"]["dxaPanels"]
        stage, notes = stage_and_notes(request)
        assert stage == "osteopenia" and len(notes) == 1 and said.format(how) in notes[0], notes
    stub.resources, kept = [e["resource"] for e in record["entry"]], stub.resources
    try:
        request = json.loads(json.dumps(given))
        del request["prefetch"]["dxaPanels"]
        request.update({k: v for k, v in _without_prefetch(stub).items() if k.startswith("fhir")})
        stub.seen.clear()
        assert stage_and_notes(request) == ("osteoporosis", []) and len(stub.seen) == 1  # fetched, the panel read
        stub.failing.add("component-code")  # a server that does not run the search
        stage, notes = stage_and_notes(request)
        assert stage == "osteopenia" and said.format("neither sent nor read from the FHIR server") in notes[0]
        request["fhirServer"] = "http://127.0.0.1:9/fhir"  # not one the service may read: not asked, nor tried
        stub.seen.clear()
        stage, notes = stage_and_notes(request)
        assert stage == "osteopenia" and said.format("not sent") in notes[0] and stub.seen == []
    finally:
        stub.resources, stub.failing = kept, set()


def test_a_token_for_another_patient_is_never_used(server: Server, stub: FhirStub) -> None:
    """A server may answer a search it does not allow with nothing, and the plan would be of an empty record."""
    request = _without_prefetch(stub)
    request["fhirAuthorization"]["patient"] = "someone-else"
    stub.seen.clear()
    status, answer = _bad(server, json.dumps(request).encode())
    assert status == 400 and answer["error"] == "'fhirAuthorization.patient' is not the patient of context.patientId"
    assert stub.seen == []


@pytest.mark.parametrize("key", NEEDED)
def test_a_prefetch_left_out_is_fetched_or_412_never_a_quieter_plan(server: Server, stub: FhirStub, key: str) -> None:
    """CDS Hooks: an EHR leaves a prefetch out, or sends an OperationOutcome in its place, when it could not
    run the query; `null` means it has no such data. The shipped record's cards need its medication."""
    given = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    expected = [c["summary"] for c in server.hook(VIEW, given)[1]["cards"]]
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    for value in (None, failed):
        request = json.loads(json.dumps(given))
        if value is None:
            del request["prefetch"][key]
        else:
            request["prefetch"][key] = value
        status, answer = server.hook(VIEW, request)
        assert status == 412 and f"lacks the prefetch {key} " in answer["error"], answer
        stub.seen.clear()
        request.update(_without_prefetch(stub) | {"prefetch": request["prefetch"]})
        status, answer = server.hook(VIEW, request)
        assert status == 200 and [c["summary"] for c in answer["cards"]] == expected, answer
        assert len(stub.seen) == 1  # only what was missing
    request = json.loads(json.dumps(given))
    request["prefetch"][key] = None  # the EHR has no such data: a plan without it, as sent
    assert server.hook(VIEW, request)[0] == 200
    if key != "patient":  # a search its server could not answer either: no plan
        request = _without_prefetch(stub)
        stub.failing.add(hooks.prefetch_templates(CODES, dt.date.today())[key].partition("?")[0])
        try:
            status, answer = server.hook(VIEW, request)
        finally:
            stub.failing.clear()
        assert status == 502 and answer["error"] == f"the FHIR server could not answer the query for {key}", answer


PAGED = {"relation": "next", "url": "https://ehr.example/fhir/Condition?page=2"}
FAILED_SEARCH = {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "too-costly"}]},
                 "search": {"mode": "outcome"}}  # fmt: skip


PARTS = {
    "one page": "one page of a search, linking to the next",
    "a later page": "a later page of a search, linking to the one before",
    "cut short": "part of a search: it says the search found 5, and holds 3",
    "a failed search": "a search that reported an error",
}


@pytest.mark.parametrize("part", PARTS)
def test_a_prefetch_sent_in_part_is_fetched_whole_or_412(server: Server, stub: FhirStub, part: str) -> None:
    """An EHR may prefetch only a page of a search, fewer matches than its search found, or a search that
    reported an error: the rest of the record (the fracture, the blood thinner) may be in what it left
    out. Read whole, or no plan."""
    given = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    expected = [c["summary"] for c in server.hook(VIEW, given)[1]["cards"]]
    request = json.loads(json.dumps(given))
    prefetched = request["prefetch"]["conditions"]
    assert prefetched["total"] == len(prefetched["entry"]) == 3
    if part == "one page":
        prefetched["link"] = [{"relation": "self", "url": "https://ehr.example/fhir/x"}, PAGED]
    elif part == "a later page":
        prefetched["link"] = [{"relation": "previous", "url": "https://ehr.example/fhir/Condition?page=1"}]
    elif part == "cut short":
        prefetched["total"] = 5
    else:
        prefetched["entry"].append(FAILED_SEARCH)
    status, answer = server.hook(VIEW, request)
    said = PARTS[part]
    assert status == 412 and f"lacks the prefetch conditions ({said}) and names no fhirServer" in answer["error"]
    stub.seen.clear()
    stub.page_size = 1  # and the server answers page by page: every page is read
    try:
        status, answer = server.hook(VIEW, _without_prefetch(stub) | {"prefetch": request["prefetch"]})
    finally:
        stub.page_size = None
    assert status == 200 and [c["summary"] for c in answer["cards"]] == expected, answer
    assert len(stub.seen) == 3  # the conditions, a page at a time
    prefetched["entry"] = [e for e in prefetched["entry"] if e != FAILED_SEARCH]
    prefetched["total"] = 3
    prefetched["link"] = [{"relation": "self", "url": "https://ehr.example/fhir/x"}]  # the only page: whole
    status, answer = server.hook(VIEW, request)
    assert status == 200 and [c["summary"] for c in answer["cards"]] == expected, answer


def test_a_search_withheld_in_part_is_422_and_not_fetched_again(server: Server, stub: FhirStub) -> None:
    """A search Bundle labelled REDACTED left out what a consent withholds (a fracture, a blood thinner);
    the FHIR server, under the same consent, would withhold it again: no plan, and nothing fetched."""
    request = _redacted() | {key: value for key, value in _without_prefetch(stub).items() if key != "prefetch"}
    stub.seen.clear()
    status, answer = server.hook(VIEW, request)
    assert status == 422 and answer["error"].startswith("prefetch 'conditions': the search Bundle is labelled REDACTED")
    assert answer["error"].endswith("so not the whole record; ask for it whole, or plan from a profile of what the client and physician tell you")  # fmt: skip
    assert stub.seen == []
    stub.meta = {
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "MASKED"}]
    }
    try:
        status, answer = server.hook(VIEW, _without_prefetch(stub))
    finally:
        stub.meta = None
    assert status == 422 and "the search Bundle is labelled MASKED (some of it hidden)" in answer["error"], answer


@pytest.mark.parametrize("where", ["elsewhere", "without end"])
def test_a_fetched_search_whose_pages_cannot_all_be_read_gives_no_plan(
    server: Server, stub: FhirStub, where: str
) -> None:
    stub.page_size = 1
    stub.next_page = "http://127.0.0.1:9/fhir/Condition?page=2" if where == "elsewhere" else None
    if where == "without end":
        stub.next_page = f"{stub.base}/Condition?patient=x&_page=0"  # every page links back to the first
    try:
        status, answer = server.hook(VIEW, _without_prefetch(stub))
    finally:
        stub.page_size = stub.next_page = None
    if where == "elsewhere":
        assert status == 502 and answer["error"].endswith("goes on elsewhere"), answer
    else:
        assert status == 413 and answer["error"].endswith("runs past 100 pages"), answer


def test_a_fetched_search_cut_short_gives_no_plan(server: Server, stub: FhirStub) -> None:
    """A server may count more matches than it sends, with no link to the rest: no plan from part of them."""
    stub.unsent = 2
    try:
        status, answer = server.hook(VIEW, _without_prefetch(stub))
    finally:
        stub.unsent = 0
    said = "the FHIR server could not answer the query for conditions (part of a search: it says the search found 5, and holds 3), "
    assert status == 502 and answer["error"].startswith(said), answer


def test_a_slow_server_s_pages_are_read_only_until_the_call_s_deadline(stub: FhirStub) -> None:
    """The reading runs in a thread the call no longer waits for once its time is up: it stops too."""
    from osteocheck.service.fetch import Fetcher
    from osteocheck.service.request import Refused

    stub.page_size, stub.next_page, stub.delay = 1, f"{stub.base}/Condition?patient=x&_page=0", 0.2
    stub.seen.clear()
    templates = hooks.prefetch_templates(CODES, dt.date.today())
    started = time.monotonic()
    try:
        with pytest.raises(Refused) as refused:
            Fetcher((stub.base,), timeout=5, max_bytes=1 << 20, total=1.0).read(
                templates, ["conditions"], stub.base, "p", FhirStub.TOKEN
            )
    finally:
        stub.page_size, stub.next_page, stub.delay = None, None, 0.0
    assert refused.value.status == 504 and time.monotonic() - started < 5
    assert len(stub.seen) <= 10  # about a second's pages, not a hundred


def test_a_redirect_is_never_followed_so_the_token_goes_nowhere_else(server: Server, stub: FhirStub) -> None:
    elsewhere = FhirStub()  # a server nobody allowed, which records what reaches it
    stub.redirect = f"{elsewhere.base}/Condition?patient=x"
    try:
        status, answer = server.hook(VIEW, _without_prefetch(stub))
    finally:
        stub.redirect = None
        elsewhere.close()
    assert status == 502 and "answered 302" in answer["error"], answer
    assert elsewhere.seen == []


def test_a_refused_token_or_a_server_not_allowed_is_a_clear_error(server: Server, stub: FhirStub) -> None:
    status, answer = server.hook(VIEW, _without_prefetch(stub, token="wrong"))  # noqa: S106
    assert status == 502 and "answered 401" in answer["error"]
    stub.seen.clear()
    status, answer = server.hook(VIEW, _without_prefetch(stub, server="http://127.0.0.1:9/fhir"))
    assert status == 403 and "--fhir-server" in answer["error"]
    assert answer["error"].startswith(f"the request lacks the prefetch {', '.join(NEEDED)} and")
    assert stub.seen == []
    partial = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    del partial["prefetch"]["conditions"]
    status, answer = server.hook(VIEW, {**partial, "fhirServer": "http://127.0.0.1:9/fhir"})
    assert status == 403 and answer["error"].startswith("the request lacks the prefetch conditions and")


# --- the EHR's JWT ------------------------------------------------------------------------------


class Keys(NamedTuple):
    jwks: Path
    private: Any
    other: Any


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    from cryptography.hazmat.primitives.asymmetric import ec

    private, other = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())
    numbers = private.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(48, "big")).rstrip(b"=").decode()

    jwk = {
        "kty": "EC",
        "crv": "P-384",
        "kid": "ehr-1",
        "use": "sig",
        "alg": "ES384",
        "x": b64(numbers.x),
        "y": b64(numbers.y),
    }
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return Keys(path, private, other)


@pytest.fixture(scope="module")
def guarded(keys: Keys) -> Iterator[Server]:
    from osteocheck.service.app import Settings

    settings = Settings(jwks=str(keys.jwks), issuer="https://ehr.example", cors_origins=("https://ehr.example",))
    yield from serving_here(settings)


def _token(key: Any, port: int, **changes: Any) -> dict[str, str]:
    import jwt

    now = int(time.time())
    claims = {
        "iss": "https://ehr.example",
        "aud": f"http://127.0.0.1:{port}/cds-services/{VIEW}",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),  # a new one for each token, as CDS Hooks has it
    }
    claims.update(changes)
    return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm="ES384", headers={"kid": "ehr-1"})}


def test_with_keys_configured_only_a_valid_ehr_jwt_is_answered(guarded: Server, keys: Keys) -> None:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    assert guarded.hook(VIEW, request, _token(keys.private, guarded.port))[0] == 200
    refused = [
        {},
        _token(keys.other, guarded.port),
        _token(keys.private, guarded.port, aud="https://elsewhere.example/cds-services/x"),
        _token(keys.private, guarded.port, exp=int(time.time()) - 3600),
        _token(keys.private, guarded.port, iss="https://impostor.example"),
        {"Authorization": "Bearer not.a.jwt"},
    ]
    for headers in refused:
        status, answer = guarded.hook(VIEW, request, headers)
        assert status == 401 and answer["error"], headers
    assert guarded.call("GET", "/cds-services")[0] == 200  # discovery is public, as the standard has it


def test_a_jwt_is_answered_once_so_a_copy_cannot_be_sent_again(guarded: Server, keys: Keys) -> None:
    """CDS Hooks: the `jti` is a nonce "used to protect against replay attacks"."""
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    token = _token(keys.private, guarded.port)
    assert guarded.hook(VIEW, request, token)[0] == 200
    status, answer = guarded.hook(VIEW, request, token)
    assert status == 401 and answer["error"].startswith("the JWT was used before"), answer
    other = _token(keys.private, guarded.port, iss="https://ehr.example")  # another token of the same EHR
    assert guarded.hook(VIEW, request, other)[0] == 200


def test_the_tokens_remembered_are_bounded_and_expired_ones_forgotten(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from osteocheck.service import auth
    from osteocheck.service.request import Refused

    monkeypatch.setattr(auth, "MAX_UNEXPIRED", 2)
    monkeypatch.setattr(auth, "SWEEP_EVERY", 100)
    verifier = auth.Verifier(str(keys.jwks))
    audience = f"http://127.0.0.1:1/cds-services/{VIEW}"
    now = int(time.time())
    for expires in (now - 20, now + 300):  # the first expired but within the leeway: still answered
        verifier.verify(_token(keys.private, 1, exp=expires)["Authorization"], audience)
    verifier._used = {("i", "old"): now - 3600.0, **verifier._used}  # one long expired
    monkeypatch.setattr(auth, "MAX_UNEXPIRED", 3)
    verifier.verify(_token(keys.private, 1)["Authorization"], audience)  # full: the expired one is forgotten
    assert ("i", "old") not in verifier._used and len(verifier._used) == 3
    with pytest.raises(Refused) as refused:  # full of unexpired ones: none is forgotten, so none replayed
        verifier.verify(_token(keys.private, 1)["Authorization"], audience)
    assert refused.value.status == 503
    verifier._sweep_at, verifier._used = 2, {("i", "old"): now - 3600.0, ("i", "new"): now + 300.0}
    monkeypatch.setattr(auth, "MAX_UNEXPIRED", 100)  # far from full: the expired are swept every so often
    verifier.verify(_token(keys.private, 1)["Authorization"], audience)
    assert set(verifier._used) - {("i", "new")} and ("i", "old") not in verifier._used


def test_a_key_the_ehr_withdraws_from_its_key_set_url_stops_working(keys: Keys) -> None:
    """`--jwks URL`: the set is read again as it ages; a key no longer in it verifies nothing."""
    from osteocheck.service.auth import Verifier
    from osteocheck.service.request import Refused

    served = {"body": keys.jwks.read_bytes()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(served["body"])))
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        verifier = Verifier(f"http://127.0.0.1:{httpd.server_address[1]}/jwks", lifespan=0.5)
        audience = f"http://127.0.0.1:1/cds-services/{VIEW}"
        assert verifier.verify(_token(keys.private, 1)["Authorization"], audience)["iss"] == "https://ehr.example"
        served["body"] = json.dumps({"keys": []}).encode()  # withdrawn
        time.sleep(0.7)
        with pytest.raises(Refused) as refused:
            verifier.verify(_token(keys.private, 1)["Authorization"], audience)
        assert refused.value.status == 401 and "not accepted" in refused.value.message
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cors_answers_only_the_configured_origin(guarded: Server) -> None:
    _, headers, _ = guarded.call("GET", "/cds-services", headers={"Origin": "https://ehr.example"})
    assert headers["access-control-allow-origin"] == "https://ehr.example"
    _, headers, _ = guarded.call("GET", "/cds-services", headers={"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("hook", ["patient-view", "appointment-book"])
def test_the_shipped_example_requests_are_what_request_for_makes(hook: str) -> None:
    shipped = json.loads((ROOT / "examples" / "cds-hooks" / f"{hook}.json").read_text())
    record = json.loads((ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json").read_text())
    booked = dt.date(2026, 12, 14) if hook == "appointment-book" else None  # the example's proposed appointment
    made = hooks.request_for(record, hook, CODES, booked=booked)
    assert shipped == {**made, "hookInstance": shipped["hookInstance"]}


def test_serve_says_what_is_missing_or_wrong_before_it_listens(tmp_path: Path) -> None:
    from processes import run

    for missing in ("starlette", "orjson"):  # any part of the extra
        blocked = (
            f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['osteocheck', 'serve'];"
            "from osteocheck.cli.entry import main; main()"
        )
        done = run([sys.executable, "-c", blocked])
        assert (
            done.returncode == 1
            and done.stderr == "osteocheck: serve needs the optional extra: pip install 'osteocheck[serve]'\n"
        )
    done = run([sys.executable, "-m", "osteocheck", "serve", "--fhir-server", "file:///etc"])
    assert done.returncode == 2 and "give an http:// or https:// URL" in done.stderr
    for flag in ("--fhir-server", "--jwks"):  # the EHR's token, or its keys, would cross the network readable
        done = run([sys.executable, "-m", "osteocheck", "serve", flag, "http://ehr.example/fhir"])
        assert done.returncode == 2 and "give an https:// URL; plain http:// only reaches this machine" in done.stderr
    keys = tmp_path / "keys.json"
    keys.write_text("{not json")
    done = run([sys.executable, "-m", "osteocheck", "serve", "--jwks", str(keys)])
    assert done.returncode == 1 and "not a JSON Web Key Set" in done.stderr and "Traceback" not in done.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n")
    done = run([sys.executable, "-m", "osteocheck", "serve", "--rules", str(broken)])
    assert done.returncode == 1 and "the knowledge file is invalid" in done.stderr
    no_fork = "import os, sys; del os.fork; sys.argv = ['osteocheck', 'serve', '--workers', '2']; " + (
        "from osteocheck.cli.entry import main; main()"
    )
    done = run([sys.executable, "-c", no_fork])
    assert done.returncode == 2 and done.stderr == (
        "osteocheck: --workers needs os.fork, which this system lacks; run one process per port\n"
    )


def _serve(*argv: str, before: str = "") -> tuple[int, str]:
    """`osteocheck serve` run after `before`: its exit code and stderr, and a check that nothing it
    started (a worker maker, workers: the same command line) outlives it."""
    from processes import run

    marker = f"# {uuid.uuid4()}"
    code = f"import sys\n{before}\nsys.argv = ['osteocheck', 'serve', *{list(argv)!r}]\n"
    done = run([sys.executable, "-c", code + "from osteocheck.cli.entry import main\nmain()\n" + marker])
    left = [p for p in Path("/proc").glob("[0-9]*") if _reads(p / "cmdline").endswith(marker.encode() + b"\0")]
    assert not left, f"still running: {left}"
    return done.returncode, done.stderr


def _reads(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # ended meanwhile
        return b""


def test_a_port_that_cannot_be_had_is_said_plainly_before_anything_is_announced() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("1", "3"):  # with workers: forked first, then stopped
            code, err = _serve("--port", str(port), "--workers", workers)
            assert (code, err) == (
                2,
                f"osteocheck: cannot listen on 127.0.0.1:{port}: port {port} is in use there;"
                " stop what listens on it, or choose another --port\n",
            )
    if _reads(Path("/proc/sys/net/ipv4/ip_nonlocal_bind")).strip() != b"1":  # else any address binds
        code, err = _serve("--host", "192.0.2.1")  # TEST-NET-1: documentation only, never this machine's
        assert code == 2 and err.endswith("192.0.2.1 is not an address of this machine; choose another --host\n")
    code, err = _serve("--host", "no-such-host.invalid")
    assert code == 2 and "no address found for --host no-such-host.invalid" in err
    assert "CDS Hooks service on" not in err and "Traceback" not in err


def test_workers_that_cannot_start_are_said_plainly() -> None:
    code, err = _serve("--workers", "8", before="import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))")
    assert (code, err) == (
        1,
        "osteocheck: this process may have only 40 files open (ulimit -n); with --workers 8 the service"
        " needs 72 or more: raise the limit\n",
    )
    no_fork = "import os\ndef fork(): raise BlockingIOError(11, 'Resource temporarily unavailable')\nos.fork = fork"
    code, err = _serve("--workers", "2", before=f"exec({no_fork!r})")
    assert (code, err) == (1, "osteocheck: could not start the worker processes: Resource temporarily unavailable\n")


def test_the_readme_starts_and_calls_the_service_as_written(started: Server) -> None:
    """The README's service block: `serve` as it starts it (here on a free port, not 8080), and each curl
    call made here with the same method, headers, body and path."""
    block = (ROOT / "README.md").read_text(encoding="utf-8").split("```bash\n")[1].split("```")[0]
    install, start, *calls = (shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines())
    assert install == ["pip", "install", ".[serve]"]
    assert start == ["osteocheck", "serve", "--port", "8080", "&"]  # as `started` runs, but for the port
    assert [call[0] for call in calls] == ["curl", "curl"]
    answers = []
    for call in calls:
        method, headers, body, url = _as_curl_sends(call[1:])
        assert url.startswith("http://127.0.0.1:8080/"), url
        status, _, answer = started.call(method, url.removeprefix("http://127.0.0.1:8080"), body, headers)
        assert status == 200, answer[:500]
        answers.append(json.loads(answer))
    discovery, cards = answers
    jsonschema.validate(discovery, DISCOVERY)
    jsonschema.validate(cards, RESPONSE, format_checker=jsonschema.FormatChecker())
    assert [s["id"] for s in discovery["services"]] == [VIEW, BOOK]
    assert cards["cards"][0]["summary"].startswith("Massage only after the physician clears: spine")


def _as_curl_sends(argv: list[str]) -> tuple[str, dict[str, str], bytes | None, str]:
    """Method, headers, body and URL of a curl call, for the few options the README uses (any other fails)."""
    headers: dict[str, str] = {}
    body, url, words = None, "", iter(argv)
    for word in words:
        if word == "-H":
            name, _, value = next(words).partition(":")
            headers[name] = value.strip()
        elif word == "-d":
            data = next(words)
            body = (ROOT / data[1:]).read_bytes() if data.startswith("@") else data.encode()
        elif word == "--retry":
            next(words)
        elif word not in ("-s", "--retry-connrefused"):
            assert not word.startswith("-"), f"a curl option this test does not know: {word}"
            url = word
    return ("POST" if body is not None else "GET"), headers, body, url


def test_every_address_of_the_host_is_listened_on_at_one_port() -> None:
    """As asyncio (and so uvicorn) binds them: "" is every address of the machine, in each family; on
    port 0 they all get the port the first one got."""
    from osteocheck.service.run import listen

    listening = listen("", 0)
    try:
        assert len({sock.getsockname()[1] for sock in listening}) == 1
        everywhere = socket.getaddrinfo(None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        assert sorted(sock.family for sock in listening) == sorted({found[0] for found in everywhere})
    finally:
        for sock in listening:
            sock.close()


def test_an_address_names_its_port_after_an_ipv6_host_in_brackets() -> None:
    from osteocheck.service.run import address

    assert address("127.0.0.1", 8080) == "127.0.0.1:8080"
    assert address("::1", 0) == "[::1]:0"


BULK = hooks.bulk_records(ROOT / "tests" / "data" / "fhir" / "bulk-ndjson")


@pytest.mark.parametrize("number", range(len(BULK)))
def test_every_patient_of_a_real_bulk_export_gets_the_cards_of_its_plan(server: Server, number: int) -> None:
    """Thirteen real patients (Synthea via Bulk Data), each as an EHR would prefetch them."""
    from osteocheck import api
    from osteocheck.service.request import as_bundle

    request = hooks.request_for(BULK[number], "patient-view", CODES)
    status, answer = server.hook(VIEW, request)
    assert status == 200, answer
    jsonschema.validate(answer, RESPONSE, format_checker=jsonschema.FormatChecker())
    cards = answer["cards"]
    plan = api.plan(bundle=as_bundle(request["prefetch"]), patient=request["context"]["patientId"])
    expected = {"yes": "Massage may proceed", "after_clearance": "Massage only after", "postpone": "Postpone massage"}
    assert cards[0]["summary"].startswith(expected[plan["proceed"]])
    assert len([c for c in cards if c["summary"].startswith("Physician must clear")]) == len(plan["clearance_required"])
    assert _items(cards, "Do not use") == {t["name"] for t in plan["techniques"] if t["status"] == "excluded"}
    assert _items(cards, "Modify") == {t["name"] for t in plan["techniques"] if t["status"] == "modify"}


def test_a_fault_of_ours_is_a_json_500_and_one_log_line_without_the_record(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = request_for(ROOT / "examples" / "fhir" / "vertebral-fracture-on-warfarin.json")
    name = request["prefetch"]["patient"]["name"][0]["family"]

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(f"something about {name}")

    monkeypatch.setattr("osteocheck.service.app.plan_cards", broken)
    status, answer = server.hook(VIEW, request)
    assert status == 500 and answer == {"error": "internal error", "status": 500}
    time.sleep(0.2)
    log = server.log.read_text()
    assert "internal error: ValueError" in log and name not in log and "Traceback" not in log


def test_a_body_sent_too_slowly_is_cut_off_at_the_deadline() -> None:
    from osteocheck.service.app import Settings

    for server in serving_here(Settings(timeout=1.0)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            sock.sendall(
                f"POST /cds-services/{VIEW} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n{".encode()
            )
            started = time.monotonic()
            answer = sock.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 504") and '"status":504' in answer.replace(" ", "")
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /cds-services/" + VIEW.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Ty"],
    ids=["nothing", "half the headers"],
)
def test_a_connection_that_does_not_finish_its_headers_in_time_is_closed(sent: bytes) -> None:
    from osteocheck.service.app import Settings

    for server in serving_here(Settings(timeout=1.0)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            sock.sendall(sent)
            started = time.monotonic()
            assert sock.recv(4096) == b""  # closed, with nothing said
            assert 0.5 < time.monotonic() - started < 10
        # and a request that sends its headers at once is answered as ever, on a connection kept open
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        for _ in range(2):
            connection.request("GET", "/cds-services")
            answer = connection.getresponse()
            assert answer.status == 200 and json.loads(answer.read())["services"]
        connection.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.text(max_size=60))
def test_a_card_s_uuid_is_the_name_based_uuid_of_the_standard(namespace: bytes, name: str) -> None:
    from osteocheck.service.cards import name_uuid

    assert name_uuid(namespace, name) == str(uuid.uuid5(uuid.UUID(bytes=namespace), name))


def test_the_workers_end_with_serve_when_uvicorn_stops_before_its_start_up() -> None:
    """uvicorn can end before the app's start-up takes the forked workers (its settings fail to load):
    `serve` ends them itself, and says so in one line."""
    never_starts = "import uvicorn\nuvicorn.Server.run = lambda self, sockets=None: None"
    code, err = _serve("--workers", "3", before=never_starts)
    assert (code, err.splitlines()[-1]) == (1, "osteocheck: the service did not start; the lines above say why")
