"""Reading a FHIR Bundle file: bounded, UTF-8 JSON, and really a Bundle (`checked`, for a Bundle already parsed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from osteocheck.errors import ProfileError
from osteocheck.words import one_line

MAX_BYTES = 16 * 1024 * 1024


def read_bundle(path: Path) -> dict[str, Any]:
    """The Bundle at `path`; `-` reads standard input."""
    try:
        if str(path) == "-":
            import sys  # noqa: PLC0415

            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ProfileError((f"{path}: cannot read FHIR bundle: {exc.strerror}",), usage=False) from None
    if len(raw) > MAX_BYTES:
        raise ProfileError((f"{path}: FHIR bundle is larger than {MAX_BYTES:,} bytes",), usage=False)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ProfileError((f"{path}: not UTF-8 text, so not a FHIR JSON bundle",), usage=False) from None
    except json.JSONDecodeError as exc:
        raise ProfileError((f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",), usage=False) from None
    except RecursionError:
        raise ProfileError((f"{path}: JSON nested too deeply",), usage=False) from None
    return checked(data, str(path))


def checked(data: object, where: str) -> dict[str, Any]:
    """`data` if it is a Bundle with a list of entries (read from a file, or given by a caller of the API)."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise ProfileError((f"{where}: not a FHIR Bundle (resourceType is {found!r}, expected 'Bundle')",), usage=False)
    if not isinstance(data.get("entry", []), list):
        raise ProfileError((f"{where}: Bundle.entry must be a list",), usage=False)
    said = left_out("Bundle", data.get("meta"))
    if said is not None:
        raise ProfileError((f"{where}: the Bundle is {said}, so not the whole record; {ASK_WHOLE}",), usage=False)
    part = incomplete(data)
    if part is not None:
        whole = "put every page in one Bundle, or export the record"
        raise ProfileError(
            (f"{where}: the Bundle is {part}, so not the whole record; {whole}",),
            usage=False,
        )
    return data


# HL7 v3-ObservationValue's alteration labels that say part of a resource (or of a Bundle's results) is not
# there: SUBSETTED, which R4 search has a server tag what `_summary` or `_elements` leaves in part, REDACTED
# and MASKED (a consent's filter, say). Read under any system, as a tag or a security label.
_LEFT_OUT = {
    "SUBSETTED": "marked SUBSETTED (some of it left out: a summary, or some elements only)",
    "REDACTED": "labelled REDACTED (some of it withheld)",
    "MASKED": "labelled MASKED (some of it hidden)",
}
ASK_WHOLE = "ask for it whole, or plan from a profile of what the client and physician tell you"


def left_out(kind: str, meta: object) -> str | None:
    """What a resource's `meta` says is not there, in words, else None: what is missing (a site, a date, a
    status, a whole fracture) may be what the plan turns on. A Patient is the exception: of it only a
    name, an id and a death are read, none a restriction."""
    if not isinstance(meta, dict) or kind == "Patient":
        return None
    for field in ("tag", "security"):
        for label in _listed(meta.get(field)):
            code = label.get("code") if isinstance(label, dict) else None
            if isinstance(code, str) and code in _LEFT_OUT:
                return _LEFT_OUT[code]
    return None


def withheld(kind: str, r: dict[str, Any]) -> str | None:
    """`left_out` for a resource, else for one it contains (a drug's Medication, say), in words."""
    said = left_out(kind, r.get("meta"))
    if said is not None or kind == "Patient":
        return said
    for inner in _listed(r.get("contained")):
        inner_kind = inner.get("resourceType") if isinstance(inner, dict) else None
        said = left_out(str(inner_kind), inner.get("meta")) if inner_kind is not None else None
        if said is not None:
            return f"whose contained {one_line(str(inner_kind))[:40]} is {said}"
    return None


PAGED = "one page of a search, linking to the next"
LATER = "a later page of a search, linking to the one before"
FAILED = "a search that reported an error"


def incomplete(bundle: dict[str, Any]) -> str | None:
    """Why a Bundle holds only part of what its search found, else None: a plan made from it could miss
    a fracture or a drug. R4 search: a page links to the next ("next") and the one before ("previous"),
    `total` counts the matches of every page, and a search outcome (entry.search.mode "outcome") of
    severity error or fatal says the search did not run whole."""
    listed = _listed(bundle.get("entry"))
    search = searchset(bundle)
    held = sum(map(matched, listed)) if search else None
    return part_of(bundle, held, failed=search and any(map(failed_search, listed)))


def searchset(bundle: dict[str, Any]) -> bool:
    """R4: only a searchset's entries carry `search`, and only its `total` counts a search's matches (a
    Bundle with no type is taken for one)."""
    return bundle.get("type") in (None, "searchset")


def part_of(bundle: dict[str, Any], matches: int | None, *, failed: bool = False) -> str | None:
    """Why a search Bundle that holds `matches` of its search's matches (None: not a search's) holds
    only part of them: a page that links to another, fewer than its `total`, as a server that cuts
    a search short without paging sends, or else (`failed`) an outcome saying the search did not run
    whole. The caller counts the matches and finds the failed outcome, in its own pass over the entries."""
    links = bundle.get("link")
    if links:
        relations = [x.get("relation") for x in _listed(links) if isinstance(x, dict)]
        if "next" in relations:
            return PAGED
        if "previous" in relations or "prev" in relations:
            return LATER
    total = bundle.get("total")
    if matches is not None and type(total) is int and total > matches:
        return f"part of a search: it says the search found {total}, and holds {matches}"
    return FAILED if failed else None


def next_page(bundle: dict[str, Any]) -> str | None:
    """The URL of the page after this one (R4 Bundle.link, relation "next"; "" when it names none), None
    on a last or only page."""
    for link in _listed(bundle.get("link")):
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else ""
    return None


def matched(entry: object) -> bool:
    """An entry a search found (R4 Bundle.total counts these): not one it included or its outcome."""
    search = entry.get("search") if isinstance(entry, dict) else None
    return not (isinstance(search, dict) and search.get("mode") in ("include", "outcome"))


def failed_search(entry: object) -> bool:
    """A search result's entry that is the search's own outcome, reporting an error."""
    if not isinstance(entry, dict):
        return False
    search = entry.get("search")
    return isinstance(search, dict) and search.get("mode") == "outcome" and bool(errors_of(entry.get("resource")))


def errors_of(outcome: object) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome of severity error or fatal: what could not be done."""
    listed = _listed(outcome.get("issue")) if isinstance(outcome, dict) else []
    return [i for i in listed if isinstance(i, dict) and i.get("severity") in ("error", "fatal")]


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
