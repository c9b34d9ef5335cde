"""The plan as a FHIR R4 Bundle an EHR can store: a DetectedIssue per contraindication, a CarePlan for the session.

Only base R4 elements, no extensions and no invented code systems: what a rule says goes in text,
and the rule id and its source sentence in `detail`, so the record reads on its own. Identifiers are
name-based UUIDs of the knowledge, the profile and the issue, so the same plan gives the same Bundle.
When the plan came from a record, each issue's evidence points at the record's resources that gave
the facts it rests on.
"""

from __future__ import annotations

import uuid
from typing import Any

from osteocheck.engine.model import Knowledge, Plan, PositionStatus, Proceed, Reason, Severity, Status
from osteocheck.engine.stage import RESTS_ON
from osteocheck.render.apart import tell_apart
from osteocheck.render.glance import fact_words

# DetectedIssue.severity (R4 value set detectedissue-severity: high | moderate | low)
_SEVERITY = {Severity.CRITICAL: "high", Severity.WARNING: "moderate", Severity.INFO: "low"}
# CarePlan.status (R4 value set request-status): the session waits while clearance or postponement stands
_STATUS = {Proceed.YES: "active", Proceed.AFTER_CLEARANCE: "on-hold", Proceed.POSTPONE: "on-hold"}
_PROCEED = {
    Proceed.YES: "Proceed with the session as planned.",
    Proceed.AFTER_CLEARANCE: "Proceed only after the physician has cleared what is listed.",
    Proceed.POSTPONE: "Postpone the session.",
}


class _Ids:
    def __init__(self, plan: Plan, knowledge: Knowledge) -> None:
        self.base = uuid.uuid5(uuid.NAMESPACE_URL, f"osteocheck:{knowledge.sha256}:{plan.profile!r}")

    def __call__(self, key: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self.base, key)}"


def plan_bundle(plan: Plan, knowledge: Knowledge) -> dict[str, Any]:
    ids = _Ids(plan, knowledge)
    subject = _subject(plan)
    issues: list[tuple[str, dict[str, Any], Reason]] = []  # fullUrl, the DetectedIssue, its rule

    def issue(key: str, code: str, reason: Reason, mitigation: str = "") -> None:
        resource: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "preliminary",  # for the therapist to judge, as every plan says
            "code": {"text": code},
            "severity": _SEVERITY[reason.severity],
            "detail": _detail(reason),
        }
        if "reference" in subject:
            resource["patient"] = subject
        evidence = _evidence(reason, plan, knowledge)
        if evidence:
            resource["evidence"] = evidence
        if mitigation:
            resource["mitigation"] = [{"action": {"text": mitigation}}]
        issues.append((ids(key), resource, reason))

    for n, reason in enumerate(plan.postponed):
        issue(f"postpone:{reason.rule}:{n}", "Postpone the session", reason)
    for c in plan.clearance_required:
        where = ", ".join(c.sites) or "treatment as a whole"
        issue(
            f"clearance:{c.reason.rule}:{where}",
            f"Physician clearance required: {where}",
            c.reason,
            f"Obtain the physician's clearance for {where} before treating.",
        )
    for s in plan.sites:
        if s.no_treatment:
            for reason in s.governing:  # the rules that say not to treat it, not the caps it overrules
                issue(f"site:{s.site}:{reason.rule}", f"Do not treat: {s.site}", reason, f"Do not treat the {s.site}.")
    for v in plan.techniques:
        if v.status is Status.SAFE:
            continue
        verb = "Do not use" if v.status is Status.EXCLUDED else "Modify"
        for reason in v.reasons:
            # what this issue's rule asks, not every rule's modification of the technique
            how = " ".join(v.asked_by(reason)) or f"Do not use {v.technique.name}."
            issue(f"technique:{v.technique.id}:{reason.rule}", f"{verb}: {v.technique.name}", reason, how)
    for p in plan.positions:
        if p.status is PositionStatus.AVOID:
            for reason in p.reasons:
                issue(f"position:{p.position.id}:{reason.rule}", f"Avoid position: {p.position.name}", reason)

    # an EHR lists issues by code: two rules that modify one technique differently each say their own
    codes = tell_apart([resource["code"]["text"] for _, resource, _ in issues], [rule for _, _, rule in issues])
    for (_, resource, _), text in zip(issues, codes, strict=True):
        resource["code"]["text"] = text
    care = _care_plan(plan, subject, [full for full, _, _ in issues])
    entries = [{"fullUrl": ids("careplan"), "resource": care}]
    entries += [{"fullUrl": full, "resource": resource} for full, resource, _ in issues]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _subject(plan: Plan) -> dict[str, str]:
    if plan.record is not None and plan.record.patient:
        return {"reference": plan.record.patient}
    return {"display": plan.profile.name or "the client"}


