"""Fuzzing the readers of untrusted input: the only outcomes are a result or osteocheck's own error.

The normal run uses a small budget; `make fuzz` sets OSTEOCHECK_FUZZ_EXAMPLES for a long one.
Inputs that ever broke a reader are kept in tests/fuzz_corpus/ and replayed here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import ROOT, SHIPPED, mapped
from osteocheck.batch import rows as batch
from osteocheck.batch.lines import LineSource
from osteocheck.cli.app import app
from osteocheck.client import files as profilefile
from osteocheck.client.profile import build
from osteocheck.client.records import derive as fhir
from osteocheck.errors import KnowledgeError, OsteocheckError, ProfileError
from osteocheck.knowledge import loader as knowledge
from osteocheck.parsing import cache
from osteocheck.parsing import strict_yaml as strictyaml

KB = knowledge.load(SHIPPED)
KINDS = {f.id: f.per_site for f in KB.facts}
CODES = fhir.load_code_map()
EXAMPLES = int(os.environ.get("OSTEOCHECK_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The suite's 120 s a test is for its small budget; a long run (`EXAMPLES=20000 make fuzz`) gets time in
# proportion, still bounded. The slowest fuzzer takes up to 70 ms an example on a busy host: 200 ms here.
pytestmark = pytest.mark.timeout(max(120, 60 + EXAMPLES // 5))
SHIPPED_TEXT = SHIPPED.read_text(encoding="utf-8")
CORPUS = sorted(p for p in (ROOT / "tests" / "fuzz_corpus").iterdir() if p.name != "README.md")

yaml_like = st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#\n\t ,?%@`0123456789.")), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A folder for one example, removed after it: a long run makes tens of thousands of examples, and
    pytest's own temporary folders would keep them all (about 13 MB a thousand, for three runs)."""
    with tempfile.TemporaryDirectory(prefix="osteocheck-fuzz-") as folder:
        yield Path(folder)


def load_knowledge_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "k.yaml"
    path.write_bytes(data)
    try:
        kb, problems = knowledge.check(path, use_cache=False)
    except KnowledgeError:
        return
    assert kb is not None or any(p.is_error for p in problems)


@FUZZ
@given(st.binary(max_size=400) | yaml_like.map(str.encode))
def test_knowledge_loader_on_arbitrary_bytes(data: bytes) -> None:
    with scratch() as folder:
        load_knowledge_bytes(folder, data)


@FUZZ
@given(st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_knowledge_loader_on_mutated_shipped_file(seed: int, edits: int) -> None:
    rng = random.Random(seed)
    text = list(SHIPPED_TEXT)
    for _ in range(edits):
        i = rng.randrange(len(text))
        choice = rng.random()
        if choice < 0.4:
            del text[i]
        elif choice < 0.8:
            text.insert(i, rng.choice(":-[]{}\n #'\"&*!x1"))
        else:
            text[i] = rng.choice(":-[]{} \nx")
    with scratch() as folder:
        (folder / "sources").symlink_to(SHIPPED.parent / "sources")
        load_knowledge_bytes(folder, "".join(text).encode())


@FUZZ
@given(st.binary(max_size=300) | yaml_like.map(str.encode), st.sampled_from([".yaml", ".json"]))
def test_profile_file_reader(data: bytes, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"p{suffix}"
        path.write_bytes(data)
        try:
            raw = profilefile.read(path)
            build(raw, KB, usage=False, origin=str(path))
        except ProfileError as exc:
            assert exc.messages and all(isinstance(m, str) and m for m in exc.messages)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["stage", "t_score", "kyphosis", "open_wounds", "cleared", "id", "x"]), json_values, max_size=5
    )
)
def test_profile_builder_on_arbitrary_values(raw: dict[str, object]) -> None:
    try:
        build(raw, KB, usage=True)
    except ProfileError as exc:
        assert exc.messages


resource = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            [
                "Condition",
                "MedicationStatement",
                "MedicationRequest",
                "Procedure",
                "Observation",
                "Patient",
                "Medication",
                "Other",
            ]
        )
        | json_values  # a type that is no name at all (an object stopped the plan)
    },
    optional={
        "id": json_values,
        "code": json_values | st.just(mapped("conditions", kind="fracture", sites=None)),
        "clinicalStatus": json_values,
        "verificationStatus": json_values,
        "status": json_values,
        "bodySite": json_values,
        "onsetDateTime": json_values | st.just("2026-01-01"),
        "performedPeriod": json_values,
        "valueQuantity": json_values,
        "medicationCodeableConcept": json_values,
        "medicationReference": json_values,
        "name": json_values,
        "contained": json_values,
        # a DXA panel's readings, and what says a resource is there in part
        "component": json_values
        | st.just([{"code": mapped("observations", t_score=True), "valueQuantity": {"value": -2.7}}]),
        "meta": json_values | st.sampled_from([{"security": [{"code": "REDACTED"}]}, {"tag": [{"code": "SUBSETTED"}]}]),
    },
)


