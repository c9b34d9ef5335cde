"""Resolving FHIR references in a bundle: contained (`#id`, scoped to the resource that holds it),
`urn:uuid:` and other full URLs, relative `Type/id`, and absolute URLs ending in `Type/id`."""

from __future__ import annotations

from typing import Any


class References:
    def __init__(self, entries: list[Any]) -> None:
        self._by_url: dict[str, dict[str, Any]] = {}
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}  # (type, id)
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                self.add(entry, entry["resource"])

    def add(self, entry: dict[str, Any], resource: dict[str, Any]) -> None:
        """One entry of the bundle, and its resource (for a reader that walks the entries itself)."""
        if isinstance(entry.get("fullUrl"), str):
            self._by_url[entry["fullUrl"]] = resource
        if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
            self._by_key[resource["resourceType"], resource["id"]] = resource

    def resolve(self, holder: dict[str, Any], reference: object) -> dict[str, Any] | None:
        """The resource `reference` points at, seen from `holder` (whose contained resources are its own)."""
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref: str = reference["reference"]
        if ref.startswith("#"):
            contained = holder.get("contained")
            for inner in contained if isinstance(contained, list) else []:
                if isinstance(inner, dict) and inner.get("id") == ref[1:]:
                    return inner
            return None
        if ref in self._by_url:
            return self._by_url[ref]
        parts = [p for p in ref.split("/") if p]
        if "_history" in parts:  # Type/id/_history/version
            parts = parts[: parts.index("_history")]
        return self._by_key.get((parts[-2], parts[-1])) if len(parts) >= 2 else None


def patient_of(r: dict[str, Any]) -> str | None:
    """The Patient id a resource is about (`Patient/ID`, a URL ending so, either with `/_history/N`)."""
    for key in ("subject", "patient"):
        ref = r.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text: str = ref["reference"]
            parts = text.rstrip("/").split("/")
            if "_history" in parts:  # a version of the Patient is still the Patient
                parts = parts[: parts.index("_history")]
            if len(parts) >= 2 and parts[-2] == "Patient":
                return parts[-1]
            if text.startswith("urn:uuid:"):
                return text[len("urn:uuid:") :]
    return None
