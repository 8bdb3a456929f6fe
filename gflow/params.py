"""Parameters declared once: one dataclass field carries a parameter's type, default, unit, help
text and validation, and everything else derives from it — the CLI options of a check (and its
``--help``), ``gflow sweep --grid`` parsing, the validation that runs before any computation (from
the CLI and from Python alike) and the JSON ``params``.

    @dataclasses.dataclass(frozen=True)
    class Params(ParamSet):
        k: int = param(4, "number of classes", ge=2)
        delta: tuple = param((0.1, 0.01), "init scales δ", gt=0, lt=1, distinct=True)

A :class:`ParamSet` validates itself when it is built (``__post_init__``): every field against its
declaration, then the cross-field rules of the class's :meth:`ParamSet.validate`. A subclass that
only changes a default says so with :func:`redefault`, keeping the declaration.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from .errors import InputError

KINDS = {int: "an integer", float: "a number", str: "a word", bool: "a flag"}


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter's declaration (kept in the dataclass field's metadata)."""

    help: str
    kind: type                       # int, float, str or bool (the element type of a list)
    many: bool = False               # a comma-separated list (a tuple value)
    unit: str = ""
    gt: float | None = None          # bounds, exclusive (gt, lt) or inclusive (ge, le)
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple | None = None
    distinct: bool = True            # lists: no repeated value
    increasing: bool = False         # lists: strictly increasing
    count: tuple[int, int | None] = (1, None)  # lists: how many values
    optional: bool = False           # None allowed (derived from the others, or off)
    cli: bool = True                 # an option of the check (False: Python only)
    none: str = "derived"            # what None means (optional parameters), for --help

    def describe_range(self) -> str:
        n = _num
        lo = f"({n(self.gt)}" if self.gt is not None else f"[{n(self.ge)}" if self.ge is not None else None
        hi = f"{n(self.lt)})" if self.lt is not None else f"{n(self.le)}]" if self.le is not None else None
        if lo and hi:
            return f"in {lo}, {hi}"
        if lo:
            return f"{'>' if self.gt is not None else '≥'} {n(self.gt if self.gt is not None else self.ge)}"
        if hi:
            return f"{'<' if self.lt is not None else '≤'} {n(self.lt if self.lt is not None else self.le)}"
        return ""

    def help_line(self, default: Any) -> str:
        rng = self.describe_range()
        text = self.help + (f" [{self.unit}]" if self.unit else "")
        if rng:
            text += f"; {rng}"
        if self.kind is not bool:
            text += f" (default: {format_value(default) if default is not None else self.none})"
        return text

    def metavar(self) -> str:
        if self.choices and len(self.choices) <= 4:
            return "[" + "|".join(map(str, self.choices)) + "]"
        if self.choices:
            return "NAME"
        return ("LIST" if self.many else {int: "INT", float: "FLOAT", str: "TEXT"}[self.kind])


def param(default: Any, help: str, *, kind: type | None = None, **spec) -> Any:
    """A dataclass field declaring one parameter (see the module docstring)."""
    many = isinstance(default, tuple)
    if kind is None:
        sample = default[0] if many and default else default
        if sample is None:
            raise TypeError(f"param({help!r}): give kind= when the default is None or empty")
        kind = bool if isinstance(sample, bool) else type(sample)
    spec.setdefault("optional", default is None)
    return dataclasses.field(default=default, metadata={"param": Param(help=help, kind=kind, many=many, **spec)})


def redefault(base: type, name: str, default: Any) -> Any:
    """The field ``name`` of ``base`` with another default (the declaration kept)."""
    field = base.__dataclass_fields__[name]
    return dataclasses.field(default=default, metadata=field.metadata)


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return f"{x:.4g}"


