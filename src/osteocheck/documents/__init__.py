"""The documents handed over (self-care sheet, assessment checklist, physician letter): content, then formats.

May import render (escaping), the engine and the foundation modules."""
