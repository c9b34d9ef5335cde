"""Checked plain data -> frozen Knowledge, collecting every semantic problem on the way."""

from pathlib import Path
from typing import Any, NamedTuple

from osteocheck.engine.model import Knowledge
from osteocheck.errors import Problem
from osteocheck.knowledge import catalogue, rules
from osteocheck.knowledge.catalogue import Section
from osteocheck.knowledge.citations import Citations
from osteocheck.knowledge.layers import Owner
from osteocheck.knowledge.report import Reporter
from osteocheck.parsing.located import Document
from osteocheck.words import one_line

# What a file without `extends` must hold.
FULL_SECTIONS = (
    "sources", "summary", "signs", "facts", "pressure_scale", "bone_density", "sites",
    "techniques", "positioning", "assessment", "self_care", "rules",
)  # fmt: skip


class Built(NamedTuple):
    knowledge: Knowledge | None  # None when any problem is an error
    problems: tuple[Problem, ...]


def build(data: dict[str, Any], doc: Document, owner: Owner, *, path: Path, sha256: str) -> Built:
    data = _one_line(data)  # every text a view shows is one line, so no knowledge text can print a line of its own
    report = Reporter(doc, owner)
    if "extends" not in doc.data:  # type: ignore[operator]
        for section in FULL_SECTIONS:
            if section not in data:
                report.error((), f"missing section '{section}' (a file without 'extends' must be complete)")
    cite = Citations(data, report)
    ctx = Section(data, report, cite)
    summary, goals, signs = (
        catalogue.items(ctx, "summary"),
        catalogue.items(ctx, "goals"),
        catalogue.items(ctx, "signs"),
    )
    assessment, self_care = catalogue.items(ctx, "assessment"), catalogue.items(ctx, "self_care")
    scale = catalogue.scale(ctx)
    levels = {p.level for p in scale}
    sites = catalogue.sites(ctx)
    techniques = catalogue.techniques(ctx, levels)
    positioning = catalogue.positioning(ctx)
    bone = catalogue.bone_density(ctx)
    declared = catalogue.facts(ctx)
    refs = {
        "fact": {f.id for f in declared},
        "per-site fact": {f.id for f in declared if f.per_site},
        "technique": {t.id for t in techniques},
        "site": {s.id for s in sites},
        "positioning": {p.id for p in positioning},
        "assessment": {a.id for a in assessment},
        "self_care": {s.id for s in self_care},
    }
    rules.item_refs(ctx, refs)
    if "at_risk_source" in data:
        cite.basis({"source": data["at_risk_source"]}, ("at_risk_source",))
    built_rules = tuple(rules.rule(ctx, i, r, refs, levels) for i, r in enumerate(data.get("rules", [])))
    rules.coverage(ctx, built_rules)
    cite.unused(data)
    problems = (*report.problems, *cite.check_quotes())
    if any(p.is_error for p in problems) or bone is None:
        return Built(None, problems)
    knowledge = Knowledge(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        sha256=sha256,
        path=str(path),
        summary=summary,
        goals=goals,
        signs=signs,
        pressure_scale=scale,
        bone_density=bone,
        sites=sites,
        techniques=techniques,
        positioning=positioning,
        assessment=assessment,
        self_care=self_care,
        rules=built_rules,
        facts=declared,
    )
    return Built(knowledge, problems)


def _one_line(value: Any) -> Any:
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, dict):
        return {k: _one_line(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_one_line(v) for v in value]
    return value
