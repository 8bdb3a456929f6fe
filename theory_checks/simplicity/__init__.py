"""Checks of "Simplicity bias and optimization threshold in two-layer ReLU networks" (2025)."""
