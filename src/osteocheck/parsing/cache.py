"""A cache of parsed knowledge files, keyed by the file's content hash.

It saves only the text -> data step (and the YAML import): every structural and
semantic check still runs on each load. Never stale (a changed file has another
hash), safe to delete. An entry is used only when it is a regular file of bounded
size holding exactly what `put` writes (plain data no deeper than the YAML reader
allows, positions, the right hash); anything else (a link to a device, a FIFO, deep
nesting, another shape) is ignored and written afresh. So the cache can only save
time or cost it: never change a verdict, hang, or exhaust memory. Set
OSTEOCHECK_CACHE_DIR to move it, or OSTEOCHECK_NO_CACHE=1 to switch it off.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from osteocheck import __version__
from osteocheck.parsing.located import MAX_BYTES, MAX_DEPTH, Document

FORMAT = 1
MAX_ENTRY = 16 * MAX_BYTES  # parsed data with positions is a few times larger than the YAML it came from


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
    raw = _read_regular(entry)
    if raw is None:
        return None
    try:
        stored = json.loads(raw.decode("utf-8"))
        if not isinstance(stored, dict) or set(stored) != {"sha256", "data", "marks"} or stored["sha256"] != digest:
            return None
        if not _plain(stored["data"]):
            return None
        marks = {}
        for path, line, column in stored["marks"]:
            # A path holding a list or mapping is unhashable (TypeError, below); other leaves only miss.
            if type(path) is not list or type(line) is not int or type(column) is not int:
                return None
            marks[tuple(path)] = (line, column)
        return Document(stored["data"], file, marks)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None


def _read_regular(entry: Path) -> bytes | None:
    """The entry's bytes if it is a regular file (not a link, device or FIFO) of bounded size."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_ENTRY + 1)
        return raw if len(raw) <= MAX_ENTRY else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _plain(data: object) -> bool:
    """A mapping no deeper than the YAML reader allows. The data comes from `json.loads`, so every key is
    text and every leaf a string, number, boolean or null: only the containers need walking."""
    if type(data) is not dict:
        return False
    stack: list[tuple[dict[str, object] | list[object], int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False
        children = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in children if type(v) is dict or type(v) is list)
    return True


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


def parse(raw: bytes, file: str, digest: str, *, use_cache: bool = True) -> Document:
    """YAML bytes -> plain data with positions, from the cache when this exact content was parsed before.

    The cache holds data only (the knowledge file, the shipped code map): every check still runs on it.
    """
    if use_cache:
        cached = get(digest, file)
        if cached is not None:
            return cached
    from osteocheck.parsing import strict_yaml  # noqa: PLC0415 - YAML is imported only when a file is parsed

    doc = strict_yaml.load(raw, file)
    put(digest, doc)
    return doc
