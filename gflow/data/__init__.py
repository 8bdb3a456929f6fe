"""Data sets: generators with explicit seeds."""
