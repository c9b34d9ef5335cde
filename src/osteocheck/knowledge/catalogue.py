"""The catalogue sections of a knowledge file: texts, pressure scale, sites, techniques, positioning, T-scores."""

from typing import Any, NamedTuple

from osteocheck.engine.model import BoneDensity, FactCode, FactDecl, Item, Positioning, PressureLevel, Site, Technique
from osteocheck.knowledge.citations import Citations
from osteocheck.knowledge.report import Reporter
from osteocheck.vocabulary import BOOL_FACTS, FLAGS, OTHER_KEYS, SITE_FACTS

REQUIRED_SITES = (
    "spine", "hips", "wrists", "ribs", "neck", "shoulders", "arms", "hands",
    "pelvis", "legs", "knees", "ankles", "feet", "abdomen", "head",
)  # fmt: skip
REQUIRED_TECHNIQUES = (
    "light_effleurage", "mild_kneading", "vibration", "myofascial_release", "reflexology",
    "lymphatic_drainage", "craniosacral_therapy", "deep_tissue_massage", "vigorous_compression",
    "joint_mobilization", "passive_stretching", "deep_kneading", "muscle_stripping", "friction",
    "forceful_stretching",
)  # fmt: skip
REQUIRED_POSITIONING = ("prone", "supine", "side_lying", "seated", "massage_chair")


class Section(NamedTuple):
    """What every section builder reads and where it reports."""

    data: dict[str, Any]
    report: Reporter
    cite: Citations

    def unique(self, section: str) -> list[tuple[int, dict[str, Any]]]:
        seen: set[str] = set()
        entries = []
        for i, entry in enumerate(self.data.get(section, [])):
            if entry["id"] in seen:
                self.report.error((section, i, "id"), f"duplicate id '{entry['id']}' in {section}")
            seen.add(entry["id"])
            entries.append((i, entry))
        return entries


def items(ctx: Section, section: str) -> tuple[Item, ...]:
    return tuple(
        Item(
            id=e["id"],
            text=e["text"],
            basis=ctx.cite.basis(e, (section, i)),
            advice=e.get("advice", ""),
            always=e.get("always", True),
            facts=tuple(e.get("facts", ())),
            sites=tuple(e.get("sites", ())),
            on_body=e.get("on_body", False),
        )
        for i, e in ctx.unique(section)
    )


def scale(ctx: Section) -> tuple[PressureLevel, ...]:
    out = []
    for i, e in enumerate(ctx.data.get("pressure_scale", [])):
        if e["level"] != i + 1:
            ctx.report.error(("pressure_scale", i, "level"), f"levels must run 1, 2, 3, ... in order; expected {i + 1}")
        out.append(PressureLevel(e["level"], e["label"], e["feel"], ctx.cite.basis(e, ("pressure_scale", i))))
    return tuple(out)


def sites(ctx: Section) -> tuple[Site, ...]:
    found = tuple(Site(e["id"], e["name"], e.get("at_risk", False)) for _, e in ctx.unique("sites"))
    ids = {s.id for s in found}
    missing = [s for s in REQUIRED_SITES if s not in ids]
    if missing and "sites" in ctx.data:
        ctx.report.error(("sites",), f"the site vocabulary lacks required sites: {', '.join(missing)}")
    return found


def techniques(ctx: Section, levels: set[int]) -> tuple[Technique, ...]:
    out = []
    for i, e in ctx.unique("techniques"):
        if levels and e["pressure"] not in levels:
            ctx.report.error(
                ("techniques", i, "pressure"), f"pressure {e['pressure']} is not a level of the pressure scale"
            )
        basis = ctx.cite.basis(e, ("techniques", i))
        out.append(Technique(e["id"], e["name"], e["category"], e["description"], e["pressure"], basis))
    ids = {t.id for t in out}
    missing = [t for t in REQUIRED_TECHNIQUES if t not in ids]
    if missing and "techniques" in ctx.data:
        ctx.report.error(("techniques",), f"the catalogue lacks required techniques: {', '.join(missing)}")
    return tuple(out)


def positioning(ctx: Section) -> tuple[Positioning, ...]:
    out = tuple(
        Positioning(e["id"], e["name"], e["fits"], ctx.cite.basis(e, ("positioning", i)))
        for i, e in ctx.unique("positioning")
    )
    missing = [p for p in REQUIRED_POSITIONING if p not in {o.id for o in out}]
    if missing and "positioning" in ctx.data:
        ctx.report.error(("positioning",), f"positioning lacks required options: {', '.join(missing)}")
    return out


def facts(ctx: Section) -> tuple[FactDecl, ...]:
    """The risk factors; the contract's own must be there, with their kind and flag."""
    out = []
    for i, e in ctx.unique("facts"):
        path = ("facts", i)
        per_site = e["kind"] == "per_site"
        if e["id"] in OTHER_KEYS:
            ctx.report.error((*path, "id"), f"'{e['id']}' is a profile key of its own, not a risk factor")
        contract = e["id"] in BOOL_FACTS or e["id"] in SITE_FACTS
        if contract and per_site != (e["id"] in SITE_FACTS):
            want = "per_site" if e["id"] in SITE_FACTS else "yes_no"
            ctx.report.error((*path, "kind"), f"the contract's '{e['id']}' is {want}")
        flag = e.get("flag", "")
        if contract and flag != FLAGS[e["id"]]:
            ctx.report.error(path, f"the contract spells '{e['id']}' as {FLAGS[e['id']]}; give flag: {FLAGS[e['id']]}")
        elif not contract and flag:
            ctx.report.error(
                (*path, "flag"), f"only the contract's facts have a flag of their own; this one is --fact {e['id']}"
            )
        codes = tuple(
            FactCode(c["section"], c["system"], c["code"], c["display"], c.get("prefix", False))
            for c in e.get("codes", ())
        )
        out.append(
            FactDecl(
                e["id"],
                per_site,
                flag or "--fact " + e["id"],
                e["meaning"],
                e["question"],
                e.get("help", ""),
                codes,
                e.get("label", ""),
            )
        )
    missing = [f for f in (*BOOL_FACTS, *SITE_FACTS) if f not in {o.id for o in out}]
    if missing and "facts" in ctx.data:
        ctx.report.error(("facts",), f"the contract's risk factors are missing: {', '.join(missing)}")
    return tuple(out)


def bone_density(ctx: Section) -> BoneDensity | None:
    e = ctx.data.get("bone_density")
    if e is None:
        return None
    normal, osteo = float(e["normal_at_or_above"]), float(e["osteoporosis_at_or_below"])
    if not osteo < normal:
        ctx.report.error(("bone_density",), "osteoporosis_at_or_below must be lower than normal_at_or_above")
    return BoneDensity(e["convention"], normal, osteo, ctx.cite.basis(e, ("bone_density",)))
