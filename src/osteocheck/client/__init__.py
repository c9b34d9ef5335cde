"""The client: a validated Profile from flags, profile files, the intake interview and clinical records.

May import the engine, parsing and the foundation modules; never the knowledge loader or any view."""
