"""Batch screening: many profiles in (JSONL or CSV), one screening record out per row.

Evaluation is pure and deterministic, so rows with the same profile share one
evaluation (and one rendered record), up to a bounded number remembered at once. A bad row carries its error; it never stops
the others, and every row gets exactly one output line.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from osteocheck.batch.lines import LineSource
from osteocheck.client.profile import build
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Plan, PositionStatus, Status
from osteocheck.errors import ProfileError
from osteocheck.parsing.strict_json import no_duplicates
from osteocheck.render.escape import json_text

CSV_COLUMNS = (
    "id", "row", "stage", "proceed", "clearance_required", "clearance_sites", "max_pressure", "untreatable_sites",
    "site_caps", "excluded_techniques", "modified_techniques", "error",
)  # fmt: skip
_TRUE = {"true", "yes", "y", "1"}
MEMO_LIMIT = 4096  # remembered evaluations: repeated profiles are fast, memory stays flat
MEMO_CHARS = 8_000_000  # and their rendered text (a --full plan is ~50 KB)
_FALSE = {"false", "no", "n", "0"}


class Row(NamedTuple):
    number: int
    id: object
    data: dict[str, object] | None
    error: str | None = None
    record: dict[str, object] | None = None  # from a clinical record: what it held, in counts


class Result(NamedTuple):
    line: str
    failed: bool
    clearance: bool
    error: str | None


def read_jsonl(lines: Iterable[str]) -> Iterator[Row]:
    """One row per non-blank line; a line that is not a JSON object becomes an error row."""
    for number, line in enumerate(lines, start=1):
        problems = _problems(lines)
        if problems:
            yield Row(number, None, None, "; ".join(problems))
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line, object_pairs_hook=no_duplicates)
        except ValueError as exc:
            yield Row(number, None, None, f"not a valid JSON object: {exc}")
            continue
        except RecursionError:
            yield Row(number, None, None, "not a profile: JSON nested too deeply")
            continue
        if not isinstance(data, dict):
            yield Row(number, None, None, "a row must be a JSON object of profile keys")
            continue
        yield Row(number, data.get("id"), data)


def _problems(lines: Iterable[str]) -> list[str]:
    return lines.take_problems() if isinstance(lines, LineSource) else []


def _cell(key: str, value: str, kinds: dict[str, bool]) -> object:
    value = value.strip()
    if kinds.get(key) is False:
        low = value.lower()
        return True if low in _TRUE else False if low in _FALSE else value
    if kinds.get(key) or key == "cleared":
        return [s.strip() for s in value.split(";") if s.strip()]
    if key == "t_score":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def read_csv(lines: Iterable[str], kinds: dict[str, bool]) -> Iterator[Row]:
    """A header of profile keys, then one client per row; lists are `;`-separated sites.

    `kinds`: each declared fact, True when it is per site.
    """
    reader = csv.reader(lines)
    header: list[str] | None = None
    duplicates: list[str] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over the size limit, a stray quote: this row only
            _problems(lines)
            yield Row(reader.line_num, None, None, f"not a valid CSV row: {exc}")
            continue
        number = reader.line_num
        problems = _problems(lines)
        if problems:
            yield Row(number, None, None, "; ".join(problems))
            continue
        if header is None:
            header = [h.strip() for h in row]
            counts = Counter(header)  # linear, whatever the width of the header
            duplicates = sorted(h for h, n in counts.items() if n > 1)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if duplicates:
            yield Row(number, None, None, f"the header repeats column(s): {', '.join(duplicates)}")
            continue
        if len(row) != len(header):
            yield Row(number, None, None, f"row has {len(row)} cells; the header has {len(header)}")
            continue
        data = {k: _cell(k, v, kinds) for k, v in zip(header, row, strict=True) if v.strip()}
        yield Row(number, data.get("id"), data)


def _key(data: dict[str, object]) -> tuple[object, ...]:
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k not in ("id", "name"))
    )


def compact(plan: Plan) -> dict[str, object]:
    """The contract's compact screening record (without id)."""
    return {
        "stage": plan.stage,
        "proceed": plan.proceed.value,
        "clearance_required": _clearance_sites(plan),
        "max_pressure": plan.max_pressure,
        "sites": {s.site: s.max_pressure for s in plan.sites},
        "techniques": {v.technique.id: v.status.value for v in plan.techniques},
        "avoid_positions": [p.position.id for p in plan.positions if p.status is PositionStatus.AVOID],
        "error": None,
    }


