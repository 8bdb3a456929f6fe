"""The papers' models, one per file, each a pure JAX vector field."""
