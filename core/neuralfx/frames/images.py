"""Still-image codecs: PNG, JPEG, TIFF and WebP through OpenCV, EXR through the OpenEXR package.

Pixels are numpy arrays ``(H, W, C)`` with channels in RGB(A) order (gray is ``(H, W, 1)``,
gray+alpha ``(H, W, 2)``), in the file's own dtype: uint8, uint16, float16 or float32. Both
libraries release the GIL while coding, so a thread pool decodes and encodes in parallel.
Every write is atomic (see :mod:`neuralfx.frames.atomic`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import cv2
import numpy as np
import OpenEXR

from ..errors import FrameError, UnknownNameError
from ..options import DEPTHS  # noqa: F401  (output depths, as spelt on the command line)
from . import exr
from .atomic import atomic_path

_DTYPE_DEPTH = {
    np.dtype(np.uint8): "8",
    np.dtype(np.uint16): "16",
    np.dtype(np.float16): "half",
    np.dtype(np.float32): "float",
}


@dataclasses.dataclass(frozen=True)
class ImageFormat:
    name: str
    suffixes: tuple[str, ...]
    depths: tuple[str, ...]
    alpha: bool

    def pick_depth(self, source_depth: str, requested: str = "auto") -> str:
        """The depth to write: ``requested`` if this format can hold it, else the closest
        depth to ``source_depth`` that it can."""
        if requested != "auto":
            if requested not in self.depths:
                raise UnknownNameError(
                    f"{self.name} cannot be written at depth {requested}",
                    hint=f"{self.name} depths: {', '.join(self.depths)}",
                )
            return requested
        preference = {
            "8": ("8", "half", "16", "float"),
            "16": ("16", "float", "half", "8"),
            "half": ("half", "float", "16", "8"),
            "float": ("float", "half", "16", "8"),
        }
        return next(d for d in preference[source_depth] if d in self.depths)


FORMATS = (
    ImageFormat("PNG", (".png",), ("8", "16"), alpha=True),
    ImageFormat("JPEG", (".jpg", ".jpeg"), ("8",), alpha=False),
    ImageFormat("TIFF", (".tif", ".tiff"), ("8", "16", "float"), alpha=True),
    ImageFormat("EXR", (".exr",), ("half", "float"), alpha=True),
    # Style and reference images from the web often come as WebP.
    ImageFormat("WebP", (".webp",), ("8",), alpha=True),
)
_BY_SUFFIX = {s: f for f in FORMATS for s in f.suffixes}


def image_format(path: str) -> ImageFormat | None:
    return _BY_SUFFIX.get(os.path.splitext(path)[1].lower())


def depth_of(pixels: np.ndarray) -> str:
    return _DTYPE_DEPTH[pixels.dtype]


# -- reading ----------------------------------------------------------------------------------
def stores_bgr(path: str) -> bool:
    """Whether the codec of ``path`` (OpenCV's) holds colour as BGR(A): reading and writing
    such a file with ``bgr=True`` skips a channel swap each way."""
    fmt = image_format(path)
    return fmt is not None and fmt.name != "EXR"


def read_image(
    path: str, frame: int | None = None, *, bgr: bool = False, layer: str | None = None
) -> np.ndarray:
    """Decode ``path``; raise :class:`FrameError` naming the file and frame if it is unreadable.
    ``bgr``: colour as the codec stores it (see :func:`stores_bgr`), else RGB(A). ``layer``:
    the EXR layer to read (:func:`neuralfx.frames.exr.pick`; default: the beauty)."""
    fmt = image_format(path)
    where = f"frame {frame} ({path})" if frame is not None else path
    if fmt is None:
        raise UnknownNameError(
            f"{path}: unsupported image format",
            hint="readable formats: " + ", ".join(sorted(_BY_SUFFIX)),
        )
    try:
        if os.path.getsize(path) == 0:
            raise ValueError("the file is empty")
        if fmt.name == "EXR":
            image = exr.read(path)
            pixels = image.pixels(exr.pick(image, layer))
        else:
            pixels = _read_cv2(path, fmt, bgr)
    except FileNotFoundError:
        raise FrameError(
            f"{where} does not exist", hint="check the input path", frame=frame, path=path
        ) from None
    except exr.LayerError as exc:
        raise FrameError(f"{where}: {exc}", hint=exc.hint, frame=frame, path=path) from None
    except (ValueError, OSError, RuntimeError, cv2.error) as exc:
        raise FrameError(
            f"{where} cannot be read: {exc}",
            hint="the file is corrupt or truncated: render it again, or leave it out with --frames",
            frame=frame,
            path=path,
        ) from None
    if pixels.dtype not in _DTYPE_DEPTH:
        raise FrameError(
            f"{where} has unsupported sample type {pixels.dtype}",
            hint="convert it to 8/16-bit integer or half/float",
            frame=frame,
            path=path,
        )
    return pixels


def _read_cv2(path: str, fmt: ImageFormat, bgr: bool = False) -> np.ndarray:
    flags = cv2.IMREAD_UNCHANGED
    if fmt.name == "JPEG":
        _check_jpeg_complete(path)  # libjpeg pads a truncated file with grey and only warns
        # Turned as its EXIF orientation says, as viewers show it (phone photos are stored
        # on their side): IMREAD_UNCHANGED would ignore it. A JPEG has no alpha to lose.
        flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH
    data = cv2.imread(path, flags)
    if data is None:
        raise ValueError("the decoder rejected it")
    if data.ndim == 2:
        return data[:, :, None]
    conversion = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}.get(data.shape[2])
    if conversion is None:
        raise ValueError(f"{data.shape[2]} channels are not supported")
    return data if bgr else cv2.cvtColor(data, conversion)


def _check_jpeg_complete(path: str) -> None:
    with open(path, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            raise ValueError("not a JPEG file")
        f.seek(max(0, os.path.getsize(path) - 64))
        if b"\xff\xd9" not in f.read():
            raise ValueError("the JPEG data is truncated (no end-of-image marker)")


# -- writing ----------------------------------------------------------------------------------
def write_image(
    path: str,
    pixels: np.ndarray,
    *,
    quality: int = 95,
    before_commit: Callable[[str], None] | None = None,
    bgr: bool = False,
    carry: Callable[[], tuple[exr.ExrFile, exr.Layer]] | None = None,
    timecode: str | None = None,
) -> bool:
    """Encode ``pixels`` (see module doc) to ``path`` atomically, in the dtype given;
    ``before_commit(tmp)`` runs once the temporary file is complete, before the rename.
    ``bgr``: 3- and 4-channel pixels are BGR(A), as :func:`read_image` gave them. ``carry``:
    for an EXR output, the source file and layer the pixels replace, so that every other part,
    layer and header attribute is written too (:func:`neuralfx.frames.exr.write_over`).
    Returns False where ``carry`` was given but could not be honoured (the size changed).
    ``timecode``: the frame's SMPTE timecode, for the header of an EXR written afresh (one
    written over its source keeps the source's header)."""
    fmt = image_format(path)
    if fmt is None:
        raise UnknownNameError(
            f"{path}: unsupported image format",
            hint="writable formats: " + ", ".join(sorted(_BY_SUFFIX)),
        )
    if bgr and pixels.shape[2] >= 3 and fmt.name == "EXR":
        pixels = to_rgb(pixels)
    carried = True
    with atomic_path(path, before_commit) as tmp:
        if fmt.name == "EXR":
            carried = carry is not None and exr.write_over(tmp, *carry(), pixels)
            if not carried:
                _write_exr(tmp, pixels, timecode)
        else:
            _write_cv2(tmp, pixels, fmt, quality, bgr)
    return carried or carry is None


def to_rgb(bgr: np.ndarray) -> np.ndarray:
    """BGR(A) samples (3 or 4 channels, any dtype) as RGB(A); the swap is its own inverse."""
    return np.ascontiguousarray(bgr[:, :, [2, 1, 0, 3][: bgr.shape[2]]])


def _write_cv2(
    path: str, pixels: np.ndarray, fmt: ImageFormat, quality: int, bgr: bool = False
) -> None:
    channels = pixels.shape[2]
    if channels == 2:  # gray + alpha: OpenCV has no such layout, so store as RGBA
        pixels = np.concatenate([pixels[:, :, :1]] * 3 + [pixels[:, :, 1:]], axis=2)
        channels = 4
    if channels == 1:
        data = pixels[:, :, 0]
    elif bgr:
        data = pixels
    else:
        data = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    params = {
        "JPEG": [cv2.IMWRITE_JPEG_QUALITY, quality],
        "WebP": [cv2.IMWRITE_WEBP_QUALITY, quality],
    }.get(fmt.name, [])
    if fmt.name == "TIFF":
        # OpenCV writes float32 TIFF uncompressed by default; deflate keeps files reasonable.
        params = [cv2.IMWRITE_TIFF_COMPRESSION, 8 if pixels.dtype != np.float32 else 1]
    if not cv2.imwrite(path, data, params):
        raise OSError(f"OpenCV could not write {path}")


def _write_exr(path: str, pixels: np.ndarray, timecode: str | None = None) -> None:
    names = {1: "Y", 2: "YA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage}
    code = exr.timecode_attribute(timecode) if timecode else None
    if code is not None:
        header["timeCode"] = code
    channels = {n: np.ascontiguousarray(pixels[:, :, i]) for i, n in enumerate(names)}
    with OpenEXR.File(header, channels) as out:
        out.write(path)
