"""Typed effect parameters, declared once.

An effect lists its parameters as instances of the classes below (``Float``, ``Int``,
``Bool``, ``Choice``, ``Text``, ``Path``, ``Boxes``, ``Colour``). From that one declaration
come the options of ``neuralfx run EFFECT`` (:func:`click_options`), the JSON schema printed by
``neuralfx describe EFFECT --json`` (:meth:`Param.schema`), the Blender panel (generated from
that schema) and validation (:func:`validate`) for the CLI and the Python API alike.

    >>> p = Float("strength", default=1.0, min=0.0, max=1.0, help="blend with the content")
    >>> p.convert("0.5")
    0.5
    >>> p.convert(2)
    Traceback (most recent call last):
    ...
    neuralfx.errors.ParameterError: strength: 2.0 is out of range; allowed: 0.0 to 1.0
      hint: pass --strength with a value in 0.0 to 1.0
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path as _Path
from typing import Any, ClassVar

import click

from .errors import ParameterError, did_you_mean

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: The still images the host reads (``neuralfx.frames.images.FORMATS``), for a ``Path``
#: parameter's ``suffixes``: reference, example and style images.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr")


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter: a snake_case ``name`` (``--kebab-case`` on the command line), a default
    and a help text. With ``multiple=True`` the value is a tuple and the option may repeat;
    ``required=True`` refuses a run that does not give it. ``when={"method": ("gatys",)}``:
    it applies only when other parameters have those values (``--help`` says so, ``describe``
    gives it as ``x-when``, the Blender panel shows it only then)."""

    name: str
    default: Any = None
    help: str = ""
    multiple: bool = False
    required: bool = False
    when: Mapping[str, Sequence[Any]] | None = None
    #: The command line only: the value's placeholder in ``--help`` (default: the kind's, such
    #: as NUMBER), more option names (``("--address",)``) and an environment variable that
    #: gives the value when the option is not (``--help`` shows it).
    placeholder: str | None = None
    aliases: tuple[str, ...] = ()
    envvar: str | None = None

    kind: ClassVar[str] = "param"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"parameter name {self.name!r} must be snake_case ascii")
        if self.when is not None:  # kept hashable, as the declaration is
            object.__setattr__(
                self, "when", tuple((k, tuple(v)) for k, v in dict(self.when).items())
            )
        if self.default is not None:
            # A bad default is a bug in the effect: fail when the effect is declared.
            self.convert(self.default)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    # -- validation ---------------------------------------------------------------------------
    def convert(self, value: Any) -> Any:
        """Return ``value`` validated and converted, or raise :class:`ParameterError`."""
        if self.required and (value is None or (self.multiple and not value)):
            raise ParameterError(f"{self.name} is required", hint=f"pass {self.option}")
        if self.multiple:
            if value is None:
                value = self.default if self.default is not None else ()
            items = (
                [value]
                if isinstance(value, (str, bytes)) or not isinstance(value, Sequence)
                else list(value)
            )
            return tuple(self._convert_one(v) for v in items)
        if value is None:
            if self.default is None:
                return None
            value = self.default
        return self._convert_one(value)

    def _convert_one(self, value: Any) -> Any:
        raise NotImplementedError

    def _fail(self, value: Any, allowed: str) -> ParameterError:
        return ParameterError(
            f"{self.name}: {value!r} is not valid; allowed: {allowed}",
            hint=f"pass {self.option} with {allowed}",
        )

    # -- schema and CLI -----------------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        """JSON-schema fragment for this parameter, plus ``x-kind`` naming the param class."""
        one = self._schema_one()
        out: dict[str, Any] = {"type": "array", "items": one} if self.multiple else dict(one)
        out["description"] = self.help
        out["x-kind"] = self.kind
        out["x-option"] = self.option
        out["x-required"] = self.required
        if self.when:
            out["x-when"] = {key: list(values) for key, values in self.when}
        if self.default is not None:
            out["default"] = list(self.default) if self.multiple else self._json_default()
        return out

    def _json_default(self) -> Any:
        return self.default

    def _schema_one(self) -> dict[str, Any]:
        raise NotImplementedError

    metavar: ClassVar[str] = "TEXT"

    def describe_allowed(self) -> str:
        return ""

    def click_option(self) -> click.Option:
        # Values reach convert() as text, so the CLI and the Python API refuse bad values with
        # the same messages.
        allowed = self.describe_allowed()
        text = self.help + (f" [{allowed}]" if allowed and self.kind != "choice" else "")
        if self.required:
            text += " (required)"
        if self.when:
            text += (
                " (with "
                + " and ".join(
                    f"--{key.replace('_', '-')} "
                    + " or ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
                    for key, values in self.when
                )
                + ")"
            )
        metavar = self.placeholder or (f"[{allowed}]" if self.kind == "choice" else self.metavar)
        return click.Option(
            [self.option, *self.aliases, self.name],
            type=click.STRING,
            multiple=self.multiple,
            metavar=metavar,
            default=None,
            show_default=False,
            envvar=self.envvar,
            show_envvar=self.envvar is not None,
            help=text + (f" (default: {self._json_default()})" if self.default is not None else ""),
        )


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


