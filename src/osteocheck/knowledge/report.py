"""Where a semantic problem is: a path in the merged data, reported at its place in the file that holds it."""

from __future__ import annotations

from osteocheck.errors import Problem
from osteocheck.knowledge.layers import Owner
from osteocheck.parsing.located import Document

DataPath = tuple[str | int, ...]


class Reporter:
    """Collects problems; a path into a layered entry points into the file that defines the entry."""

    def __init__(self, doc: Document, owner: Owner) -> None:
        self.doc = doc
        self.owner = owner
        self.problems: list[Problem] = []

    def locate(self, path: DataPath) -> tuple[Document, DataPath]:
        """The file that holds a merged path, and the path inside that file."""
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            found = self.owner.get((path[0], path[1]))
            if found is not None:
                return found[0], (path[0], found[1], *path[2:])
        return self.doc, path

    def error(self, path: DataPath, message: str, severity: str = "error") -> None:
        doc, local = self.locate(path)
        self.problems.append(doc.problem(local, message, severity))

    def warn(self, path: DataPath, message: str) -> None:
        self.error(path, message, "warning")
