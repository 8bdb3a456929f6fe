"""Integrators behind :func:`gflow.solve`: diffrax (default), scipy (cross-check),
and fixed-step gradient descent (the papers' own method, via diffrax's Euler)."""
