"""Colour-space conversion between source files, effects and outputs.

Two spaces are built in and always available: ``srgb`` (display-referred, sRGB transfer function,
what 8/16-bit files and video hold) and ``linear`` (scene-linear with Rec.709/sRGB primaries,
what EXR and float TIFF hold by default); ``raw`` means "do not convert". With an OpenColorIO
config (``--ocio``, e.g. ``ocio://default``, which ships inside OpenColorIO and works offline)
any colour space of the config may be named, and ``srgb``/``linear`` are found in it by their
usual names and aliases.

Conversions run on the CPU in the decode/encode workers (OpenColorIO's CPU processor and numpy
both release the GIL) on float32 ``(H, W, 3)`` arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import UnknownNameError, did_you_mean

BUILTIN_SPACES = ("srgb", "linear", "raw")

Converter = Callable[[np.ndarray], np.ndarray]

# How the built-in names are spelt in OpenColorIO configs (ACES/CG configs list these aliases).
_OCIO_NAMES = {
    "srgb": ("srgb_tx", "srgb_texture", "sRGB - Texture", "Utility - sRGB - Texture", "sRGB"),
    "linear": (
        "lin_rec709",
        "lin_srgb",
        "Linear Rec.709 (sRGB)",
        "Utility - Linear - sRGB",
        "scene_linear",
        "linear",
    ),
    "raw": ("raw", "Raw", "Utility - Raw", "data", "none"),
}


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding; negative values are mirrored, values above 1 extended."""
    a = np.abs(x)
    out = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return np.copysign(out, x).astype(np.float32, copy=False)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding; the inverse of :func:`srgb_to_linear`."""
    a = np.abs(x)
    out = np.where(a <= 0.0031308, a * 12.92, 1.055 * np.power(a, 1 / 2.4) - 0.055)
    return np.copysign(out, x).astype(np.float32, copy=False)


class ColourSpaces:
    """Resolves colour-space names and builds converters, with or without an OCIO config."""

    def __init__(self, ocio_config: str | None = None) -> None:
        self.ocio_config = ocio_config
        self._config = None
        if ocio_config:
            import PyOpenColorIO as ocio

            try:
                self._config = ocio.Config.CreateFromFile(ocio_config)
            except Exception as exc:
                raise UnknownNameError(
                    f"cannot load OpenColorIO config {ocio_config!r}: {exc}",
                    hint="give a path to a config.ocio file or a built-in config such as "
                    "ocio://default",
                ) from None

    def names(self) -> list[str]:
        if self._config is None:
            return list(BUILTIN_SPACES)
        return list(BUILTIN_SPACES) + [cs.getName() for cs in self._config.getColorSpaces()]

    def resolve(self, name: str) -> str:
        """The canonical name of ``name`` (built-in names stay as they are)."""
        if self._config is None:
            if name in BUILTIN_SPACES:
                return name
            hint = (
                "without --ocio the colour spaces are "
                + ", ".join(BUILTIN_SPACES)
                + "; pass --ocio CONFIG (for example ocio://default) to use others"
            )
            guess = did_you_mean(name, BUILTIN_SPACES)
            raise UnknownNameError(
                f"unknown colour space {name!r}", hint=f"{guess} ({hint})" if guess else hint
            )
        candidates = _OCIO_NAMES.get(name, ()) + (name,)
        for candidate in candidates:
            cs = self._config.getColorSpace(candidate)
            if cs is not None:
                return cs.getName()
        raise UnknownNameError(
            f"colour space {name!r} is not in OpenColorIO config {self.ocio_config!r}",
            hint=did_you_mean(name, self.names())
            or "run `neuralfx doctor --ocio CONFIG` to list its colour spaces",
        )

    def converter(self, src: str, dst: str) -> Converter | None:
        """A function converting float32 ``(H, W, 3)`` arrays from ``src`` to ``dst``;
        None when no conversion is needed."""
        if "raw" in (src, dst):
            return None
        src, dst = self.resolve(src), self.resolve(dst)
        if src == dst:
            return None
        if self._config is None:
            return srgb_to_linear if (src, dst) == ("srgb", "linear") else linear_to_srgb
        processor = self._config.getProcessor(src, dst).getDefaultCPUProcessor()

        def apply(rgb: np.ndarray) -> np.ndarray:
            out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
            processor.applyRGB(out)
            return out

        return apply
