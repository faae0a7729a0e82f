"""The face pipeline's parameters that effects declare (plain data: no torch, no dlib):
:data:`PARAMS`, the ones every face effect shares, declared once here."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from .. import params
from ..errors import ParameterError, did_you_mean
from ..params import Param


def no_face_hint(detector: str, min_face: int) -> str:
    """What to try when a detector found no face: the other built-in detector, or smaller
    faces (never "try cnn" to someone who used it)."""
    name = str(detector).partition(":")[0]
    other = "hog (small frontal faces)" if name == "cnn" else "cnn (turned and small faces)"
    return (
        f"try --detector {other} or a --min-face below {min_face} (`neuralfx faces list` "
        "shows what is found)"
    )


def parse_detector(text: str) -> tuple[str, dict[str, Any]]:
    """``"haar:min_neighbors=10,scale=1.1"`` → ``("haar", {"min_neighbors": 10, "scale":
    1.1})``: a detector's name and the options its factory takes (numbers, true/false or
    text); ValueError saying what is wrong."""
    name, _, rest = str(text).strip().partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip().isidentifier():
            raise ValueError(f"{item!r} is not option=value")
        options[key.strip()] = _option_value(value.strip())
    return name, options


def _option_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


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
        self._check_name()

    @property
    def choices(self) -> tuple[str, ...]:
        from ..host.plugins import get_host

        return tuple(sorted(get_host().face_detectors))

    def _convert_one(self, value: Any) -> str:
        text, known = str(value).strip(), self.choices
        try:
            name, _ = parse_detector(text)
        except ValueError as exc:
            raise ParameterError(
                f"{self.name}: {text!r}: {exc}",
                hint=f"pass {self.option} NAME or NAME:option=value,...",
            ) from None
        if name not in known:
            raise ParameterError(
                f"{self.name}: {name!r} is not a face detector here",
                hint=did_you_mean(name, known)
                or f"pass {self.option} with one of {', '.join(known)} (plugins "
                "add more: `neuralfx plugins`)",
            )
        return text

    def describe_allowed(self) -> str:
        return "|".join(self.choices)

    def _schema_one(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


#: The face parameters every face effect shares (``params=(..., *PARAMS)``): which faces, the
#: detector (``name`` or ``name:option=value,...``), the smallest face, how long a lost face
#: is held, and how a face is blended back.
PARAMS = (
    params.Text(
        "faces",
        default="all",
        pattern=r"all|\d+(,\d+)*",
        example="1,3",
        help="Which faces: all, or track ids as `neuralfx faces list` shows them.",
    ),
    FaceDetector(
        "detector",
        help="Face detector: hog (fast), cnn (turned and small faces), or "
        "one a plugin adds; NAME:option=value,... passes options "
        "to it.",
    ),
    params.Int(
        "min_face",
        default=64,
        min=16,
        max=2048,
        soft_max=256,
        help="Smallest face to find, in pixels (wide); smaller is slower.",
    ),
    params.Int(
        "hold",
        default=5,
        min=0,
        max=100,
        soft_max=24,
        help="Frames a face the detector loses is kept for.",
    ),
    params.Choice(
        "blend",
        default="feather",
        choices=("feather", "seamless"),
        help="Blending back: a feathered mask, or Poisson (seamless) cloning.",
    ),
)
