"""A cache of parsed knowledge files, keyed by the file's content hash.

It saves only the text -> data step (and the YAML import): every structural and
semantic check still runs on each load. Never stale (a changed file has another
hash), safe to delete, and any entry that cannot be read is ignored. Set
OSTEOCHECK_CACHE_DIR to move it, or OSTEOCHECK_NO_CACHE=1 to switch it off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from osteocheck import __version__
from osteocheck.parsing.located import Document

FORMAT = 1


def directory() -> Path | None:
    if os.environ.get("OSTEOCHECK_NO_CACHE"):
        return None
    explicit = os.environ.get("OSTEOCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "osteocheck"


def _entry(digest: str) -> Path | None:
    folder = directory()
    return folder / f"knowledge-{FORMAT}-{__version__}-{digest}.json" if folder else None


def get(digest: str, file: str) -> Document | None:
    entry = _entry(digest)
    if entry is None:
        return None
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"))
        marks = {tuple(m[0]): (int(m[1]), int(m[2])) for m in stored["marks"]}
        if stored["sha256"] != digest:
            return None
        return Document(stored["data"], file, marks)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def put(digest: str, doc: Document) -> None:
    """Store atomically; a cache that cannot be written is simply not used."""
    entry = _entry(digest)
    if entry is None:
        return
    payload = {
        "sha256": digest,
        "data": doc.data,
        "marks": [[list(path), line, column] for path, (line, column) in doc.marks.items()],
    }
    import tempfile  # noqa: PLC0415 - only on a cache miss

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return
