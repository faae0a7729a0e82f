"""OpenEXR files as compositors write them: several parts, several layers, overscan.

A *layer* is the channels of one part that share a prefix: ``R``, ``G``, ``B``, ``A`` (no
prefix), ``ViewLayer.Combined.R`` … (Blender's *OpenEXR MultiLayer*: layer
``ViewLayer.Combined``), ``diffuse.R`` … (Nuke). An effect processes one *colour* layer, picked
with ``--layer`` or by default (:func:`pick`); everything else in the file (the other parts and
layers, every channel's name, pixel type and sampling, the data and display windows, the header
attributes) is carried into an EXR output unchanged (:func:`write_over`), and its pixels are
bit-exact. The processed picture is the layer's data window: an overscan border is processed
with the rest and stays where it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import OpenEXR

from .timecode import parse as parse_timecode

#: The channels of a colour layer, by how many there are, in the order pixels hold them.
COLOUR_CHANNELS = {4: ("R", "G", "B", "A"), 3: ("R", "G", "B"), 2: ("Y", "A"), 1: ("Y",)}
#: Layer names (their last component, any case) that hold the picture itself.
BEAUTY_NAMES = ("combined", "rgba", "beauty", "composite")


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer: its ``name`` as ``--layer`` takes it, the ``part`` it sits in, the channel
    ``prefix`` (``""`` or ending in a dot) and the suffixes of its colour channels (empty for
    a layer that holds no picture, such as ``Depth.Z`` or ``Normal.X/Y/Z``)."""

    name: str
    part: int
    prefix: str
    colour: tuple[str, ...]

    def channel_names(self) -> list[str]:
        return [self.prefix + c for c in self.colour]


@dataclasses.dataclass
class ExrFile:
    """Every part of a file: ``(name, header without its channel list, channels)``."""

    parts: list[tuple[str, dict, dict[str, OpenEXR.Channel]]]

    def layers(self) -> list[Layer]:
        found = []
        names = [_layers_of(channels) for _, _, channels in self.parts]
        multipart = len(self.parts) > 1
        for index, ((part_name, _, _), groups) in enumerate(zip(self.parts, names)):
            for prefix, suffixes in groups.items():
                name = prefix[:-1] if prefix else (part_name if multipart and part_name else "rgba")
                if multipart and prefix and sum(prefix in g for g in names) > 1:
                    name = f"{part_name}/{name}"
                found.append(Layer(name, index, prefix, _colour_of(suffixes)))
        return found

    def channel_list(self) -> str:
        return ", ".join(sorted(c for _, _, chans in self.parts for c in chans))

    def pixels(self, layer: Layer) -> np.ndarray:
        """``(H, W, C)`` samples of a colour layer (its data window), half or float."""
        channels = self.parts[layer.part][2]
        planes = [channels[n].pixels for n in layer.channel_names()]
        dtype = np.result_type(*planes)
        if dtype not in (np.float16, np.float32):
            dtype = np.float32
        return np.stack([p.astype(dtype, copy=False) for p in planes], axis=-1)


def _layers_of(channels: dict) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for full in channels:
        prefix, _, suffix = full.rpartition(".")
        groups.setdefault(prefix + "." if prefix else "", set()).add(suffix)
    return groups


def _colour_of(suffixes: set[str]) -> tuple[str, ...]:
    """The colour channels among a layer's suffixes, or () if it holds no picture (``Y`` among
    ``X``, ``Y``, ``Z`` is a vector's component, not luminance)."""
    for names in COLOUR_CHANNELS.values():
        if set(names) <= suffixes and not (names[0] == "Y" and suffixes & {"X", "Z"}):
            return names
    return ()


def read(path: str, header_only: bool = False) -> ExrFile:
    """Every part, header and channel of ``path`` (raises ValueError if it is not EXR);
    ``header_only``: the channels without their pixels (enough to list and pick layers)."""
    if not OpenEXR.isOpenExrFile(path):
        raise ValueError("not an OpenEXR file")
    with OpenEXR.File(path, separate_channels=True, header_only=header_only) as exr:
        parts = [
            (
                part.name(),
                {k: v for k, v in part.header.items() if k != "channels"},
                {c.name: c for c in part.header["channels"]}
                if header_only
                else dict(part.channels),
            )
            for part in exr.parts
        ]
        listed = [len(part.header["channels"]) for part in exr.parts]
    if not parts or [len(channels) for _, _, channels in parts] != listed:
        # (the library reports a damaged chunk and returns the part without its pixels)
        raise ValueError("its pixel data is damaged or cut short")
    for _, header, _ in parts:
        if header.get("type") in (OpenEXR.deepscanline, OpenEXR.deeptile):
            raise ValueError(
                "it holds deep data (several samples a pixel), which effects "
                "cannot process; flatten it first (Nuke: DeepToImage)"
            )
    return ExrFile(parts)


