"""Parameters declared as dataclass fields: one declaration for a settings class
(``RunOptions``, a trainer's config) and its command-line options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .base import Param


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