def _detail(reason: Reason) -> str:
    source = reason.basis.source
    text = f"{reason.text} (rule {reason.rule}; source: {source.title}: \u201c{source.quote}\u201d"
    if reason.basis.inference:
        text += f"; inferred: {reason.basis.inference}"
    return text + ")"


def _evidence(reason: Reason, plan: Plan, knowledge: Knowledge) -> list[dict[str, Any]]:
    cited = dict(plan.record.evidence) if plan.record is not None else {}
    found: list[dict[str, Any]] = []
    for fact in dict.fromkeys(reason.facts):
        item: dict[str, Any] = {"code": [{"text": fact_words(fact, knowledge)}]}
        fact_id = fact.partition(": ")[0]
        refs = list(dict.fromkeys(r for f in RESTS_ON.get(fact_id, (fact_id,)) for r in cited.get(f, ())))
        if refs:
            item["detail"] = [{"reference": ref} for ref in refs]
        found.append(item)
    return found


def _care_plan(plan: Plan, subject: dict[str, str], issues: list[str]) -> dict[str, Any]:
    activities: list[dict[str, Any]] = []

    def activity(code: str, description: str, *, do_not: bool = False) -> None:
        detail: dict[str, Any] = {"code": {"text": code}, "status": "not-started", "description": description}
        if do_not:
            detail["doNotPerform"] = True
        activities.append({"detail": detail})

    for v in plan.techniques:
        where = f" Not over: {', '.join(v.avoid_sites)}." if v.avoid_sites and v.status is not Status.EXCLUDED else ""
        if v.status is Status.EXCLUDED:
            activity(v.technique.name, "Excluded for this client.", do_not=True)
        elif v.status is Status.MODIFY:
            activity(v.technique.name, "Modify: " + " ".join(v.modifications) + where)
        else:
            activity(v.technique.name, "Safe as described." + where)
    for p in plan.positions:
        avoid = p.status is PositionStatus.AVOID
        activity(f"Position: {p.position.name}", p.status.value.capitalize() + ".", do_not=avoid)
    for step in plan.assessment:
        activity("Assessment", step.text)
    for point in plan.self_care:
        activity("Self-care", point.text)
    care: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": _STATUS[plan.proceed],
        "intent": "proposal",  # a tool's plan for the therapist to adopt, not an order
        "title": "Massage session plan (osteocheck)",
        "description": f"{_PROCEED[plan.proceed]} Stage: {plan.stage}.",
        "subject": subject,
        "activity": activities,
    }
    if plan.session is not None:  # planned for that day's session (R4 CarePlan.period: the time it covers)
        care["period"] = {"start": plan.session, "end": plan.session}
        care["description"] = f"The session of {plan.session}, as the record stands today: {care['description']}"
    if issues:
        care["supportingInfo"] = [{"reference": full} for full in issues]
    notes = [*plan.assumptions, *(f"Cleared by the physician: {x.site} ({x.reason.text})" for x in plan.lifted)]
    notes += [f"From the record: {note}" for note in plan.record_notes]
    if notes:
        care["note"] = [{"text": text} for text in notes]
    return care
