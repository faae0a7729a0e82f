"""Run options: everything about a run that is not the effect's own settings.

Plain data, checked before anything is opened; this module imports neither torch nor codecs,
so the CLI builds its options from it without paying for them.
"""

from __future__ import annotations

import dataclasses
import fractions
import math
import os
import re

from .errors import ParameterError
from .executors import EXECUTORS

CHANNEL_MODES = ("auto", "gray", "rgb", "rgba")
DEPTHS = ("8", "16", "half", "float")
MISSING_POLICIES = ("error", "skip")
#: What becomes of NaN and infinite samples (see RunOptions.nonfinite).
NONFINITE_POLICIES = ("error", "clamp", "zero")
PRECISION_NAMES = ("fp32", "fp16", "bf16")
VIDEO_CODEC_NAMES = ("h264", "prores")
PROGRESS_MODES = ("auto", "bar", "json", "none")
#: Frame rate of video made from image sequences when --fps is not given (film and most VFX).
DEFAULT_FPS = fractions.Fraction(24)
_NTSC = {"23.976": fractions.Fraction(24000, 1001), "29.97": fractions.Fraction(30000, 1001),
         "59.94": fractions.Fraction(60000, 1001), "47.952": fractions.Fraction(48000, 1001)}


def parse_fps(text: str | float | fractions.Fraction) -> fractions.Fraction:
    """``24``, ``25``, ``23.976`` (= 24000/1001), ``30000/1001`` → an exact frame rate."""
    raw = str(text).strip()
    try:
        if raw in _NTSC:
            fps = _NTSC[raw]
        elif re.fullmatch(r"\d+/\d+", raw):
            fps = fractions.Fraction(raw)
        else:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            fps = fractions.Fraction(value).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        fps = fractions.Fraction(0)
    if not 0 < fps <= 1000:
        raise ParameterError(f"fps: {text!r} is not a frame rate",
                             hint="give frames per second such as 24, 25, 23.976 or 30000/1001")
    return fps


@dataclasses.dataclass
class RunOptions:
    """Everything about a run but the effect's own settings (see ``neuralfx run --help``)."""

    frames: str | None = None
    missing: str = "error"
    #: The EXR layer to process (default: the beauty; neuralfx.frames.exr.pick)
    layer: str | None = None
    #: NaN and infinite samples: "error" (where they cannot be kept: effects that cannot take
    #: them, integer outputs), "clamp" (NaN 0, infinities ±65504, so white
    #: or black once integer), "zero" (all 0); float outputs keep them under "error"
    nonfinite: str = "error"
    overwrite: bool = False
    #: False: a stateful effect gets only the frames asked for, without the earlier frames it
    #: would replay (a preview of the look; such frames never mix with a full run's)
    history: bool = True
    #: When another run is writing the same output: wait for it to end (else refuse)
    wait: bool = False
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False  # torch.compile the effect's networks (RunContext.optimise)
    batch_size: int | str = "auto"
    workers: int | None = None
    ocio: str | None = None
    input_colorspace: str | None = None
    output_colorspace: str | None = None
    depth: str = "auto"
    channels: str = "auto"
    quality: int = 95
    codec: str | None = None
    crf: int = 18
    fps: str | float | None = None
    watermark: bool = False
    label: str | None = None
    label_corner: str = "bottom-right"
    label_opacity: float = 0.8
    c2pa_cert: str | None = None  # PEM chain: sign a C2PA manifest into every output file
    c2pa_key: str | None = None
    executor: str = "local"  # or "ray" (neuralfx.executors.ray)
    ray_address: str | None = None  # an existing cluster; None starts a local one
    actors: int | None = None  # Ray actors (default: one per GPU, else one per 2 CPUs)
    #: Set by the Ray executor on the runs of its actors: this run is one shard of a larger
    #: one, so it appends to its own journal part and leaves the cleaning to the driver.
    shard: str | None = None

    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    def frame_rate(self) -> fractions.Fraction | None:
        return None if self.fps is None else parse_fps(self.fps)

    def check(self) -> None:
        """Refuse impossible values with the option's name, before any file is opened."""
        for name, value, allowed in (("depth", self.depth, ("auto",) + DEPTHS),
                                     ("channels", self.channels, CHANNEL_MODES),
                                     ("missing", self.missing, MISSING_POLICIES),
                                     ("nonfinite", self.nonfinite, NONFINITE_POLICIES),
                                     ("precision", self.precision, PRECISION_NAMES)):
            if value not in allowed:
                raise ParameterError(f"{name}: {value!r} is not one of " + ", ".join(allowed),
                                     hint=f"pass --{name} with one of " + ", ".join(allowed))
        if self.codec is not None and self.codec not in VIDEO_CODEC_NAMES:
            raise ParameterError(f"codec: {self.codec!r} is not one of "
                                 + ", ".join(VIDEO_CODEC_NAMES))
        for name, value, lo, hi in (("quality", self.quality, 1, 100),
                                    ("crf", self.crf, 0, 51)):
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ParameterError(f"{name}: {value} is out of range; allowed: {lo} to {hi}",
                                     hint=f"pass --{name} with a whole number from {lo} to {hi}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ParameterError(f"workers: {self.workers} must be at least 1",
                                 hint="pass --workers N with N >= 1, or leave it out (one per "
                                      "CPU core)")
        if self.batch_size != "auto":
            try:
                size = int(self.batch_size)
            except ValueError:
                size = 0
            if size < 1:
                raise ParameterError(f"batch-size: {self.batch_size!r} must be auto or a whole "
                                     "number of at least 1", hint="pass --batch-size auto or N")
        if self.executor not in EXECUTORS:
            raise ParameterError(f"executor: {self.executor!r} is not one of "
                                 + ", ".join(EXECUTORS))
        if self.actors is not None and (not isinstance(self.actors, int) or self.actors < 1):
            raise ParameterError(f"actors: {self.actors} must be at least 1",
                                 hint="pass --actors N with N >= 1, or leave it out")
        if self.executor != "ray" and (self.ray_address or self.actors):
            raise ParameterError("address/actors: these are for --executor ray",
                                 hint="add --executor ray, or leave --address and --actors out")
        self.frame_rate()
        from .marking import check_label_options

        check_label_options(self.label_corner, self.label_opacity)
