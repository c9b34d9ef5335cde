"""Writing results to stdout, shared by the Typer commands and the fast path."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from osteocheck.engine.model import Knowledge, Plan


def emit(text: str) -> None:
    sys.stdout.write(text)


def show(renderable: object) -> None:
    from rich.console import Console  # noqa: PLC0415 - Rich only where something is drawn

    console = Console(soft_wrap=False, highlight=False)
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:  # a pipe or a file: without the spaces Rich pads each line with
        console.print(renderable)
    emit("\n".join(line.rstrip(" ") for line in captured.get().split("\n")))


def plan_text(plan: Plan, knowledge: Knowledge, output_format: str, *, details: bool = False) -> str:
    """The plan as JSON (always whole), a FHIR Bundle, or Markdown (in short, or whole with `details`)."""
    if output_format == "fhir":
        from osteocheck.render.fhirout import plan_bundle  # noqa: PLC0415
        from osteocheck.render.jsonout import dumps  # noqa: PLC0415

        return dumps(plan_bundle(plan, knowledge))
    if output_format == "json":
        from osteocheck.render.jsonout import dumps, plan_dict  # noqa: PLC0415

        return dumps(plan_dict(plan, knowledge))
    from osteocheck.render.markdown import glance_markdown, plan_markdown  # noqa: PLC0415

    return (plan_markdown if details else glance_markdown)(plan, knowledge)


def plan_renderable(plan: Plan, knowledge: Knowledge, *, details: bool = False) -> object:
    """The plan for a terminal: in short (one screen), or whole with `details`."""
    if details:
        from osteocheck.render.terminal import plan_view  # noqa: PLC0415

        return plan_view(plan, knowledge)
    from osteocheck.render.glance_terminal import glance_view  # noqa: PLC0415

    return glance_view(plan, knowledge)


def print_plan(plan: Plan, knowledge: Knowledge, output_format: str, *, details: bool = False) -> None:
    if output_format != "table":
        emit(plan_text(plan, knowledge, output_format, details=details))
    elif details or sys.platform == "win32":  # Rich knows every console; the short view's own writer, ANSI ones
        show(plan_renderable(plan, knowledge, details=details))
    else:
        from osteocheck.render.glance_text import glance_text  # noqa: PLC0415

        width, color = terminal()
        emit(glance_text(plan, knowledge, width=width, color=color))


def terminal() -> tuple[int, bool]:
    """Width and colour as Rich would choose them: $COLUMNS or the terminal's width (80 for a pipe);
    colour on a terminal unless NO_COLOR is set or TERM is dumb, or with FORCE_COLOR."""
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    width = shutil.get_terminal_size((80, 24)).columns
    if os.environ.get("NO_COLOR"):
        return width, False
    if os.environ.get("FORCE_COLOR"):
        return width, True
    return width, sys.stdout.isatty() and os.environ.get("TERM", "") not in ("dumb", "unknown")


def plan_file_text(plan: Plan, knowledge: Knowledge, output_format: str, *, details: bool = False) -> str:
    """The plan for a file: JSON or Markdown as printed, the table as plain text 100 columns wide."""
    if output_format != "table":
        return plan_text(plan, knowledge, output_format, details=details)
    if not details:
        from osteocheck.render.glance_text import glance_text  # noqa: PLC0415

        return glance_text(plan, knowledge, width=100, color=False)
    return as_plain_text(plan_renderable(plan, knowledge, details=details))


def as_plain_text(renderable: object) -> str:
    """A Rich renderable as it would print, 100 columns wide, without colour: for files."""
    import io  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None, soft_wrap=False, highlight=False).print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())  # cells pad with spaces
