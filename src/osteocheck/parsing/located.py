"""A parsed file: plain data plus the position of every part of it. No YAML here."""

from __future__ import annotations

from osteocheck.errors import KnowledgeError, Problem

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32  # nesting of mappings and lists; deeper data is refused before it can exhaust the stack
Path = tuple[str | int, ...]


class Document:
    """Plain data and where each part of it stands (1-based line and column)."""

    def __init__(self, data: object, file: str, marks: dict[Path, tuple[int, int]] | None = None) -> None:
        self.data = data
        self.file = file
        self.marks: dict[Path, tuple[int, int]] = marks if marks is not None else {}

    def where(self, path: Path) -> tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), (1, 1))

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        line, column = self.where(path)
        return Problem(self.file, line, column, severity, message)


def fail(file: str, line: int, column: int, message: str) -> KnowledgeError:
    return KnowledgeError((Problem(file, line, column, "error", message),))


def decode(raw: bytes, file: str) -> str:
    """Bytes to text, refusing what is too large, binary or not UTF-8."""
    if len(raw) > MAX_BYTES:
        raise fail(file, 1, 1, f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(file, line, column, "file is not UTF-8 text") from None
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise fail(file, line, 1, "file holds a NUL byte: it is binary, not YAML") from None
    return text
