"""Analytic predictions and bounds, as plain functions (sympy where derived)."""
