"""Parameters whose value is typed in: numbers, switches, choices, text, colours."""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Sequence
from typing import Any, ClassVar

import click

from ..errors import ParameterError, did_you_mean
from .base import Param


@dataclasses.dataclass(frozen=True)
class Float(Param):
    """A number in ``min``..``max`` (hard limits, enforced). ``soft_min``/``soft_max`` are the
    range a slider offers (the Blender panel's soft limits); typing a value beyond them, within
    the hard limits, is allowed."""

    min: float | None = None
    max: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    kind: ClassVar[str] = "float"
    metavar: ClassVar[str] = "NUMBER"

    def _convert_one(self, value: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise self._fail(value, self.describe_allowed() or "a number") from None
        if not math.isfinite(v):
            raise ParameterError(
                f"{self.name}: {value!r} is not a finite number",
                hint=f"pass {self.option} with a finite number {self.describe_allowed()}".rstrip(),
            )
        _check_range(self, v)
        return as_float32(v)

    def describe_allowed(self) -> str:
        if self.min is None and self.max is None:
            return ""
        if self.max is None:
            return f"at least {self.min!r}"
        if self.min is None:
            return f"at most {self.max!r}"
        return f"{self.min!r} to {self.max!r}"

    def _schema_one(self) -> dict[str, Any]:
        return _number_schema(self, "number")


def as_float32(value: float) -> float:
    """``value`` at the precision effects compute in and hosts store (Blender's float
    properties are 32-bit), as the shortest decimal that is that float32: the Blender panel's
    0.6000000238418579 and a terminal's 0.6 are one setting, and a run made by either resumes
    in the other. Values beyond float32's range stay as they are."""
    try:
        single = struct.pack("<f", value)
    except OverflowError:
        return value
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == single:
            return short
    return struct.unpack("<f", single)[0]


def _check_range(p: Float | Int, v: float) -> None:
    if p.min is not None and v < p.min and p.max is None:
        raise ParameterError(
            f"{p.name}: {v} must be at least {p.min}",
            hint=f"pass {p.option} with a value of at least {p.min}",
        )
    if p.max is not None and v > p.max and p.min is None:
        raise ParameterError(
            f"{p.name}: {v} must be at most {p.max}",
            hint=f"pass {p.option} with a value of at most {p.max}",
        )
    if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        raise ParameterError(
            f"{p.name}: {v} is out of range; allowed: {p.describe_allowed()}",
            hint=f"pass {p.option} with a value in {p.describe_allowed()}",
        )


def _number_schema(p: Float | Int, json_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": json_type}
    for key, value in (
        ("minimum", p.min),
        ("maximum", p.max),
        ("x-soft-minimum", p.soft_min),
        ("x-soft-maximum", p.soft_max),
    ):
        if value is not None:
            out[key] = value
    return out


@dataclasses.dataclass(frozen=True)
class Int(Param):
    """A whole number; limits as for :class:`Float`."""

    min: int | None = None
    max: int | None = None
    soft_min: int | None = None
    soft_max: int | None = None
    kind: ClassVar[str] = "int"
    metavar: ClassVar[str] = "INTEGER"

    def _convert_one(self, value: Any) -> int:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            v = int(value)
        except (TypeError, ValueError):
            allowed = ("a whole number " + self.describe_allowed()).rstrip()
            raise self._fail(value, allowed) from None
        _check_range(self, v)
        return v

    describe_allowed = Float.describe_allowed

    def _schema_one(self) -> dict[str, Any]:
        return _number_schema(self, "integer")


@dataclasses.dataclass(frozen=True)
class Bool(Param):
    default: bool = False
    kind: ClassVar[str] = "bool"
    _TRUE = ("1", "true", "yes", "on")
    _FALSE = ("0", "false", "no", "off")

    def _convert_one(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self._TRUE:
            return True
        if text in self._FALSE:
            return False
        raise self._fail(value, "true or false")

    def _schema_one(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def click_option(self) -> click.Option:
        flag = self.name.replace("_", "-")
        return click.Option(
            [f"--{flag}/--no-{flag}", *self.aliases, self.name],
            default=None,
            envvar=self.envvar,
            show_envvar=self.envvar is not None,
            help=f"{self.help} (default: {'on' if self.default else 'off'})",
        )


@dataclasses.dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()
    kind: ClassVar[str] = "choice"

    def _convert_one(self, value: Any) -> str:
        text = str(value)
        if text not in self.choices:
            guess = did_you_mean(text, self.choices)
            raise ParameterError(
                f"{self.name}: {text!r} is not one of {', '.join(self.choices)}",
                hint=guess or f"pass {self.option} with one of {', '.join(self.choices)}",
            )
        return text

    def describe_allowed(self) -> str:
        return "|".join(self.choices)

    def _schema_one(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclasses.dataclass(frozen=True)
class Text(Param):
    """Free text, optionally matching ``pattern`` (a regular expression, whole string) that
    ``example`` illustrates in messages; for small specs such as ``3:0.5,12:0.5``."""

    pattern: str | None = None
    example: str = ""
    kind: ClassVar[str] = "text"
    metavar: ClassVar[str] = "TEXT"

    def _convert_one(self, value: Any) -> str:
        text = str(value).strip()
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise ParameterError(
                f"{self.name}: {text!r} is not valid",
                hint=f"pass {self.option} like {self.example or self.pattern}",
            )
        return text

    def _schema_one(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern})$"
        if self.example:
            out["examples"] = [self.example]
        return out


_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclasses.dataclass(frozen=True)
class Colour(Param):
    """An RGB colour: ``#rrggbb`` or ``r,g,b`` with components in [0, 1]; converted to a tuple of
    three floats in [0, 1] (display-referred sRGB, as colour pickers show it)."""

    kind: ClassVar[str] = "colour"
    metavar: ClassVar[str] = "COLOUR"

    def _convert_one(self, value: Any) -> tuple[float, float, float]:
        if isinstance(value, str):
            m = _HEX.match(value.strip())
            if m:
                h = m.group(1)
                return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
            parts = value.split(",")
        else:
            parts = list(value) if isinstance(value, Sequence) else [value]
        try:
            rgb = tuple(float(p) for p in parts)
        except (TypeError, ValueError):
            raise self._fail(value, "#rrggbb or r,g,b with each in 0..1") from None
        if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
            raise self._fail(value, "#rrggbb or r,g,b with each in 0..1")
        return rgb  # type: ignore[return-value]

    def _json_default(self) -> Any:
        r, g, b = self._convert_one(self.default)
        return "#%02x%02x%02x" % tuple(round(c * 255) for c in (r, g, b))

    def _schema_one(self) -> dict[str, Any]:
        return {"type": "string", "format": "color"}
