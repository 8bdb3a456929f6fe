"""Checks of "Plateau in monotonic linear interpolation — a 'biased' view" (ICLR 2023)."""
