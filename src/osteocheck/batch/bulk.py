"""A FHIR Bulk Data export ($export: a folder of `Type.NNN.ndjson` files) as one screening row per Patient.

Streaming: each file is read line by line, once. What is kept grows with the
number of patients (each one's facts and three counts), not with the size of
the export: a resource's account is folded into its patient's counts as soon
as it is read. Medications are kept by id, since requests refer to them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from osteocheck.batch.lines import LineSource
from osteocheck.batch.rows import Row
from osteocheck.client.records.bundle import errors_of, withheld
from osteocheck.client.records.codes import CodeMap
from osteocheck.client.records.derive import Findings, References, not_r4, read_resource
from osteocheck.client.records.references import patient_of
from osteocheck.engine.model import Knowledge
from osteocheck.errors import ProfileError
from osteocheck.parsing.strict_json import no_duplicates
from osteocheck.words import one_line, with_article

_FILE = re.compile(r"^([A-Z][A-Za-z]+)(\.\d+)?\.ndjson$")
# The resource types osteocheck reads, in the order it reads them (patients first, medications before requests).
_ORDER = ("Patient", "Medication")
MAX_NOTES = 5


class Export(NamedTuple):
    files: dict[str, list[Path]]  # resource type -> its files, in name order
    size: int


def find_export(folder: Path) -> Export:
    """The export's files by resource type; a folder without Patient files is not an export to screen."""
    if not folder.is_dir():
        raise ProfileError((f"{folder}: not a folder; --fhir-ndjson takes the folder an $export wrote",), usage=True)
    files: dict[str, list[Path]] = {}
    size = 0
    for path in sorted(folder.iterdir()):
        match = _FILE.match(path.name)
        if match and path.is_file():
            files.setdefault(match.group(1), []).append(path)
            size += path.stat().st_size
    if "Patient" not in files:
        names = ", ".join(sorted(files)) or "no Type.NNN.ndjson files"
        raise ProfileError(
            (f"{folder}: no Patient.*.ndjson file (found: {names}); a Bulk Data export to screen needs its patients",),
            usage=False,
        )
    return Export(files, size)


class _Patient:
    """One patient's findings, with the account of each resource folded into counts as it is read."""

    __slots__ = ("findings", "more_notes", "notes", "number", "set_aside", "unrecognised", "used")

    def __init__(self, findings: Findings, number: int) -> None:
        self.findings = findings
        self.number = number
        self.used = self.set_aside = self.unrecognised = self.more_notes = 0
        self.notes: list[str] = []

    def fold(self) -> None:
        f = self.findings
        self.used += len(f.used)
        self.set_aside += len(f.set_aside)
        self.unrecognised += len(f.unrecognised)
        for note in f.notes:
            if len(self.notes) < MAX_NOTES:
                self.notes.append(note)
            else:
                self.more_notes += 1
        f.used.clear()
        f.set_aside.clear()
        f.unrecognised.clear()
        f.notes.clear()
        if len(f.t_scores) > 1:  # only the lowest is ever used
            f.t_scores[:] = [min(f.t_scores)]


class Bulk:
    """Reads an export and yields one Row per Patient, in the order of the Patient files."""

    def __init__(self, export: Export, codes: CodeMap, knowledge: Knowledge, today: dt.date) -> None:
        self.export = export
        self.codes = codes.with_facts(knowledge)
        self.knowledge = knowledge
        self.today = today
        self.problems: list[str] = []
        self.damaged = 0  # problems that may have lost a resource: an unread line, an error the export reports
        self.orphans = 0
        self.read = 0  # bytes, for the progress bar

    def rows(self) -> Iterator[Row]:
        patients: dict[str, _Patient] = {}
        for r in self._resources("Patient"):
            pid = str(r.get("id"))
            if pid in patients:
                self.problems.append(f"Patient/{pid} appears twice in the export; the first is screened")
                continue
            state = _Patient(Findings(self.codes, self.knowledge, self.today), len(patients) + 1)
            read_resource(state.findings, r, References([]))
            state.fold()
            patients[pid] = state
        medications = References([{"resource": m} for m in self._resources("Medication")])
        for kind in sorted(self.export.files):
            if kind in _ORDER:
                continue
            if kind == "OperationOutcome":  # the export's own errors (Bulk Data: the manifest's `error` files)
                self._errors()
                continue
            for r in self._resources(kind):
                owner = patients.get(patient_of(r) or "")
                if owner is None:
                    self.orphans += 1
                    continue
                read_resource(owner.findings, r, medications)
                owner.fold()
        for pid, state in patients.items():
            imported = state.findings.imported()
            data = dict(imported.data)
            data["id"] = pid
            notes = [*state.notes, *([f"... and {state.more_notes} more note(s)"] if state.more_notes else [])]
            if self.damaged:  # which patient's resource was lost cannot be known: every record may lack one
                notes.insert(0, f"the export is not whole ({self.damaged} problem(s), said when it was screened): "
                                "this record may lack a resource; check it before treating")  # fmt: skip
            state.used += len(imported.used)
            record = {"used": state.used, "set_aside": state.set_aside, "not_recognised": state.unrecognised}
            yield Row(state.number, pid, data, record=record | {"notes": notes})

    def _errors(self) -> None:
        """The export's OperationOutcomes: one of severity error or fatal says something was not exported."""
        for r in self._resources("OperationOutcome"):
            failed = errors_of(r)
            if failed:
                said = failed[0].get("diagnostics") or failed[0].get("code") or "no detail"
                self.problems.append(f"the export reports an error: {one_line(str(said))[:160]}")
                self.damaged += 1

    def _resources(self, kind: str) -> Iterator[dict[str, Any]]:
        for path in self.export.files.get(kind, []):
            base = self.read
            with path.open("rb") as handle:
                source = LineSource(handle)
                for number, line in enumerate(source, start=1):
                    self.read = base + source.consumed
                    for problem in source.take_problems():
                        self.problems.append(f"{path.name}:{number}: {problem}")
                        self.damaged += 1
                    if not line.strip():
                        continue
                    try:
                        r = json.loads(line, object_pairs_hook=no_duplicates)
                    except (ValueError, RecursionError) as exc:
                        self.problems.append(f"{path.name}:{number}: not a JSON resource: {str(exc)[:120]}")
                        self.damaged += 1
                        continue
                    if isinstance(r, dict) and r.get("resourceType") == kind:
                        why = not_r4(kind, r)
                        if why is not None:  # read as R4, its blood thinners or operations would go unread
                            raise ProfileError(
                                (f"{path.name}:{number}: not a FHIR R4 export ({why}); osteocheck reads R4 only",),
                                usage=False,
                            )
                        said = withheld(kind, r)
                        if said is not None:  # read, and the export not whole
                            self.problems.append(f"{path.name}:{number}: {with_article(kind)} {said}")
                            self.damaged += 1
                        yield r
                    else:
                        self.problems.append(f"{path.name}:{number}: not a {kind} resource")
                        self.damaged += 1