@FUZZ
@given(st.lists(st.one_of(resource.map(lambda r: {"resource": r}), json_values), max_size=6), json_values)
def test_fhir_import_on_arbitrary_bundles(entries: list[object], timestamp: object) -> None:
    bundle = {"resourceType": "Bundle", "entry": entries, "timestamp": timestamp}
    try:  # several patients, a shape of another FHIR version, a resource in part: a clear refusal, never a crash
        imported = fhir.derive(bundle, CODES, KB)
    except ProfileError as exc:
        said = exc.messages[0] if exc.messages else ""
        assert "patients" in said or "not a FHIR R4 record" in said or "so not the whole record" in said, said
        return
    try:
        build(imported.data, KB, usage=False, origin="bundle")
    except ProfileError as exc:
        assert exc.messages


@FUZZ
@given(st.binary(max_size=300))
def test_fhir_reader_on_arbitrary_bytes(data: bytes) -> None:
    with scratch() as folder:
        path = folder / "b.json"
        path.write_bytes(data)
        try:
            fhir.read_bundle(path)
        except ProfileError as exc:
            assert exc.messages


@FUZZ
@given(
    st.lists(st.one_of(st.text(max_size=60), json_values.map(json.dumps)), max_size=8),
    st.sampled_from(["jsonl", "csv"]),
)
def test_batch_reader_gives_one_line_per_row(lines: list[str], fmt: str) -> None:
    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    screener = batch.Screener(KB, output_format="jsonl")
    rows = list(
        batch.read_csv(text.splitlines(keepends=True), KINDS)
        if fmt == "csv"
        else batch.read_jsonl(text.splitlines(keepends=True))
    )
    for row in rows:
        result = screener.screen(row)
        assert result.line.endswith("\n") and json.loads(result.line)["row"] == row.number
    if fmt == "jsonl":
        assert len(rows) == sum(1 for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_fuzz_corpus_stays_fixed(tmp_path: Path, path: Path) -> None:
    data = path.read_bytes()
    load_knowledge_bytes(tmp_path, data)
    target = tmp_path / ("p.json" if path.suffix == ".json" else "p.yaml")
    target.write_bytes(data)
    with contextlib.suppress(OsteocheckError):
        build(profilefile.read(target), KB, usage=False)
    with contextlib.suppress(KnowledgeError):
        strictyaml.load(data, "corpus")
    if path.name.endswith(".fhir.json"):
        with contextlib.suppress(ProfileError):
            build(fhir.derive(fhir.read_bundle(path), CODES, KB).data, KB, usage=False)


@FUZZ
@given(
    st.lists(st.binary(max_size=80) | json_values.map(lambda v: json.dumps(v).encode()), max_size=8),
    st.sampled_from(["jsonl", "csv"]),
)
def test_batch_rows_from_arbitrary_bytes_never_stop_the_batch(chunks: list[bytes], fmt: str) -> None:
    # Any bytes at all: every row is screened or carries its error, and the reader reaches the end.
    source = LineSource(io.BytesIO(b"\n".join(chunks) + b"\n"), max_line=64, max_skip=1 << 20)
    reader = batch.read_csv(source, KINDS) if fmt == "csv" else batch.read_jsonl(source)
    screener = batch.Screener(KB, output_format="jsonl")
    numbers = []
    for row in reader:
        line = screener.screen(row).line
        assert line.endswith("\n") and line.count("\n") == 1
        numbers.append(json.loads(line)["row"])
    assert numbers == sorted(numbers)
    assert source.consumed == len(b"\n".join(chunks) + b"\n")


@FUZZ
@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_cache_entries_never_change_the_knowledge(data: bytes) -> None:
    digest = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    with scratch() as folder, pytest.MonkeyPatch.context() as patch:
        (folder / f"knowledge-{cache.FORMAT}-{cache.__version__}-{digest}.json").write_bytes(data)
        patch.setenv("OSTEOCHECK_CACHE_DIR", str(folder))
        loaded = knowledge.load(SHIPPED)
    assert loaded.rules == KB.rules and loaded.techniques == KB.techniques


@FUZZ
@given(
    st.lists(st.one_of(resource, json_values), max_size=8),
    st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))), max_size=3),
)
@example([{"resourceType": "Condition", "clinicalStatus": "active"}], [])  # STU3's plain status
def test_bulk_export_reader_on_arbitrary_lines(resources: list[object], junk: list[str]) -> None:
    """Any line of any file: a problem on its line, or a resource read; never a crash, one row per Patient."""
    import datetime as dt

    from osteocheck.batch.bulk import Bulk, find_export

    lines = []
    for r in resources:
        if isinstance(r, dict):
            r = {**r, "subject": {"reference": "Patient/p"}}
        lines.append(json.dumps(r))
    with scratch() as folder:
        (folder / "Patient.000.ndjson").write_text(
            json.dumps({"resourceType": "Patient", "id": "p"}) + "\n" + "\n".join(junk) + "\n", encoding="utf-8"
        )
        (folder / "Condition.000.ndjson").write_text("\n".join([*lines, *junk]) + "\n", encoding="utf-8")
        try:
            rows = list(Bulk(find_export(folder), CODES, KB, dt.date(2026, 1, 1)).rows())
        except ProfileError as exc:  # a resource of another FHIR version: the export is refused by name
            assert "not a FHIR R4 export" in exc.messages[0]
            return
    assert [row.id for row in rows][:1] == ["p"]
    for row in rows:
        try:
            build(row.data or {}, KB, usage=False, origin="export")
        except ProfileError as exc:
            assert exc.messages