@dataclasses.dataclass(frozen=True)
class Path(Param):
    """A file path (a folder with ``folder=True``). ``must_exist`` is checked at validation, so
    a missing style image is refused before any frame is decoded. ``suffixes`` limit the file
    types (and filter the Blender file browser)."""

    must_exist: bool = True
    suffixes: tuple[str, ...] = ()
    folder: bool = False
    kind: ClassVar[str] = "path"
    metavar: ClassVar[str] = "PATH"

    def _convert_one(self, value: Any) -> _Path:
        path = _Path(value).expanduser()
        if self.must_exist and not path.exists():
            raise ParameterError(
                f"{self.name}: {str(path)!r} does not exist",
                hint=f"check the path given to {self.option}",
            )
        if self.must_exist and path.is_dir() != self.folder:
            what = "a folder" if self.folder else "a file"
            raise ParameterError(
                f"{self.name}: {str(path)!r} is not {what}", hint=f"give {self.option} {what}"
            )
        if self.suffixes and path.suffix.lower() not in self.suffixes:
            raise ParameterError(
                f"{self.name}: {str(path)!r} has suffix {path.suffix or '(none)'}; "
                f"allowed: {', '.join(self.suffixes)}",
                hint=f"pass {self.option} a supported file",
            )
        return path

    def _json_default(self) -> Any:
        return str(self.default)

    def _schema_one(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "string",
            "format": "path",
            "x-must-exist": self.must_exist,
            "x-folder": self.folder,
        }
        if self.suffixes:
            out["x-suffixes"] = list(self.suffixes)
        return out


@dataclasses.dataclass(frozen=True)
class Boxes(Path):
    """A region per frame: a JSON file of keyframed boxes in the layout of
    :mod:`neuralfx.regions` (the Blender add-on writes it from a tracking marker). The value is
    the file's path; the effect reads it with :func:`neuralfx.regions.read_boxes`."""

    suffixes: tuple[str, ...] = (".json",)
    kind: ClassVar[str] = "boxes"

    def _convert_one(self, value: Any) -> _Path:
        path = super()._convert_one(value)
        if self.must_exist:
            from .regions import read_boxes  # checks the layout before any frame is decoded

            try:
                read_boxes(path)
            except ParameterError as exc:
                raise ParameterError(f"{self.name}: {exc.message}", hint=exc.hint) from None
        return path


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


# -- parameters declared as dataclass fields ---------------------------------------------------
def field(
    kind: type[Param], default: Any = None, *, metadata: Mapping | None = None, **declared: Any
):
    """A dataclass field that is also a ``kind`` parameter named after the field (``declared``:
    its help, limits, choices...): one declaration for a settings class (``RunOptions``, a
    trainer's config) and its command-line options. :func:`fields_of` gives the parameters."""
    return dataclasses.field(
        default=default, metadata={**(metadata or {}), "param": (kind, declared)}
    )


def fields_of(cls: type) -> tuple[Param, ...]:
    """The parameters declared by :func:`field` on the dataclass ``cls``, in order."""
    out = []
    for f in dataclasses.fields(cls):
        if "param" in f.metadata:
            kind, declared = f.metadata["param"]
            default = None if f.default is dataclasses.MISSING else f.default
            out.append(kind(f.name, default=default, **declared))
    return tuple(out)


def from_text(cls: type, given: Mapping[str, Any]):
    """An instance of the dataclass ``cls`` from command-line values (text, or None where an
    option was not given: the field's default), each converted by its declaration."""
    by_name = {p.name: p for p in fields_of(cls)}
    return cls(
        **{
            k: by_name[k].convert(v)
            for k, v in given.items()
            if v is not None or by_name[k].required
        }
    )
