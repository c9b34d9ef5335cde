"""Batch screening: many profiles in (JSONL or CSV), one screening record out per row.

The compact record comes from the compiled rule base (engine.compiled), which remembers nothing per
profile: a roster of distinct clients runs as fast as a repeating one, in flat memory. `--full`
evaluates each row's whole plan. A bad row carries its error; it never stops the others, and every
row gets exactly one output line.
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
from osteocheck.engine.compiled import Compact, CompiledRules
from osteocheck.engine.evaluate import evaluate
from osteocheck.engine.model import Knowledge, Plan, PositionStatus
from osteocheck.errors import ProfileError
from osteocheck.parsing.strict_json import DECODER
from osteocheck.render.escape import json_text

CSV_COLUMNS = (
    "id", "row", "stage", "proceed", "clearance_required", "clearance_sites", "max_pressure", "untreatable_sites",
    "site_caps", "excluded_techniques", "modified_techniques", "error",
)  # fmt: skip
_TRUE = {"true", "yes", "y", "1"}
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
        row = jsonl_row(number, line, _problems(lines))
        if row is not None:
            yield row


def jsonl_row(number: int, line: str, problems: list[str]) -> Row | None:
    """One JSONL line as a row (None for a blank line); `problems` are what reading the line found."""
    if problems:
        return Row(number, None, None, "; ".join(problems))
    if not line.strip():
        return None
    try:
        data = DECODER.decode(line)
    except ValueError as exc:
        return Row(number, None, None, f"not a valid JSON object: {exc}")
    except RecursionError:
        return Row(number, None, None, "not a profile: JSON nested too deeply")
    if not isinstance(data, dict):
        return Row(number, None, None, "a row must be a JSON object of profile keys")
    return Row(number, data.get("id"), data)


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


def compact(plan: Plan, knowledge: Knowledge) -> dict[str, object]:
    """The contract's compact screening record (without id), from a whole plan."""
    return {
        "stage": plan.stage,
        "proceed": plan.proceed.value,
        "clearance_required": _clearance_sites(plan, knowledge),
        "max_pressure": plan.max_pressure,
        "sites": {s.site: s.max_pressure for s in plan.sites},
        "techniques": {v.technique.id: v.status.value for v in plan.techniques},
        "avoid_positions": [p.position.id for p in plan.positions if p.status is PositionStatus.AVOID],
        "error": None,
    }


def _clearance_sites(plan: Plan, knowledge: Knowledge) -> list[str]:
    """Every site that needs clearance, once, in vocabulary order."""
    needed = {s for c in plan.clearance_required for s in c.sites}
    return [s for s in knowledge.site_ids if s in needed]


def compact_of(c: Compact) -> dict[str, object]:
    """The same record from the compiled rule base."""
    return {
        "stage": c.stage,
        "proceed": c.proceed,
        "clearance_required": list(c.clearance_sites),
        "max_pressure": c.max_pressure,
        "sites": dict(c.sites),
        "techniques": dict(c.techniques),
        "avoid_positions": list(c.avoid_positions),
        "error": None,
    }


class Screener:
    """Turns rows into output lines."""

    def __init__(self, knowledge: Knowledge, *, output_format: str = "jsonl", full: bool = False) -> None:
        self.knowledge = knowledge
        self.output_format = output_format
        self.full = full
        self._compiled = CompiledRules(knowledge)
        # Rendered text of the whole-body parts, which a roster shares (a few hundred): bounded anyway.
        self._techniques: dict[tuple[tuple[str, str], ...], str] = {}

    def header(self) -> str:
        return _csv_line(CSV_COLUMNS) if self.output_format == "csv" else ""

    def screen(self, row: Row) -> Result:
        if row.data is None:
            return self._error(row, row.error or "invalid row")
        try:
            profile = build(row.data, self.knowledge, usage=False)
        except ProfileError as exc:
            return self._error(row, "; ".join(exc.messages))
        if self.output_format == "csv":
            c = self._compiled.screen(profile)
            return Result(f"{_csv_cell(row.id)},{row.number},{_csv_body(c)}", False, c.clearance, None)
        if self.full:
            from osteocheck.render.jsonout import plan_dict  # noqa: PLC0415

            plan = evaluate(profile, self.knowledge)
            record = plan_dict(plan, self.knowledge)
            record["error"] = None
            body, clearance = json_text(json.dumps(record, ensure_ascii=False))[1:-1], bool(plan.clearance_required)
        else:
            c = self._compiled.screen(profile)
            body, clearance = self._body(c), c.clearance
        ident = _json_id(row.id)
        if row.record is not None:
            body += ", " + json_text(json.dumps({"record": row.record}, ensure_ascii=False))[1:-1]
        return Result(f'{{"id": {ident}, "row": {row.number}, {body}}}\n', False, clearance, None)

    def _body(self, c: Compact) -> str:
        """The compact record as json.dumps writes it (ids and sites are the knowledge's plain identifiers)."""
        techniques = self._techniques.get(c.techniques)
        if techniques is None:
            if len(self._techniques) >= 4096:
                self._techniques.clear()
            techniques = self._techniques[c.techniques] = json.dumps(dict(c.techniques))
        sites = ", ".join(f'"{s}": {n}' for s, n in c.sites)
        return (
            f'"stage": "{c.stage}", "proceed": "{c.proceed}", "clearance_required": {_names(c.clearance_sites)}, '
            f'"max_pressure": {c.max_pressure}, "sites": {{{sites}}}, "techniques": {techniques}, '
            f'"avoid_positions": {_names(c.avoid_positions)}, "error": null'
        )

    def _error(self, row: Row, message: str) -> Result:
        if self.output_format == "csv":
            cells = [_safe(row.id), str(row.number), *[""] * (len(CSV_COLUMNS) - 3), _safe(message)]
            return Result(_csv_line(cells), True, False, message)
        record = {"id": row.id, "row": row.number, "error": message}
        return Result(json_text(json.dumps(record, ensure_ascii=False)) + "\n", True, False, message)


def _json_id(value: object) -> str:
    """A row's id as JSON; a plain printable ASCII text id (the usual) needs only quotes and backslashes escaped."""
    if type(value) is str and value.isascii() and value.isprintable():
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return json_text(json.dumps(value, ensure_ascii=False))


def _names(ids: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in ids) + "]"


def _csv_body(c: Compact) -> str:
    cells = [
        c.stage,
        c.proceed,
        "yes" if c.clearance else "no",
        ";".join(c.clearance_sites),
        str(c.max_pressure),
        ";".join(s for s, n in c.sites if n == 0),
        ";".join(f"{s}:{n}" for s, n in c.sites),
        ";".join(t for t, status in c.techniques if status == "excluded"),
        ";".join(t for t, status in c.techniques if status == "modify"),
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
