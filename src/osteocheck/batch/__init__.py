"""Batch screening: many profiles in (JSONL, CSV), one screening record per row out, in order.

May import client, render, engine, parsing and the foundation modules."""
