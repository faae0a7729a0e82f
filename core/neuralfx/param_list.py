"""What the host does with an effect's parameters as a whole: check the declaration's
conditions, validate a run's values, and give the settings' JSON schema (what ``describe``
prints and the Blender panel reads). The parameter kinds are in :mod:`neuralfx.params`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ParameterError, did_you_mean
from .params import Param


def validate(params: Sequence[Param], values: Mapping[str, Any], *, owner: str) -> dict[str, Any]:
    """Check ``values`` against ``params``; return every parameter's value (defaults filled in).

    Unknown names are refused with the closest known names; ``owner`` (the effect's name) is
    used in the message.
    """
    by_name = {p.name: p for p in params}
    for key in values:
        norm = key.replace("-", "_")
        if norm not in by_name:
            guess = did_you_mean(norm, by_name)
            known = ", ".join(p.name for p in params) or "(none)"
            raise ParameterError(
                f"{owner} has no parameter {key!r}", hint=guess or f"its parameters are: {known}"
            )
    given = {k.replace("-", "_"): v for k, v in values.items()}
    return {p.name: p.convert(given.get(p.name)) for p in params}


def check_conditions(params: Sequence[Param], *, owner: str) -> None:
    """A declaration's ``when`` conditions must name its other parameters and values they
    take (a mistake there is the effect's bug: it fails when the effect is declared)."""
    by_name = {p.name: p for p in params}
    for p in params:
        for key, values in p.when or ():
            if key not in by_name or key == p.name:
                raise ValueError(
                    f"{owner}: {p.name}'s condition names {key!r}, not another of its parameters"
                )
            for value in values:
                try:
                    by_name[key].convert(value)
                except ParameterError as exc:
                    raise ValueError(f"{owner}: {p.name}'s condition: {exc.message}") from None


def json_schema(params: Sequence[Param]) -> dict[str, Any]:
    """The JSON schema of an effect's settings object."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {p.name: p.schema() for p in params},
        "required": [p.name for p in params if p.required],
    }
