"""Renderers: each turns a plan into a string (or a Rich renderable) and prints nothing."""
