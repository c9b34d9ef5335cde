"""Where the shipped data files are: inside the installed package, or in the source tree."""

from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "data"
    return packaged if (packaged / "osteoporosis.yaml").is_file() else here.parents[1] / "data"


def knowledge_path() -> Path:
    """The shipped knowledge file."""
    return data_dir() / "osteoporosis.yaml"


def code_map_path() -> Path:
    """The shipped map of clinical codes to profile facts."""
    return data_dir() / "fhir_codes.yaml"
