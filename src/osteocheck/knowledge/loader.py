"""Load a knowledge file: text -> plain data (strict YAML) -> typed, frozen Knowledge.

Structure is checked against `schema.SCHEMA` (structure.py), then meaning
(builder.py: references, ids, sources, coverage); every problem is collected and reported together with
file:line:column. A file with any error yields no Knowledge at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from osteocheck import shipped
from osteocheck.digest import sha256, sha256_hex
from osteocheck.engine.model import Knowledge
from osteocheck.errors import KnowledgeError, Problem
from osteocheck.knowledge import builder, layers, structure
from osteocheck.knowledge.schema import SCHEMA
from osteocheck.parsing import cache
from osteocheck.parsing.located import MAX_BYTES, Document
from osteocheck.vocabulary import ENV_VAR

shipped_path = shipped.knowledge_path  # the knowledge file inside the installed package, or in the source tree


def resolve_path(explicit: str | Path | None) -> Path:
    """`--rules` if given, else $OSTEOCHECK_RULES, else the config file's `rules`, else the shipped file."""
    chosen = explicit or os.environ.get(ENV_VAR) or None
    if chosen:
        return Path(chosen)
    from osteocheck import config  # noqa: PLC0415

    return config.load().rules or shipped_path()


def rules_origin(explicit: str | Path | None) -> str:
    """Where resolve_path found the knowledge file, in words (for `osteocheck config`)."""
    if explicit:
        return "--rules"
    if os.environ.get(ENV_VAR):
        return ENV_VAR
    from osteocheck import config  # noqa: PLC0415

    found = config.load()
    return f"config {found.path}" if found.rules else "shipped"


def read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KnowledgeError((Problem(str(path), 1, 1, "error", f"cannot read knowledge file: {reason}"),)) from None
    return raw


def parse(raw: bytes, file: str, digest: str, *, use_cache: bool = True) -> Document:
    """Bytes -> plain data, from the cache when this exact content was parsed before."""
    return cache.parse(raw, file, digest, use_cache=use_cache)


def load(path: Path) -> Knowledge:
    """Read, check and build; raise KnowledgeError listing every error (warnings do not stop it)."""
    knowledge, problems = check(path)
    if knowledge is None:
        raise KnowledgeError(tuple(p for p in problems if p.is_error))
    return knowledge._replace(warnings=len(problems)) if problems else knowledge


def check(path: Path, *, use_cache: bool = True) -> tuple[Knowledge | None, tuple[Problem, ...]]:
    """Every problem in the file (and any file it extends), and the Knowledge if there are no errors.

    A cached parse that shows any problem is parsed afresh, so the cache can never change a verdict
    or a message: it only saves time on files that are clean.
    """
    try:
        knowledge, problems = _check(path, use_cache=use_cache)
        if use_cache and problems:
            return _check(path, use_cache=False)
    except KnowledgeError as exc:  # a file that cannot be read at all
        return None, exc.problems
    return knowledge, problems


def _check(path: Path, *, use_cache: bool) -> tuple[Knowledge | None, tuple[Problem, ...]]:
    raw = read_bytes(path)
    digest = sha256(raw)
    try:
        doc = parse(raw, str(path), digest.hexdigest(), use_cache=use_cache)
    except KnowledgeError as exc:
        return None, exc.problems
    problems = list(_structure(doc))
    if any(p.is_error for p in problems):
        return None, _sorted(problems)
    data: dict[str, Any] = doc.data  # type: ignore[assignment]
    if "extends" in data:
        base_path = shipped_path() if data["extends"] == "shipped" else (path.parent / data["extends"])
        if base_path.resolve() == path.resolve():
            return None, (doc.problem(("extends",), "a knowledge file cannot extend itself"),)
        base_raw = read_bytes(base_path)
        try:
            base_doc = parse(base_raw, str(base_path), sha256_hex(base_raw), use_cache=use_cache)
        except KnowledgeError as exc:
            return None, exc.problems
        base_problems = list(_structure(base_doc))
        if "extends" in base_doc.data:  # type: ignore[operator]
            base_problems.append(base_doc.problem(("extends",), "a base knowledge file cannot itself extend another"))
        if any(p.is_error for p in base_problems):
            return None, _sorted(base_problems)
        digest.update(base_raw)
        data, owner = layers.layer(base_doc, doc, problems)
    else:
        owner = {}
    knowledge, found = builder.build(data, doc, owner, path=path, sha256=digest.hexdigest())
    problems.extend(found)
    if any(p.is_error for p in problems):
        return None, _sorted(problems)
    return knowledge, _sorted(problems)


def _sorted(problems: list[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.column, p.message)))


def _structure(doc: Document) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [doc.problem((), "a knowledge file must be a mapping of sections (id, version, title, rules, ...)")]
    return [doc.problem(path, message) for path, message in structure.check(doc.data, SCHEMA, SCHEMA)]
