"""What the EHR did not prefetch, read from its FHIR server with the access token it sent.

Only from a server the operator allowed (`--fhir-server`): the service never sends a token, or a
request, anywhere a caller names, and follows no redirect. Bounded in time (the call's), size and
pages; a search is read whole, every `next` page on the same server, or refused.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from osteocheck.client.records.bundle import next_page
from osteocheck.service import wire
from osteocheck.service.request import Refused


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other 3xx, never followed: urllib would carry the EHR's token
    to wherever it points, a server nobody allowed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)
# In place of an optional query the server could not answer, as an EHR says it could not run one (CDS Hooks 2.0).
NOT_READ: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
MAX_PAGES = 100  # of one query: at 10 a page (some servers' default), 1,000 resources; the byte budget bounds the rest


class Fetcher:
    def __init__(self, allowed: tuple[str, ...], *, timeout: float, max_bytes: int, total: float | None = None) -> None:
        self.allowed = tuple(a.rstrip("/") + "/" for a in allowed)
        self.timeout = timeout  # a request's
        self.total = timeout if total is None else total  # a call's, every query and page together
        self.max_bytes = max_bytes

    def allows(self, server: str) -> bool:
        return (server.rstrip("/") + "/") in self.allowed

    def read(
        self,
        templates: dict[str, str],
        keys: list[str],
        server: str,
        patient: str,
        token: str | None,
        optional: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The templates of `keys` (those the request left out), fetched: a Bundle, a resource, or None
        when not found. Those in `optional` are read last, and one that cannot be read is NOT_READ."""
        needed = [key for key in keys if key not in optional]
        if not self.allows(server):
            if not needed:
                return dict.fromkeys(keys, NOT_READ)
            raise Refused(
                403,
                f"the request lacks the prefetch {', '.join(needed)} and its fhirServer is not one this service "
                "may read (--fhir-server)",
            )
        base = server.rstrip("/") + "/"
        # Bytes left, and the time by which the reading ends: the call that waits for it has its own
        # deadline, and a thread reading a slow server on and on would hold one of the few there are.
        budget = [self.max_bytes, time.monotonic() + self.total]
        fetched: dict[str, Any] = {}
        for key in [*needed, *(key for key in keys if key in optional)]:
            query = templates[key].replace("{{context.patientId}}", urllib.parse.quote(patient, safe=""))
            try:
                fetched[key] = self._read(base + query, base, token, budget)
            except Refused:
                if key not in optional:
                    raise
                fetched[key] = NOT_READ
        return fetched

    def _read(self, url: str, base: str, token: str | None, budget: list[float]) -> Any:
        """What one query found, every page of it in one Bundle; refused rather than read in part (a plan
        made from the first pages could miss a fracture or a drug)."""
        first = self._get(url, token, budget)
        if first is None or first.get("resourceType") != "Bundle":
            return first
        page, pages = first, 1
        while (after := next_page(page)) is not None:
            if not after.startswith(base):
                raise Refused(502, "the FHIR server's answer to a query this service needs goes on elsewhere")
            if pages >= MAX_PAGES:
                raise Refused(
                    413, f"the FHIR server's answer to a query this service needs runs past {MAX_PAGES} pages"
                )
            page = self._get(after, token, budget) or {}
            listed, more = first.setdefault("entry", []), page.get("entry", [])
            if page.get("resourceType") != "Bundle" or not isinstance(listed, list) or not isinstance(more, list):
                raise Refused(502, "the FHIR server did not send a page of its answer to a query this service needs")
            listed.extend(more)
            pages += 1
        if pages > 1:  # whole now: the links between its pages lead to nothing left unread
            first.pop("link", None)
        return first

    def _get(self, url: str, token: str | None, budget: list[float]) -> dict[str, Any] | None:
        headers = {"Accept": "application/fhir+json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - an allowed http(s) server only
        left = budget[1] - time.monotonic()
        if left <= 0:
            raise Refused(504, "the FHIR server could not be reached in time")
        try:
            with _OPENER.open(request, timeout=min(self.timeout, left)) as response:
                raw = response.read(int(budget[0]) + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # the error holds the open response
            if exc.code == 404:
                return None
            raise Refused(502, f"the FHIR server answered {exc.code} to a query this service needs") from None
        except (urllib.error.URLError, TimeoutError, OSError):
            raise Refused(504, "the FHIR server could not be reached in time") from None
        budget[0] -= len(raw)
        if budget[0] < 0:
            raise Refused(413, "the record fetched from the FHIR server is larger than the limit")
        try:
            data = wire.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise Refused(502, "the FHIR server sent something that is not FHIR JSON") from None
        if not isinstance(data, dict):
            raise Refused(502, "the FHIR server sent something that is not a FHIR resource")
        return data
