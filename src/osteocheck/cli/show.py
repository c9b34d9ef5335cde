"""What the everyday commands print, shared by the Typer commands and the quick path (no Typer).

Nothing here fails on its own: the callers have checked their input, so the two paths cannot differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from osteocheck.cli.printing import emit, show

if TYPE_CHECKING:
    import datetime as dt

    from osteocheck.documents.content import People
    from osteocheck.engine.model import Knowledge, Plan


def excluded(result: Plan, knowledge: Knowledge, output_format: str) -> None:
    if output_format == "json":
        from osteocheck.render.jsonout import dumps, excluded_dict  # noqa: PLC0415

        emit(dumps(excluded_dict(result, knowledge)))
    elif output_format == "markdown":
        from osteocheck.render.markdown import excluded_markdown  # noqa: PLC0415

        emit(excluded_markdown(result))
    else:
        from osteocheck.render.terminal import excluded_view  # noqa: PLC0415

        show(excluded_view(result))


def explain(technique: str, result: Plan, knowledge: Knowledge, output_format: str) -> None:
    """`technique` is one of the knowledge's ids (checked by the caller)."""
    verdict = result.verdict(technique)
    if output_format == "json":
        from osteocheck.render.jsonout import dumps, explain_dict  # noqa: PLC0415

        emit(dumps(explain_dict(result, knowledge, technique)))
    elif output_format == "markdown":
        from osteocheck.render.markdown import explain_markdown  # noqa: PLC0415
        from osteocheck.render.terminal import condition_text  # noqa: PLC0415

        conditions = {r.rule: condition_text(r.rule, knowledge) for r in verdict.reasons}
        emit(explain_markdown(verdict, result, conditions))
    else:
        from osteocheck.render.terminal import explain_view  # noqa: PLC0415

        show(explain_view(verdict, result, knowledge))


def people(client: str | None, therapist: str | None, physician: str | None, day: dt.date | None) -> People:
    """Who a document names: as given, else the therapist and clinic of the config file, each on one line."""
    from osteocheck import config  # noqa: PLC0415
    from osteocheck.documents.content import People  # noqa: PLC0415
    from osteocheck.words import one_line  # noqa: PLC0415

    settings = config.load()

    def line(name: str | None) -> str | None:
        return one_line(name) if name is not None else None

    therapist = therapist if therapist is not None else settings.therapist
    return People(line(client), line(therapist), line(physician), day, line(settings.clinic))
