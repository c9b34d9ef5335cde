"""The one exception family of osteocheck; every message says where and what."""

from typing import NamedTuple


class Problem(NamedTuple):
    """One finding in a file, reported the way compilers do."""

    file: str
    line: int
    column: int
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class OsteocheckError(Exception):
    """Base of every error osteocheck raises on purpose."""


class KnowledgeError(OsteocheckError):
    """A knowledge file could not be read or failed validation; no plan may be made from it."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ProfileError(OsteocheckError):
    """A client profile is invalid; `usage` is true when it came from the command line."""

    def __init__(self, messages: tuple[str, ...], *, usage: bool) -> None:
        self.messages = messages
        self.usage = usage
        super().__init__("\n".join(messages))


class OutputError(OsteocheckError):
    """An export could not be written where it was asked to go."""
