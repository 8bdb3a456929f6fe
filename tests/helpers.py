"""Shared test helpers."""


def failing(rows) -> list[str]:
    """The ids of the rows that do not hold, in report order."""
    return [r.id for r in rows if not r.holds]
