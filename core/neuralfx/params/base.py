"""The parameter base class: a name, a default and a help text, and from them validation, the
JSON schema and the click option that every kind (:mod:`.kinds`, :mod:`.paths`) shares."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import click

from ..errors import ParameterError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
        self._check_name()
        if self.when is not None:  # kept hashable, as the declaration is
            object.__setattr__(
                self, "when", tuple((k, tuple(v)) for k, v in dict(self.when).items())
            )
        if self.default is not None:
            # A bad default is a bug in the effect: fail when the effect is declared.
            self.convert(self.default)

    def _check_name(self) -> None:
        """A bad name is a bug in the declaration: fail when the effect is declared."""
        if not _NAME.match(self.name):
            raise ValueError(f"parameter name {self.name!r} must be snake_case ascii")

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