def _clearance_sites(plan: Plan) -> list[str]:
    """Every site that needs clearance, once, in the plan's (vocabulary) order."""
    order = [s.site for s in plan.sites]
    needed = {s for c in plan.clearance_required for s in c.sites}
    return sorted(needed, key=lambda site: order.index(site) if site in order else len(order))


class Screener:
    """Turns rows into output lines, evaluating each distinct profile once."""

    def __init__(self, knowledge: Knowledge, *, output_format: str = "jsonl", full: bool = False) -> None:
        self.knowledge = knowledge
        self.output_format = output_format
        self.full = full
        self._memo: dict[tuple[object, ...], tuple[str, bool] | ProfileError] = {}
        self._memo_chars = 0

    def header(self) -> str:
        return _csv_line(CSV_COLUMNS) if self.output_format == "csv" else ""

    def screen(self, row: Row) -> Result:
        if row.data is None:
            return self._error(row, row.error or "invalid row")
        try:
            key = _key(row.data)
            cached = self._memo.get(key)
        except TypeError:  # an unhashable value (a nested object): let validation name it
            key, cached = None, None
        if cached is None:
            cached = self._evaluate(row.data)
            if key is not None:
                size = len(cached[0]) if isinstance(cached, tuple) else 100
                if len(self._memo) >= MEMO_LIMIT or self._memo_chars + size > MEMO_CHARS:
                    self._memo.clear()  # distinct rosters would grow it without end
                    self._memo_chars = 0
                self._memo[key] = cached
                self._memo_chars += size
        if isinstance(cached, ProfileError):
            return self._error(row, "; ".join(cached.messages))
        body, clearance = cached
        ident = (
            json_text(json.dumps(row.id, ensure_ascii=False)) if self.output_format == "jsonl" else _csv_cell(row.id)
        )
        if self.output_format == "csv":
            return Result(f"{ident},{row.number},{body}", False, clearance, None)
        if row.record is not None:
            body += ", " + json_text(json.dumps({"record": row.record}, ensure_ascii=False))[1:-1]
        return Result(f'{{"id": {ident}, "row": {row.number}, {body}}}\n', False, clearance, None)

    def _evaluate(self, data: dict[str, object]) -> tuple[str, bool] | ProfileError:
        try:
            plan = evaluate(build(data, self.knowledge, usage=False), self.knowledge)
        except ProfileError as exc:
            return exc
        clearance = bool(plan.clearance_required)
        if self.output_format == "csv":
            return _csv_body(plan), clearance
        if self.full:
            from osteocheck.render.jsonout import plan_dict  # noqa: PLC0415

            record = plan_dict(plan, self.knowledge)
            record["error"] = None
        else:
            record = compact(plan)
        return json_text(json.dumps(record, ensure_ascii=False))[1:-1], clearance

    def _error(self, row: Row, message: str) -> Result:
        if self.output_format == "csv":
            cells = [_safe(row.id), str(row.number), *[""] * (len(CSV_COLUMNS) - 3), _safe(message)]
            return Result(_csv_line(cells), True, False, message)
        record = {"id": row.id, "row": row.number, "error": message}
        return Result(json_text(json.dumps(record, ensure_ascii=False)) + "\n", True, False, message)


def _csv_body(plan: Plan) -> str:
    sites = _clearance_sites(plan)
    cells = [
        plan.stage,
        plan.proceed.value,
        "yes" if plan.clearance_required else "no",
        ";".join(sites),
        str(plan.max_pressure),
        ";".join(s.site for s in plan.sites if s.no_treatment),
        ";".join(f"{s.site}:{s.max_pressure}" for s in plan.sites),
        ";".join(v.technique.id for v in plan.techniques if v.status is Status.EXCLUDED),
        ";".join(v.technique.id for v in plan.techniques if v.status is Status.MODIFY),
        "",
    ]
    return _csv_line(cells)


def _safe(value: object) -> str:
    """Text for a spreadsheet cell: a leading = + - @ would make it a formula, so it is quoted."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_cell(value: object) -> str:
    return _csv_line([_safe(value)]).rstrip("\n")


def _csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(cells))
    return buffer.getvalue()
