"""The knowledge file: locate, parse (with a cache), check structure then meaning, build frozen Knowledge.

May import the engine (the values it builds), parsing and the foundation modules."""