REQUESTS = [json.loads((ROOT / "examples" / "cds-hooks" / f"{hook}.json").read_text()) for hook in
            ("patient-view", "appointment-book")]  # fmt: skip
ODD = [None, 0, -1, 1.5, True, "", "x", [], {}, [None], [{}], {"a": 1}, "2026-13-45", "9999-01-01", 10**30, "\u202e"]


def _places(value: object, at: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield at
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _places(inner, (*at, key))


@FUZZ
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.sampled_from([0, 1]))
def test_the_service_answers_any_mutated_request_without_a_fault(seed: int, edits: int, which: int) -> None:
    """A hook call's whole work (request, prefetch, record, plan, cards), on the shipped requests with values
    deleted or replaced anywhere: cards, a refusal or a fetch, never an exception (a 500). An object as a
    resource's type was one, found this way."""
    import copy
    import datetime as dt

    from osteocheck.service import hooks
    from osteocheck.service.app import answering

    rng, request = random.Random(seed), copy.deepcopy(REQUESTS[which])
    for _ in range(edits):
        *parent_at, last = rng.choice(list(_places(request))[1:])
        parent: Any = request
        for key in parent_at:
            parent = parent[key]
        if rng.random() < 0.3:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(rng.choice(ODD))
    work = answering(KB, tuple(hooks.prefetch_templates(CODES, dt.date.today())), lambda server: True)
    outcome = work(REQUESTS[which]["hook"], json.dumps(request).encode(), "http://x", "http://x/plans/t", None)
    assert outcome[0] in ("cards", "refused", "fetch")


outside_words = st.text(
    alphabet=st.sampled_from([*"ab: /\\[]", "\n", "\r", "\x1b", "\x85", "\u2028", "\u202e", "\x07"]), max_size=30
)


@FUZZ
@given(st.lists(outside_words, min_size=1, max_size=3), outside_words)
def test_what_batch_says_of_an_export_is_one_line_each(ids: list[str], said: str) -> None:
    """Patient ids and the export's own error text, whatever they hold, never print a line of their own or a
    control character: each problem batch names is one line of osteocheck's."""
    patients = [{"resourceType": "Patient", "id": i} for i in [*ids, ids[0]]]  # the first twice: a problem
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": said}]}
    with scratch() as folder:
        (folder / "Patient.000.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients), encoding="utf-8")
        (folder / "OperationOutcome.000.ndjson").write_text(json.dumps(outcome) + "\n", encoding="utf-8")
        result = CliRunner().invoke(app, ["batch", "--fhir-ndjson", str(folder), "--as-of", "2026-01-01"])
    lines = result.stderr.split("\n")
    assert lines.pop() == ""
    assert all(line.startswith("osteocheck: ") for line in lines[:-1]), lines
    assert " row(s) screened" in lines[-1]
    assert not any(c in result.stderr for c in "\r\x1b\x85\u2028\u202e\x07")
