"""The engine: frozen values, the rule condition language and `evaluate(profile, knowledge) -> Plan`; pure.

May import only the foundation modules; never YAML, Rich, Typer or anything that does I/O."""
