"""Read a client profile file (YAML or JSON) into plain data, strictly."""

from __future__ import annotations

import json
from pathlib import Path

from osteocheck.errors import KnowledgeError, ProfileError
from osteocheck.parsing.located import decode
from osteocheck.parsing.strict_json import no_duplicates

MAX_BYTES = 1024 * 1024


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


def read(path: Path) -> dict[str, object]:
    """The file's mapping; ProfileError (exit 1) naming the file and place on any problem."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ProfileError(
            (f"{path}: cannot read profile file: {exc.strerror or type(exc).__name__}",), usage=False
        ) from None
    if len(raw) > MAX_BYTES:
        raise ProfileError((f"{path}: profile file is larger than {MAX_BYTES:,} bytes",), usage=False)
    is_json = path.suffix.lower() == ".json" or raw.lstrip()[:1] in (b"{", b"[")
    data: object
    if is_json:
        try:
            text = decode(raw, str(path))
            data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=_reject_constant)
        except KnowledgeError as exc:
            raise ProfileError(tuple(str(p) for p in exc.problems), usage=False) from None
        except json.JSONDecodeError as exc:
            raise ProfileError((f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",), usage=False) from None
        except (ValueError, RecursionError) as exc:
            raise ProfileError((f"{path}: not a valid profile: {exc}",), usage=False) from None
    else:
        from osteocheck.parsing import strict_yaml  # noqa: PLC0415 - YAML only for YAML files

        try:
            data = strict_yaml.load(raw, str(path)).data
        except KnowledgeError as exc:
            raise ProfileError(tuple(str(p) for p in exc.problems), usage=False) from None
    if not isinstance(data, dict):
        raise ProfileError(
            (f"{path}: a profile must be a mapping of keys (stage, fracture_history, ...)",), usage=False
        )
    return data
