"""The command line: a thin Typer client of the layers below; the only place that prints and exits.

May import every other part of osteocheck; nothing imports it."""
