"""The face pipeline's parameters that effects declare (plain data: no torch, no dlib)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..errors import ParameterError, did_you_mean
from ..params import _NAME, Param


@dataclasses.dataclass(frozen=True)
class FaceDetector(Param):
    """The name of a face detector: ``hog``, ``cnn`` or one a plugin registers
    (``register_face_detectors``). An unknown name is refused with the settings, before the
    run starts; the schema lists the detectors of the host (a menu in the Blender panel)."""

    default: Any = "hog"
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        # The default is not checked here: declarations are read while the host loads the
        # plugins that register detectors.
        if not _NAME.match(self.name):
            raise ValueError(f"parameter name {self.name!r} must be snake_case ascii")

    @property
    def choices(self) -> tuple[str, ...]:
        from ..plugins import get_host

        return tuple(sorted(get_host().face_detectors))

    def _convert_one(self, value: Any) -> str:
        text, known = str(value).strip(), self.choices
        if text not in known:
            raise ParameterError(f"{self.name}: {text!r} is not a face detector here",
                                 hint=did_you_mean(text, known) or
                                 f"pass {self.option} with one of {', '.join(known)} (plugins "
                                 "add more: `neuralfx plugins`)")
        return text

    def describe_allowed(self) -> str:
        return "|".join(self.choices)

    def _schema_one(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}
