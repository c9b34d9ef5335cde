"""The plan as JSON: the contract's `osteocheck.plan/1` object. Imports no Rich."""

from __future__ import annotations

import json
from typing import Any

from osteocheck import __version__
from osteocheck.engine.model import Basis, Knowledge, Plan, Profile, Reason, Recommended
from osteocheck.render.escape import json_text

SCHEMA_NAME = "osteocheck.plan/1"


def basis_dict(basis: Basis) -> dict[str, Any]:
    return {
        "source": basis.source.quote,
        "citation": basis.source.title,
        "basis": "inferred" if basis.inference else "source",
        "rationale": basis.inference,
    }


def reason_dict(reason: Reason) -> dict[str, Any]:
    b = basis_dict(reason.basis)
    return {
        "rule": reason.rule,
        "text": reason.text,
        "source": b["source"],
        "severity": reason.severity.value,
        "facts": list(reason.facts),
        "citation": b["citation"],
        "basis": b["basis"],
        "rationale": b["rationale"],
    }


def profile_dict(profile: Profile, knowledge: Knowledge) -> dict[str, Any]:
    """Every key of the profile, each declared fact included, in the knowledge file's order."""
    out: dict[str, Any] = {"stage": profile.stage, "t_score": profile.t_score}
    for fact in knowledge.facts:
        out[fact.id] = list(profile.sites_of(fact.id)) if fact.per_site else profile.has(fact.id)
    out["cleared"] = list(profile.cleared)
    out.update({key: value for key, value in (("name", profile.name), ("id", profile.id)) if value is not None})
    return out


def _recommended(items: tuple[Recommended, ...], *, name_key: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            name_key: r.text,
            "pressing": r.pressing,
            "avoid_sites": list(r.avoid_sites),
            "reasons": [reason_dict(x) for x in r.reasons],
        }
        for r in items
    ]


def plan_dict(plan: Plan, knowledge: Knowledge) -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME,
        "tool": {"name": "osteocheck", "version": __version__},
        "knowledge": {"id": knowledge.id, "version": knowledge.version, "sha256": knowledge.sha256},
        "profile": profile_dict(plan.profile, knowledge),
        "stage": plan.stage,
        "assumptions": list(plan.assumptions),
        "clearance_required": [
            {
                "rule": c.reason.rule,
                "reason": c.reason.text,
                "sites": list(c.sites),
                "source": c.reason.basis.source.quote,
                "severity": c.reason.severity.value,
                "facts": list(c.reason.facts),
            }
            for c in plan.clearance_required
        ],
        "max_pressure": {
            "level": plan.max_pressure,
            "label": plan.max_pressure_label,
            "reasons": [reason_dict(r) for r in plan.max_pressure_reasons],
        },
        "sites": [
            {
                "site": s.site,
                "max_pressure": s.max_pressure,
                "no_treatment": s.no_treatment,
                "reasons": [reason_dict(r) for r in s.reasons],
            }
            for s in plan.sites
        ],
        "proceed": plan.proceed.value,
        "postpone": [reason_dict(r) for r in plan.postponed],
        "techniques": [
            {
                "id": v.technique.id,
                "name": v.technique.name,
                "status": v.status.value,
                "pressure": v.technique.pressure,
                "avoid_sites": list(v.avoid_sites),
                "modifications": list(v.modifications),
                "reasons": [reason_dict(r) for r in v.reasons],
            }
            for v in plan.techniques
        ],
        "positions": [
            {
                "id": p.position.id,
                "name": p.position.name,
                "status": p.status.value,
                "reasons": [reason_dict(r) for r in p.reasons],
            }
            for p in plan.positions
        ],
        "positioning": _recommended(plan.positioning, name_key="name"),
        "assessment": _recommended(plan.assessment, name_key="text"),
        "self_care": _recommended(plan.self_care, name_key="text"),
        "self_care_withheld": _recommended(plan.withheld, name_key="text"),
        "cleared": [{"site": x.site, "rule": x.reason.rule, "text": x.reason.text} for x in plan.lifted],
        "record": None
        if plan.record is None
        else {
            "file": plan.record.file,
            "as_of": plan.record.as_of,
            "session": plan.record.session,  # the later session's day it was planned for, else null
            "used": list(plan.record.used),
            "set_aside": list(plan.record.set_aside),
            "not_recognised": list(plan.record.unrecognised),
            "notes": list(plan.record.notes),
        },
    }


def dumps(data: object) -> str:
    return json_text(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"


def catalogue_dict(knowledge: Knowledge) -> dict[str, Any]:
    return {
        "schema": "osteocheck.techniques/1",
        "knowledge": {"id": knowledge.id, "version": knowledge.version, "sha256": knowledge.sha256},
        "pressure_scale": [{"level": p.level, "label": p.label, "feel": p.feel} for p in knowledge.pressure_scale],
        "techniques": [
            {
                "id": t.id,
                "name": t.name,
                "category": t.category,
                "description": t.description,
                "pressure": t.pressure,
                **basis_dict(t.basis),
            }
            for t in knowledge.techniques
        ],
    }


_HEAD = ("schema", "tool", "knowledge", "profile", "proceed", "postpone", "stage", "assumptions")


def assessment_dict(plan: Plan, knowledge: Knowledge) -> dict[str, Any]:
    data = plan_dict(plan, knowledge)
    head = {k: data[k] for k in _HEAD} | {"schema": "osteocheck.assessment/1"}
    return head | {"assessment": data["assessment"], "record_notes": list(plan.record_notes)}


def excluded_dict(plan: Plan, knowledge: Knowledge) -> dict[str, Any]:
    """The plan's head, the excluded techniques with their reasons, and the sites not to treat."""
    data = plan_dict(plan, knowledge)
    return {k: data[k] for k in _HEAD} | {
        "techniques": [t for t in data["techniques"] if t["status"] == "excluded"],
        "untreatable_sites": [s["site"] for s in data["sites"] if s["no_treatment"]],
    }


def explain_dict(plan: Plan, knowledge: Knowledge, technique_id: str) -> dict[str, Any]:
    """The plan's head and sites, and one technique's verdict with its reasons."""
    data = plan_dict(plan, knowledge)
    chosen = next(t for t in data["techniques"] if t["id"] == technique_id)
    return {k: data[k] for k in _HEAD} | {"sites": data["sites"], "technique": chosen}
