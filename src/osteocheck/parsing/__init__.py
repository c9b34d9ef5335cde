"""Parsing: untrusted bytes -> plain data that remembers file:line:column (strict YAML, strict JSON).

May import only the foundation modules (errors, vocabulary, words, shipped)."""
