"""Sources and sinks: where a run's frames come from and go to.

A :class:`Source` is an image sequence, a single image or a video; it knows its frame numbers
before anything is decoded. A :class:`Sink` is an image sequence, a single image or a video;
output frame numbers are the input frame numbers, so a rerun finds what is already done.
Decoding and encoding of single frames (:meth:`Source.read`, :meth:`Sink.write`) are safe to
call from worker threads; video is decoded and encoded in order by one thread each.
"""

from __future__ import annotations

import dataclasses
import fractions
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import FrameError, OutputError, ParameterError, UnknownNameError
from ..options import MISSING_POLICIES

#: The hidden journal beside the outputs (neuralfx.pipeline.record) ends with this.
RECORD_SUFFIX = ".neuralfx.jsonl"
from . import exr, images, video, video_out
from .atomic import TEMP_MARK
from .sequence import (
    FramePattern,
    describe_frames,
    find_gaps,
    find_glob,
    is_glob,
    parse_frame_range,
)


@dataclasses.dataclass
class Source:
    """Frames to read. ``frames`` are the frames asked for (``--frames``), ``all_frames``
    every frame the source has (what a stateful effect's history and ``analyse`` see).
    ``paths`` maps every frame number → file for sequences and single images;
    ``video_path`` is set for video sources."""

    description: str
    frames: list[int]
    paths: dict[int, str] = dataclasses.field(default_factory=dict)
    video_path: str | None = None
    video_info: video.VideoInfo | None = None
    all_frames: list[int] = dataclasses.field(default_factory=list)
    #: The EXR layer asked for (``--layer``; None: the beauty), and what :meth:`probe` found:
    #: the layer read and the file's other layers (EXR sources only)
    layer: str | None = None
    layer_read: str | None = None
    other_layers: list[str] = dataclasses.field(default_factory=list)
    #: The frame :meth:`probe` decoded, kept for the one :meth:`read` of it (decoded once).
    _probed: tuple[int, np.ndarray] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.all_frames:
            self.all_frames = list(self.frames)

    @property
    def fps(self) -> fractions.Fraction | None:
        return self.video_info.fps if self.video_info else None

    def input_files(self) -> list[str]:
        return [self.video_path] if self.video_path else [self.paths[f] for f in self.all_frames]

    def file_of(self, frame: int) -> str:
        return self.video_path or self.paths[frame]

    def is_exr(self, frame: int) -> bool:
        fmt = None if self.video_path else images.image_format(self.paths[frame])
        return fmt is not None and fmt.name == "EXR"

    def probe(self) -> tuple[int, int, str]:
        """``(width, height, depth)`` of the frames, from the first frame asked for."""
        if self.video_info is not None:
            info = self.video_info
            return info.width, info.height, "16" if info.deep else "8"
        first = self.frames[0]
        pixels = images.read_image(self.paths[first], first, layer=self.layer)
        self._probed = (first, pixels)
        return pixels.shape[1], pixels.shape[0], images.depth_of(pixels)

    def read(self, frame: int, *, bgr: bool = False) -> np.ndarray:
        """Decode one frame of an image source (any thread); ``bgr``: see
        :func:`~neuralfx.frames.images.read_image`."""
        probed, self._probed = self._probed, None
        if probed is not None and probed[0] == frame:
            pixels = probed[1]
            swap = bgr and pixels.shape[2] >= 3 and images.stores_bgr(self.paths[frame])
            return images.to_rgb(pixels) if swap else pixels
        return images.read_image(self.paths[frame], frame, bgr=bgr, layer=self.layer)

    def read_video(self, frames: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        assert self.video_path is not None
        yield from video.read_frames(self.video_path, set(frames))


def open_source(
    text: str, *, frames: str | None = None, missing: str = "error", layer: str | None = None
) -> Source:
    """Find the frames named by ``text`` (pattern, glob, image or video) and ``frames``;
    ``layer``: the EXR layer to read (refused for other sources)."""
    source = _find_source(text, frames, missing)
    first = source.frames[0]
    if not source.is_exr(first):
        if layer is not None:
            raise ParameterError(
                f"layer: {text} is not an EXR file or sequence; --layer picks "
                "a layer of a multi-layer EXR",
                hint="leave --layer out",
            )
        return source
    source.layer, path = layer, source.paths[first]
    try:  # the layer, from the first frame's header: a wrong --layer stops before the run
        image = exr.read(path, header_only=True)
        read = exr.pick(image, layer)
    except exr.LayerError as exc:
        raise FrameError(
            f"frame {first} ({path}): {exc}", hint=exc.hint, frame=first, path=path
        ) from None
    except (ValueError, OSError, RuntimeError):
        return source  # unreadable: reading the frame says so, naming it
    source.other_layers = [la.name for la in image.layers() if la != read]
    if source.other_layers or read.prefix:  # (a plain RGBA file needs no layer named)
        source.layer_read = read.name
    return source


def _find_source(text: str, frames: str | None, missing: str) -> Source:
    if missing not in MISSING_POLICIES:
        raise ParameterError(f"missing: {missing!r} is not one of {', '.join(MISSING_POLICIES)}")
    wanted = parse_frame_range(frames) if frames else None
    if video.is_video_path(text):
        info = video.probe(text)
        count = info.frame_count or video.count_frames(text)
        if count == 0:
            raise FrameError(f"{text} has no frames", hint="give a video with frames", path=text)
        available = list(range(1, count + 1))
        chosen = _choose(text, available, wanted, missing)
        return Source(text, chosen, video_path=text, video_info=info, all_frames=available)
    pattern = FramePattern.parse(text)
    if pattern is not None:
        found = pattern.find()
    elif is_glob(text):
        found = find_glob(text)
    else:
        if not os.path.exists(text):
            raise FrameError(
                f"input {text!r} does not exist",
                hint="give an image, a video or a sequence pattern such as shot.####.exr",
                path=text,
            )
        if os.path.isdir(text):
            raise FrameError(
                f"input {text!r} is a folder",
                hint=f"give a pattern inside it, e.g. {os.path.join(text, '*.png')}",
            )
        _check_image_suffix(text)
        return Source(text, [1], paths={1: text})
    if not found:
        raise FrameError(
            f"no files match {text!r}",
            hint="check the folder and the pattern (#### is four digits)",
            path=text,
        )
    for path in found.values():
        _check_image_suffix(path)
    chosen = _choose(text, sorted(found), wanted, missing)
    return Source(text, chosen, paths=found, all_frames=sorted(found))


def _check_image_suffix(path: str) -> None:
    if images.image_format(path) is None:
        raise UnknownNameError(
            f"{path}: unsupported format {os.path.splitext(path)[1] or '(no suffix)'}",
            hint="inputs can be "
            + ", ".join(
                sorted({s for f in images.FORMATS for s in f.suffixes} | set(video.VIDEO_SUFFIXES))
            ),
        )


def _choose(text: str, available: list[int], wanted: list[int] | None, missing: str) -> list[int]:
    present = set(available)
    if wanted is None:
        absent = find_gaps(available)
        chosen = available
    else:
        absent = [f for f in wanted if f not in present]
        chosen = [f for f in wanted if f in present]
    if absent and missing == "error":
        raise FrameError(
            f"{text}: frame{'s' if len(absent) > 1 else ''} {describe_frames(absent)} "
            f"{'are' if len(absent) > 1 else 'is'} missing (the sequence has "
            f"{describe_frames(available)})",
            hint="render the missing frames, choose others with --frames, or pass "
            "--missing skip to process the frames that exist",
            frame=absent[0],
        )
    if not chosen:
        raise FrameError(
            f"{text}: none of the frames asked for exist (it has {describe_frames(available)})",
            hint="check --frames",
        )
    return chosen


# -- sinks ------------------------------------------------------------------------------------
@dataclasses.dataclass
class Sink:
    """Where frames go. For image outputs :meth:`path` gives each frame's file."""

    target: str
    pattern: FramePattern | None
    image_format: images.ImageFormat | None
    video_codec: str | None

    @property
    def is_video(self) -> bool:
        return self.video_codec is not None

    def path(self, frame: int) -> str:
        return self.pattern.path(frame) if self.pattern else self.target

    def directory(self) -> str:
        return os.path.dirname(self.pattern.prefix if self.pattern else self.target) or "."

    def _hidden_name(self) -> str:
        return (
            os.path.basename(self.pattern.prefix) + "#" + self.pattern.suffix
            if self.pattern
            else os.path.basename(self.target)
        )

    def lock_base(self) -> str:
        """Where the hidden lock of these outputs lives, less its suffix
        (neuralfx.pipeline.output_lock)."""
        return os.path.join(self.directory(), f".{self._hidden_name()}")

    def record_path(self) -> str:
        """The hidden journal beside the outputs saying how each was made
        (neuralfx.pipeline.record)."""
        return os.path.join(self.directory(), f".{self._hidden_name()}{RECORD_SUFFIX}")

    def state_dir(self) -> str:
        """The hidden folder beside the outputs holding a stateful effect's snapshots."""
        return os.path.join(self.directory(), f".{self._hidden_name()}.neuralfx-state")

    def existing(self, frames: list[int]) -> dict[int, str]:
        """Frame number → path of every output already on disk: the whole sequence for a
        pattern (also frames outside ``frames``), else the single file."""
        if self.is_video:
            return {}
        if self.pattern is not None:
            if not os.path.isdir(self.pattern.directory):
                return {}
            return {f: p for f, p in self.pattern.find().items() if self.done(f)}
        return {f: self.target for f in frames[:1] if self.done(f)}

    def stale_temps(self) -> list[str]:
        """Temporary files of this output left by a killed run (never anyone else's)."""
        directory = self.directory()
        if self.is_video or self.pattern is None:
            name = re.escape(os.path.basename(self.target))
        else:
            name = (
                re.escape(os.path.basename(self.pattern.prefix))
                + r"-?\d+"
                + re.escape(self.pattern.suffix)
            )
        ext = re.escape(
            os.path.splitext(self.target if self.pattern is None else "x" + self.pattern.suffix)[1]
        )
        temp = re.escape(TEMP_MARK) + r"[0-9a-f]{8}" + ext
        # A temporary file, or the temporary file of one (a Ray shard's video segment's).
        ours = re.compile(r"^\.(?:" + name + temp + r"|\." + name + temp + temp + ")$")
        record = re.compile(
            r"^\."
            + re.escape(os.path.basename(self.record_path()))
            + re.escape(TEMP_MARK)
            + r"[0-9a-f]{8}\.jsonl$"
        )
        try:
            entries = os.listdir(directory)
        except OSError:
            return []
        return [
            os.path.join(directory, e) for e in sorted(entries) if ours.match(e) or record.match(e)
        ]

    def done(self, frame: int) -> bool:
        """Whether ``frame``'s output is complete (writes are atomic: present means whole)."""
        path = self.path(frame)
        return os.path.isfile(path) and os.path.getsize(path) > 0


def open_sink(text: str, source: Source, *, codec: str | None = None) -> Sink:
    """Check the output ``text`` against the ``source`` before any frame is processed: known
    format, a frame-number pattern for several frames, a writable folder, and no input file
    overwritten."""
    if video.is_video_path(text):
        sink = Sink(text, None, None, video_out.codec_for(text, codec))
    else:
        fmt = images.image_format(text)
        if fmt is None:
            raise UnknownNameError(
                f"output {text!r}: unsupported format {os.path.splitext(text)[1] or '(no suffix)'}",
                hint="outputs can be images ("
                + ", ".join(sorted({s for f in images.FORMATS for s in f.suffixes}))
                + ") or videos ("
                + ", ".join(video_out.WRITABLE_SUFFIXES)
                + ")",
            )
        if codec:
            raise ParameterError(f"--codec {codec} is for video outputs, not {text!r}")
        pattern = FramePattern.parse(text)
        if pattern is None and len(source.frames) > 1:
            raise OutputError(
                f"output {text!r} names one file but the input has {len(source.frames)} frames",
                hint="put a frame number in the output, e.g. " + _suggest_pattern(text),
            )
        sink = Sink(text, pattern, fmt, None)
    _check_not_overwriting_input(sink, source)
    check_writable_folder(sink.directory())
    return sink


def _suggest_pattern(text: str) -> str:
    stem, suffix = os.path.splitext(text)
    return f"{stem}.####{suffix}"


def _check_not_overwriting_input(sink: Sink, source: Source) -> None:
    inputs = {os.path.realpath(p) for p in source.input_files()}
    outputs = (
        [sink.target]
        if sink.is_video or sink.pattern is None
        else [sink.path(f) for f in source.frames]
    )
    for out in outputs:
        if os.path.realpath(out) in inputs:
            raise OutputError(
                f"output {out!r} is one of the input files",
                hint="write to another folder or name; NeuralFX never overwrites its input",
            )


def check_writable_folder(directory: str) -> None:
    """Check that ``directory`` exists and takes new files, or could be created; create
    nothing (a run that fails before its first frame leaves no folder behind)."""
    path = Path(directory).absolute()
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"output folder {directory!r} cannot be created: {str(existing)!r} is a file",
            hint="choose another output path",
        )
    what = (
        "is not writable"
        if existing == path
        else f"cannot be created: {str(existing)!r} is not writable"
    )
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise OutputError(
            f"output folder {directory!r} {what} (read-only file system)",
            hint="choose a folder on a writable disk",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"output folder {directory!r} {what} (permission denied)",
            hint="choose a folder you can write to, or fix its permissions",
        )


def create_folder(directory: str) -> None:
    """Create the output folder (at the first write), with a clear error if that fails."""
    broken = next(
        (
            p
            for p in [Path(directory), *Path(directory).parents]
            if p.is_symlink() and not p.exists()
        ),
        None,
    )
    if broken is not None:  # mkdir would say only "File exists"
        raise OutputError(
            f"output folder {directory!r} cannot be created: {str(broken)!r} is a "
            f"link to {os.readlink(broken)!r}, which does not exist",
            hint="create the link's target (a mount that is not there?), or remove the link",
        )
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"output folder {directory!r} cannot be created: {exc.strerror or exc}",
            hint="choose a folder you can write to",
        ) from None
