"""Views of a plan: terminal (Rich), Markdown and JSON renderers that return strings, and escaping.

May import the engine and the foundation modules."""
