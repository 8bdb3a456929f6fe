"""Output paths checked before any computation: a run never fails at the end because of where it writes."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp", "pgf")


def _writable_dir(d: Path) -> bool:
    """Whether ``d`` exists as a writable directory, or could be created under a writable one."""
    while not d.exists():
        if d.parent == d:
            return False
        d = d.parent
    return d.is_dir() and os.access(d, os.W_OK | os.X_OK)


def check_file(path: str | os.PathLike, what: str, *, figure: bool = False) -> Path:
    """Refuse an output file that cannot be written (a directory, under a file, a read-only place) or,
    for a figure, a format matplotlib does not write."""
    p = Path(path)
    if not str(path).strip():
        raise InputError(f"the {what} path is empty")
    if p.is_dir():
        raise InputError(f"cannot write the {what} to {path}: it is a directory")
    if p.exists() and not p.is_file():
        raise InputError(f"cannot write the {what} to {path}: it is not a regular file")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"cannot write the {what} to {path}: the file is read-only")
    parent = p.resolve().parent
    if not parent.is_dir():
        under = next((a for a in (parent, *parent.parents) if a.exists()), None)
        why = f"{under} is a file" if under is not None and not under.is_dir() else f"{parent} does not exist"
        raise InputError(f"cannot write the {what} to {path}: {why}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write the {what} to {path}: {parent} is not writable")
    if figure:
        fmt = p.suffix.lstrip(".").lower()
        if fmt not in FIGURE_FORMATS:
            raise InputError(f"cannot save a figure as {path!s}: the extension must be one of "
                             f"{', '.join('.' + f for f in FIGURE_FORMATS)}")
    return p


def check_dir(path: str | os.PathLike, what: str) -> Path:
    """Refuse a directory that is a file, or that cannot be created or written."""
    p = Path(path)
    if not str(path).strip():
        raise InputError(f"the {what} path is empty")
    if p.exists() and not p.is_dir():
        raise InputError(f"the {what} {path} is a file, not a directory")
    if not _writable_dir(p.resolve()):
        raise InputError(f"cannot write the {what} {path}: not writable (or under a file)")
    return p


def check_distinct(paths: dict[str, str | os.PathLike | None]) -> None:
    """Refuse two outputs that would land in the same file."""
    seen: dict[Path, str] = {}
    for what, path in paths.items():
        if path is None:
            continue
        key = Path(path).resolve()
        if key in seen:
            raise InputError(f"the {seen[key]} and the {what} would both be written to {path}: give two paths")
        seen[key] = what
