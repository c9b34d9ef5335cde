"""Layering: a clinic's file that `extends` the shipped one may add entries, never redefine or remove them."""

from __future__ import annotations

from typing import Any

from osteocheck.errors import Problem
from osteocheck.parsing.located import Document

# The sections whose entries a layered file may add to; every other key is the base's.
LIST_SECTIONS = (
    "sources", "summary", "goals", "signs", "facts", "sites", "techniques", "positioning", "assessment",
    "self_care", "rules",
)  # fmt: skip
# (section, index in the merged list) -> the file that holds the entry, and its index there
Owner = dict[tuple[str, int], tuple[Document, int]]


def layer(base: Document, top: Document, problems: list[Problem]) -> tuple[dict[str, Any], Owner]:
    """The base's data with the top file's entries appended; redefining a base entry is an error."""
    base_data: dict[str, Any] = base.data  # type: ignore[assignment]
    top_data: dict[str, Any] = top.data  # type: ignore[assignment]
    merged = {k: v for k, v in base_data.items() if k not in LIST_SECTIONS}
    owner: Owner = {}
    for key in LIST_SECTIONS:
        entries = list(base_data.get(key, []))
        owner.update({(key, i): (base, i) for i in range(len(entries))})
        ids = {e["id"] for e in entries}
        for j, entry in enumerate(top_data.get(key, [])):
            if entry["id"] in ids:
                problems.append(
                    top.problem(
                        (key, j, "id"),
                        f"'{entry['id']}' is already defined in {base.file}: a layered file may only add, "
                        "never redefine, loosen or remove shipped knowledge",
                    )
                )
                continue
            owner[(key, len(entries))] = (top, j)
            entries.append(entry)
        merged[key] = entries
    for key in top_data:
        if key not in LIST_SECTIONS and key not in ("id", "version", "title", "extends"):
            problems.append(
                top.problem((key,), f"'{key}' cannot be changed by a layered file: layering may only add entries")
            )
    merged.update(id=top_data["id"], version=top_data["version"], title=top_data["title"])
    return merged, owner
