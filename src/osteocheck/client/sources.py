"""A client's profile from its sources, in order: a profile file, a FHIR bundle, then flags.

Each source is validated on its own first, so a problem names where it came
from (a file: exit 1; a flag: exit 2); then they are combined, and a value in
one that contradicts another is an error, never a silent override.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from osteocheck.engine.model import Knowledge, Profile, Record
from osteocheck.errors import ProfileError

if TYPE_CHECKING:
    import datetime as dt

    from osteocheck.client.records.codes import CodeMap


class ClientSources(NamedTuple):
    flags: dict[str, object]
    profile_file: Path | None = None
    fhir_file: Path | None = None
    patient: str | None = None  # which Patient of a record holding several
    as_of: str | None = None  # the date to judge the record at (YYYY-MM-DD)
    session: str | None = None  # the session's day (YYYY-MM-DD), not before the record's


def as_of_date(text: str | None, name: str = "--as-of") -> "dt.date | None":
    if text is None:
        return None
    import datetime as dt  # noqa: PLC0415 - only records need dates; the everyday plan does not

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ProfileError((f"{name} {text[:40]!r}: not a date; give it as YYYY-MM-DD",), usage=True) from None


def refuse_without_record(given: tuple[tuple[str, object], ...], record: str, how: str, *, usage: bool) -> None:
    """What is said of a record, given without one, would change nothing, and the one giving it would
    believe it had: refused by its `name` (a flag, or an argument of the API), never taken in silence."""
    for name, value in given:
        if value is not None:
            raise ProfileError((f"{name} applies to {record} only: give {how}, or leave {name} out",), usage=usage)


def gather(sources: ClientSources, knowledge: Knowledge) -> tuple[Profile, Record | None]:
    raw: dict[str, object] | None = None
    origin = "the profile"
    if sources.profile_file is not None:
        from osteocheck.client import files as profile_files  # noqa: PLC0415 - only when a file is given

        origin = str(sources.profile_file)
        raw = profile_files.read(sources.profile_file)
    bundle, where = None, ""
    if sources.fhir_file is None:
        given = (("--patient", sources.patient), ("--as-of", sources.as_of), ("--session", sources.session))
        refuse_without_record(given, "a --fhir record", "--fhir BUNDLE", usage=True)
    else:
        from osteocheck.client.records.bundle import read_bundle  # noqa: PLC0415 - only when a bundle is given

        bundle = read_bundle(sources.fhir_file)
        where = "standard input" if str(sources.fhir_file) == "-" else str(sources.fhir_file)
    return combine(
        knowledge,
        raw,
        origin,
        sources.flags,
        bundle,
        where,
        patient=sources.patient,
        as_of=as_of_date(sources.as_of),
        session=as_of_date(sources.session, "--session"),
        choose=("--patient", "--patient ID"),
    )


def combine(
    knowledge: Knowledge,
    raw: Mapping[str, object] | None,
    origin: str,
    flags: Mapping[str, object],
    bundle: Mapping[str, Any] | None = None,
    where: str = "",
    *,
    patient: str | None = None,
    as_of: "dt.date | None" = None,
    codes: "CodeMap | None" = None,
    session: "dt.date | None" = None,
    choose: tuple[str, str],
) -> tuple[Profile, Record | None]:
    """The profile from profile data (named `origin`), a FHIR Bundle already read (named `where`), then flags;
    `choose` names the choice of a bundle's patient as the caller takes it (`derive`)."""
    from osteocheck.client import profile as profile_module  # noqa: PLC0415 - keeps --help light

    merged: dict[str, object] = dict(raw or {})
    if raw is not None:
        profile_module.build(merged, knowledge, usage=False, origin=origin)
    record = None
    if bundle is not None:
        from osteocheck.client.records import derive as fhir  # noqa: PLC0415 - only when a bundle is given

        imported = fhir.derive(
            dict(bundle),
            codes or fhir.load_code_map(),
            knowledge,
            as_of,
            patient=patient,
            session=session,
            choose=choose,
        )
        profile_module.build(imported.data, knowledge, usage=False, origin=where)
        merged = profile_module.merge(merged, imported.data, origin=origin, usage=False, incoming=where)
        record = Record(
            where,
            imported.used,
            imported.set_aside,
            imported.unrecognised,
            imported.notes,
            imported.as_of,
            imported.evidence,
            imported.patient,
            imported.session,
        )
    merged = profile_module.merge(merged, dict(flags), origin=origin)
    return profile_module.build(merged, knowledge, usage=True), record
