"""Parameters that name a file or a folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path as _Path
from typing import Any, ClassVar

from ..errors import ParameterError
from .base import Param

#: The still images the host reads (``neuralfx.frames.images.FORMATS``), for a ``Path``
#: parameter's ``suffixes``: reference, example and style images.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".webp")


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
            from ..regions import read_boxes  # checks the layout before any frame is decoded

            try:
                read_boxes(path)
            except ParameterError as exc:
                raise ParameterError(f"{self.name}: {exc.message}", hint=exc.hint) from None
        return path
