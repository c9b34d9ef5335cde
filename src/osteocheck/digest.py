"""SHA-256 (the knowledge file's identity in every plan, and the parse cache's key).

hashlib loads OpenSSL on import, a few milliseconds of every start; the interpreter's own SHA-256
module gives the same digest without it. hashlib is the fallback where that module is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


_made: list[Callable[[bytes], Any]] = []


def sha256(data: bytes = b"") -> Hasher:
    if not _made:
        _made.append(_builtin() or _openssl())
    hasher: Hasher = _made[0](data)
    return hasher


def sha256_hex(data: bytes) -> str:
    return sha256(data).hexdigest()


def _builtin() -> Callable[[bytes], Any] | None:
    for name in ("_sha2", "_sha256") if sys.version_info >= (3, 12) else ("_sha256",):
        try:
            made: Callable[[bytes], Any] = getattr(__import__(name), "sha256")  # noqa: B009
        except (ImportError, AttributeError):
            continue
        return made
    return None


def _openssl() -> Callable[[bytes], Any]:
    import hashlib  # noqa: PLC0415

    return hashlib.sha256