def timecode(path: str) -> str | None:
    """The SMPTE timecode in the header of ``path``'s first part (scanners, debayering tools and
    compositors write it), spelt as video files spell it; None without one."""
    try:
        header = read(path, header_only=True).parts[0][1]
    except (ValueError, OSError, RuntimeError):
        return None
    code = header.get("timeCode")
    if code is None:
        return None
    separator = ";" if code.dropFrame else ":"
    return f"{code.hours:02d}:{code.minutes:02d}:{code.seconds:02d}{separator}{code.frame:02d}"


def timecode_attribute(text: str) -> OpenEXR.TimeCode | None:
    """A ``timeCode`` header attribute from a timecode as video files spell it."""
    parts = parse_timecode(text)
    if parts is None:
        return None
    code = OpenEXR.TimeCode()
    code.hours, code.minutes, code.seconds, code.frame, code.dropFrame = parts
    return code


def pick(exr: ExrFile, wanted: str | None) -> Layer:
    """The layer ``--layer wanted`` names (its full name, or its last component if that is
    unique), else the beauty: the unprefixed RGB(A) of the first part that has one, a layer
    called Combined/rgba/beauty, or the only colour layer. ValueError says what there is."""
    layers = exr.layers()
    colour = [la for la in layers if la.colour]
    listing = ", ".join(la.name for la in colour) or "none"
    if wanted is not None:
        matches = [la for la in layers if la.name == wanted] or [
            la for la in layers if la.name.rsplit(".", 1)[-1].rsplit("/", 1)[-1] == wanted
        ]
        if len(matches) != 1:
            what = "is ambiguous" if matches else "is not in the file"
            raise LayerError(
                f"layer {wanted!r} {what} (colour layers: {listing})",
                "pass --layer with one of the colour layers",
            )
        if not matches[0].colour:
            raise LayerError(
                f"layer {wanted!r} holds no R,G,B or Y channels (its channels: "
                + ", ".join(sorted(_channels_of(exr, matches[0])))
                + ")",
                f"pass --layer with one of the colour layers: {listing}",
            )
        return matches[0]
    # the first part's plain RGB(A) (a part is the beauty by convention), then Blender's and
    # Nuke's names for the beauty; else a single colour layer is the picture
    preferred = _unprefixed(colour) + _beauty(colour)
    if preferred or len(colour) == 1:
        return (preferred or colour)[0]
    if not colour:
        raise LayerError(
            "it has no colour layer: no R,G,B or Y channels, with or without a "
            f"layer prefix (channels: {exr.channel_list()})",
            "give a file with a colour layer, or rename its channels",
        )
    raise LayerError(
        f"it has {len(colour)} colour layers and none is the beauty: {listing}",
        "pass --layer NAME to choose the one to process",
    )


def _unprefixed(colour: list[Layer]) -> list[Layer]:
    return [la for la in colour if not la.prefix]


def _beauty(colour: list[Layer]) -> list[Layer]:
    return [
        la for la in colour if la.name.rsplit(".", 1)[-1].rsplit("/", 1)[-1].lower() in BEAUTY_NAMES
    ]


def _channels_of(exr: ExrFile, layer: Layer) -> Iterator[str]:
    return (
        n
        for n in exr.parts[layer.part][2]
        if n.startswith(layer.prefix) and "." not in n[len(layer.prefix) :]
    )


class LayerError(ValueError):
    """A layer that is not there or not a picture; ``hint`` says what to pass instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def write_over(path: str, original: ExrFile, layer: Layer, pixels: np.ndarray) -> bool:
    """Write ``original`` to ``path`` with ``layer``'s colour channels replaced by ``pixels``
    ``(H, W, C)`` (half or float; C may differ from the layer's: the layer gets the channels C
    needs, under its prefix). False, writing nothing, if the pixels no longer fit the layer's
    data window (the effect changed the frame's size)."""
    name, header, channels = original.parts[layer.part]
    some = channels[layer.channel_names()[0]].pixels
    if pixels.shape[:2] != some.shape:
        return False
    channels = {k: v for k, v in channels.items() if k not in set(layer.channel_names())}
    for i, suffix in enumerate(COLOUR_CHANNELS[pixels.shape[2]]):
        channels[layer.prefix + suffix] = np.ascontiguousarray(pixels[:, :, i])
    parts = list(original.parts)
    parts[layer.part] = (name, header, channels)
    if len(parts) == 1:
        with OpenEXR.File(parts[0][1], parts[0][2]) as exr:
            exr.write(path)
    else:
        with OpenEXR.File([OpenEXR.Part(h, c, n) for n, h, c in parts]) as exr:
            exr.write(path)
    return True
