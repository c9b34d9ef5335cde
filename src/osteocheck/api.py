"""osteocheck from Python: the plan of a profile or a FHIR record, as `plan --format json` prints it.

    from osteocheck import api

    result = api.plan({"stage": "osteoporosis", "fresh_fractures": ["wrists"]})
    result["proceed"]  # 'after_clearance'

Every check the command line makes is made here: an invalid profile, record or
knowledge file raises `OsteocheckError` (its `messages` say what and where) and
returns no plan. The command line and the CDS Hooks service are clients of this
module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from osteocheck.errors import KnowledgeError, OsteocheckError, ProfileError

if TYPE_CHECKING:
    import datetime as dt

    from osteocheck.client.records.codes import CodeMap
    from osteocheck.client.sources import ClientSources
    from osteocheck.engine.model import Knowledge, Plan

__all__ = [
    "KnowledgeError",
    "OsteocheckError",
    "ProfileError",
    "code_map",
    "evaluate",
    "load_knowledge",
    "plan",
]

_loaded: dict[Path, Knowledge] = {}


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """The knowledge file at `path` (the shipped one by default), checked in full; loaded once per process."""
    from osteocheck.knowledge import loader  # noqa: PLC0415 - the loader pulls in YAML

    chosen = Path(path) if path is not None else loader.shipped_path()
    key = chosen.resolve()
    if key not in _loaded:
        _loaded[key] = loader.load(chosen)
    return _loaded[key]


def evaluate(
    profile: Mapping[str, object] | None = None,
    *,
    bundle: Mapping[str, Any] | None = None,
    knowledge: Knowledge | str | Path | None = None,
    patient: str | None = None,
    as_of: dt.date | str | None = None,
    record_name: str = "the record",
    session: dt.date | str | None = None,
) -> Plan:
    """The plan as a frozen value (for renderers); `plan` gives it as plain data."""
    from osteocheck.client.sources import combine, refuse_without_record  # noqa: PLC0415
    from osteocheck.engine.evaluate import evaluate as run  # noqa: PLC0415

    rules = _knowledge(knowledge)
    when, day = _day(as_of, "as_of"), _day(session, "session")
    if patient is not None and not isinstance(patient, str):
        raise ProfileError((f"patient must be a Patient's id (text), not {type(patient).__name__}",), usage=False)
    if profile is not None and not isinstance(profile, Mapping):
        raise ProfileError(
            (f"the profile must be a mapping of fact to value, not {type(profile).__name__}",), usage=False
        )
    if bundle is not None:
        from osteocheck.client.records.bundle import checked  # noqa: PLC0415

        bundle = checked(dict(bundle) if isinstance(bundle, Mapping) else bundle, record_name)
    else:
        given = (("patient", patient), ("as_of", as_of), ("session", session))
        refuse_without_record(given, "a bundle", "bundle=...", usage=False)
    raw = dict(profile) if profile is not None else None
    codes = code_map() if bundle is not None else None
    found, record = combine(
        rules,
        raw,
        "the profile",
        {},
        bundle,
        record_name,
        patient=patient,
        as_of=when,
        codes=codes,
        session=day,
        choose=("patient", "patient=ID"),
    )
    return run(found, rules)._replace(record=record)


def plan(
    profile: Mapping[str, object] | None = None,
    *,
    bundle: Mapping[str, Any] | None = None,
    knowledge: Knowledge | str | Path | None = None,
    patient: str | None = None,
    as_of: dt.date | str | None = None,
    form: Literal["json", "fhir"] = "json",
    session: dt.date | str | None = None,
) -> dict[str, Any]:
    """The plan for a profile (the keys of a profile file), a FHIR R4 Bundle, or both, as plain data.

    `knowledge` is a loaded knowledge (`load_knowledge`) or a path; by default the shipped file.
    `patient` chooses the Patient of a bundle holding several; `as_of` the date to judge the record at;
    `session` the session's day, if later: a DXA T-score must still be current on it (an earlier one is refused).
    `form`: "json", the object `plan --format json` prints; "fhir", the plan as a FHIR R4 Bundle (a
    CarePlan for the session and a DetectedIssue per contraindication), as `--format fhir` prints.
    """
    if form not in ("json", "fhir"):
        raise ValueError(f"form must be 'json' or 'fhir', not {form!r}")
    rules = _knowledge(knowledge)
    found = evaluate(profile, bundle=bundle, knowledge=rules, patient=patient, as_of=as_of, session=session)
    if form == "fhir":
        from osteocheck.render.fhirout import plan_bundle  # noqa: PLC0415

        return plan_bundle(found, rules)
    from osteocheck.render.jsonout import plan_dict  # noqa: PLC0415

    return plan_dict(found, rules)


def evaluate_sources(sources: ClientSources, knowledge: Knowledge) -> Plan:
    """The plan for the command line's sources (files, then flags)."""
    from osteocheck.client.sources import gather  # noqa: PLC0415
    from osteocheck.engine.evaluate import evaluate as run  # noqa: PLC0415

    profile, record = gather(sources, knowledge)
    return run(profile, knowledge)._replace(record=record)


@functools.cache
def code_map() -> CodeMap:
    """The shipped code map, read once per process (a service reads many records with it)."""
    from osteocheck.client.records.codes import load_code_map  # noqa: PLC0415

    return load_code_map()


def _knowledge(value: Knowledge | str | Path | None) -> Knowledge:
    if value is None or isinstance(value, str | Path):
        return load_knowledge(value)
    if not isinstance(value, _knowledge_type()):
        raise TypeError(f"knowledge must be what load_knowledge returns, or a path, not {type(value).__name__}")
    return value


@functools.cache
def _knowledge_type() -> type[Knowledge]:
    """The class, imported once: the service checks every call's, and an import statement costs more than that."""
    from osteocheck.engine.model import Knowledge  # noqa: PLC0415 - the engine is loaded with the first plan

    return Knowledge


def _day(value: object, name: str) -> dt.date | None:
    """A day given to the API: a date (a datetime's own day), or its text YYYY-MM-DD."""
    if value is None:  # as nearly every call gives it: no imports
        return None
    import datetime as dt  # noqa: PLC0415 - only records need dates

    from osteocheck.client.sources import as_of_date  # noqa: PLC0415

    if isinstance(value, str):
        return as_of_date(value, name)
    if isinstance(value, dt.datetime):  # a datetime is a date to Python, and compares with none
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ProfileError((f"{name} must be a date, or its text YYYY-MM-DD, not {type(value).__name__}",), usage=False)