def format_value(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(format_value(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def declarations(cls: type) -> dict[str, tuple[Param, Any]]:
    """``name -> (Param, default)`` for every declared field of ``cls`` that is a CLI option."""
    out = {}
    for f in dataclasses.fields(cls):
        p = f.metadata.get("param")
        if p is not None and p.cli and f.name not in getattr(cls, "unused", ()):
            out[f.name] = (p, f.default)
    return out


def _one(name: str, p: Param, text: str):
    text = text.strip()
    where = option_name(name)
    if p.kind is int:
        try:
            return int(text)
        except ValueError:
            raise InputError(f"{where}: cannot read {text!r} as an integer") from None
    if p.kind is float:
        try:
            v = float(text)
        except ValueError:
            raise InputError(f"{where}: cannot read {text!r} as a number") from None
        if not math.isfinite(v):
            raise InputError(f"{where} must be finite, got {text!r}")
        if v == 0 and any(c in "123456789" for c in text.lower().split("e")[0]):
            raise InputError(f"{where}: {text!r} underflows float64 (smallest positive ≈ 5e-324)")
        return v
    if p.kind is str:
        if not text:
            raise InputError(f"{where}: empty value")
        return text
    raise InputError(f"{where}: cannot read {text!r}")


def parse(cls: type, name: str, text: str):
    """The value of option ``name`` of ``cls`` from its command-line text."""
    p, _ = declarations(cls)[name]
    if p.kind is bool:
        return bool(text)
    if p.many:
        parts = [t for t in text.split(",")]
        if not text.strip() or any(not t.strip() for t in parts):
            raise InputError(f"{option_name(name)}: cannot read {text!r} as comma-separated values")
        return tuple(_one(name, p, t) for t in parts)
    return _one(name, p, text)


def check_value(name: str, p: Param, value: Any) -> None:
    """Raise :class:`InputError` if ``value`` breaks the declaration ``p`` of parameter ``name``."""
    where = option_name(name)
    if value is None:
        if not p.optional:
            raise InputError(f"{where} is required")
        return
    values = value if p.many else (value,)
    if p.many:
        if not isinstance(value, tuple | list):
            raise InputError(f"{where} takes a list of values, got {value!r}")
        lo, hi = p.count
        if len(values) < lo or (hi is not None and len(values) > hi):
            n = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise InputError(f"{where} takes {n} value{'s' if (hi or lo) != 1 else ''}, got {len(values)}")
    for v in values:
        if p.kind is bool:
            if not isinstance(v, bool):
                raise InputError(f"{where} is a flag (True/False), got {v!r}")
            continue
        if p.kind is int and (isinstance(v, bool) or not isinstance(v, int)) and not (
                isinstance(v, float) and v.is_integer()):
            raise InputError(f"{where} must be an integer, got {v!r}")
        if p.kind is float:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputError(f"{where} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise InputError(f"{where} must be finite, got {v}")
        if p.kind is str and not isinstance(v, str):
            raise InputError(f"{where} must be a string, got {v!r}")
        if p.choices is not None and v not in p.choices:
            raise InputError(f"{where} must be one of {', '.join(map(str, p.choices))}, got {v!r}")
        if ((p.gt is not None and not v > p.gt) or (p.ge is not None and not v >= p.ge)
                or (p.lt is not None and not v < p.lt) or (p.le is not None and not v <= p.le)):
            raise InputError(f"{where} must be {p.describe_range()}, got {format_value(v)}")
    if p.many and p.distinct and len(set(values)) != len(values):
        raise InputError(f"{where} has repeated values {format_value(tuple(values))}: each must be distinct")
    if p.many and p.increasing and list(values) != sorted(values):
        raise InputError(f"{where} must be increasing, got {format_value(tuple(values))}")


class ParamSet:
    """Base of every check's ``Params`` (a frozen dataclass): validated when built.

    ``unused`` names inherited fields the check does not read: they are not its options and not in its
    JSON ``params``. Override :meth:`validate` for rules that tie fields together (call ``super()`` first).
    """

    unused: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            p = f.metadata.get("param")
            if p is not None:
                check_value(f.name, p, getattr(self, f.name))

    def to_dict(self) -> dict:
        """The parameters a check reads, JSON-ready."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self) if f.name not in self.unused}

    @classmethod
    def from_options(cls, given: dict[str, str | bool]) -> ParamSet:
        """Build from command-line texts (``name -> text``); unknown names are an error."""
        decl = declarations(cls)
        bad = sorted(set(given) - set(decl))
        if bad:
            raise InputError(f"does not take {', '.join(option_name(b) for b in bad)}")
        return cls(**{k: parse(cls, k, v) for k, v in given.items()})


def gd_needs_dt(solver: str, dt: float | None) -> None:
    """Gradient descent is the only solver that takes a step: it needs one, and no other solver takes one."""
    if solver == "gd" and dt is None:
        raise InputError("solver gd (gradient descent) needs a step --dt > 0")
    if solver != "gd" and dt is not None:
        raise InputError(f"--dt is gradient descent's step; {solver} chooses its own steps (use --solver gd, or drop --dt)")


def available_memory() -> int | None:
    """Bytes of physical memory (None where the platform does not say)."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def fits_in_memory(n_bytes: float, what: str) -> None:
    """Refuse, before any allocation, a size that cannot fit in half of this machine's memory."""
    mem = available_memory()
    if mem is not None and n_bytes > mem / 2:
        raise InputError(f"{what} would need ~{n_bytes / 2**30:.3g} GiB, more than half of this machine's "
                         f"{mem / 2**30:.3g} GiB: choose smaller sizes")
