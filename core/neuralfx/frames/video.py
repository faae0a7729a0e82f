"""Reading video files through PyAV (FFmpeg); writing them is :mod:`.video_out`.

Video frames are numbered from ``start`` (1 by default) in decode order, so ``--frames`` and
image-sequence outputs work the same as for sequences. Sources deeper than 8 bits (ProRes,
10-bit H.264/HEVC) decode to 16-bit RGB, sources with alpha to RGBA.
"""

from __future__ import annotations

import dataclasses
import fractions
import os
from collections.abc import Iterator

import av
import numpy as np

from ..errors import FrameError

VIDEO_SUFFIXES = (
    ".mp4",
    ".mov",
    ".mkv",
    ".m4v",
    ".avi",
    ".webm",
    ".mxf",
    ".ts",
    ".mts",
    ".m2ts",
    ".mpg",
    ".mpeg",
)


def is_video_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_SUFFIXES


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    width: int  # as players show the picture: after ``quarter_turns``
    height: int
    fps: fractions.Fraction
    frame_count: int  # frames the decoder gives, from the index; 0 when it does not say
    alpha: bool
    deep: bool  # more than 8 bits per sample
    has_audio: bool
    #: Quarter turns counter-clockwise that the file asks players to give the picture (phone
    #: footage shot upright is stored on its side with such a display matrix); frames are read
    #: turned, as players show them, and written upright with no matrix.
    quarter_turns: int = 0
    #: Width over height of one pixel as players show it (anamorphic, DV, HDV), None for
    #: square pixels; a video output keeps it.
    pixel_aspect: fractions.Fraction | None = None
    #: "PQ" or "HLG" for HDR video (Rec.2100), whose frames are read as coded: no tone mapping.
    hdr: str | None = None
    #: The first frame's SMPTE timecode, where the file has one (cameras, editors' exports).
    timecode: str | None = None
    #: Coded as two fields a frame (broadcast, DV): processed as whole frames, as stored.
    interlaced: bool = False
    #: When the first frame is shown on the file's clock, in seconds (cameras and broadcast
    #: captures do not start at 0): the audio kept is timed from it.
    start: float = 0.0


def _open(path: str) -> av.container.InputContainer:
    try:
        return av.open(path)
    except FileNotFoundError:
        raise FrameError(f"{path} does not exist", hint="check the input path", path=path) from None
    except av.FFmpegError as exc:
        raise FrameError(
            f"{path} cannot be read as video: {exc}",
            hint="the file is corrupt, truncated or not a video",
            path=path,
        ) from None


def probe(path: str) -> VideoInfo:
    with _open(path) as container:
        if not container.streams.video:
            raise FrameError(f"{path} has no video stream", hint="give a video file", path=path)
        stream = container.streams.video[0]
        ctx = stream.codec_context
        fmt = av.VideoFormat(ctx.pix_fmt) if ctx.pix_fmt else None
        alpha = bool(fmt) and any(c.is_alpha for c in fmt.components)
        deep = bool(fmt) and max(c.bits for c in fmt.components) > 8
        rate = stream.average_rate or stream.guessed_rate or fractions.Fraction(24)
        first = _first_frame(container, stream)
        turns = round((first.rotation if first is not None else 0) / 90) % 4
        width, height = (ctx.height, ctx.width) if turns % 2 else (ctx.width, ctx.height)
        return VideoInfo(
            width,
            height,
            fractions.Fraction(rate),
            _indexed_frame_count(stream),
            alpha,
            deep,
            bool(container.streams.audio),
            turns,
            _pixel_aspect(stream, turns),
            HDR_TRANSFERS.get(first.color_trc) if first is not None else None,
            _timecode(container, stream),
            bool(first is not None and first.interlaced_frame),
            float(stream.start_time * stream.time_base) if stream.start_time else 0.0,
        )


def _timecode(container: av.container.InputContainer, stream) -> str | None:
    """Where FFmpeg puts it: the video stream's tags (MOV, MP4), a timecode track's, the
    container's (MXF); Matroska spells the tag in capitals."""
    for tags in (
        stream.metadata,
        *(s.metadata for s in container.streams.data),
        container.metadata,
    ):
        for key, value in tags.items():
            if key.lower() == "timecode" and value:
                return value
    return None


#: FFmpeg's transfer characteristics (ISO/IEC 23091-2) of HDR video.
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}


def _indexed_frame_count(stream) -> int:
    """The frames the decoder will give, from the container's index (no data read): MP4 and
    MOV index every sample, and the container's own frame count includes those it will not
    give (:func:`_frames_shown`); 0 when the index is not complete (Matroska's lists
    keyframes only): :func:`count_frames` then reads the packets."""
    entries = stream.index_entries
    if not stream.frames or len(entries) != stream.frames:
        return stream.frames or 0
    return _frames_shown((entry.is_keyframe, entry.is_discard) for entry in entries)


def count_frames(path: str) -> int:
    """The frames the decoder will give, from the packets (reads the file, decodes nothing)."""
    with _open(path) as container:
        packets = container.demux(container.streams.video[0])
        return _frames_shown((p.is_keyframe, p.is_discard) for p in packets if p.size)


def _frames_shown(samples) -> int:
    """How many of the samples ``(is_keyframe, is_discard)``, in decode order, the decoder
    outputs: none before the first keyframe (they refer to pictures the file does not hold:
    a cut inside a group of pictures, a broadcast capture), none an edit list trims (a cut
    made without re-encoding, phone footage: players skip them)."""
    count, started = 0, False
    for keyframe, discard in samples:
        started = started or keyframe
        count += started and not discard
    return count


def _pixel_aspect(stream, turns: int) -> fractions.Fraction | None:
    aspect = stream.sample_aspect_ratio
    if not aspect or aspect == 1:
        return None
    return 1 / fractions.Fraction(aspect) if turns % 2 else fractions.Fraction(aspect)


def _first_frame(container: av.container.InputContainer, stream) -> av.VideoFrame | None:
    """The first frame, for what FFmpeg hands to decoded frames and PyAV does not expose on
    the stream (the display matrix's rotation, counter-clockwise; the transfer); None when it
    cannot be decoded here (reading the frames then says so, naming the frame)."""
    try:
        return next(container.decode(stream), None)
    except av.FFmpegError:
        return None


def note_how_read(path: str, info: VideoInfo, warn, *, colour_given: bool = False) -> None:
    """Say why the frames are not the size the file's codec reports, or not the colours an
    HDR display shows (unless the run was given the input's colour space)."""
    if info.hdr and not colour_given:
        warn(
            f"{path} is HDR video (Rec.2100 {info.hdr}); its frames are read as coded, not "
            "tone-mapped, and taken as sRGB unless told otherwise: give its colour space, e.g. "
            f"--ocio ocio://studio-config-latest --input-colorspace 'Rec.2100-{info.hdr} - "
            "Display' --output-colorspace 'sRGB Encoded Rec.709 (sRGB)' (what is brighter "
            "than SDR white clips), or convert it to SDR first"
        )
    if info.interlaced:
        warn(
            f"{path} is interlaced (two fields a frame, as broadcast and DV record): frames are "
            "processed whole, both fields together, so effects see the combing on moving edges; "
            "deinterlace it first (e.g. ffmpeg -vf bwdif) for clean results"
        )
    if info.quarter_turns:
        turn = ("90° counter-clockwise", "180°", "90° clockwise")[info.quarter_turns - 1]
        warn(
            f"{path} asks players to turn its picture {turn} (phone footage often does); its "
            f"frames are read turned, as players show them ({info.width}x{info.height}), and "
            "written upright"
        )


def warn_if_variable_rate(path: str, warn, sample: int = 600) -> None:
    """Warn when ``path`` has a variable frame rate: frames are numbered in order and written
    at a constant rate, so the output's timing would not follow the source's."""
    with _open(path) as container:
        stream = container.streams.video[0]
        pts = []
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                pts.append(packet.pts)
            if len(pts) >= sample:
                break
        tb = stream.time_base
    pts.sort()
    steps = {b - a for a, b in zip(pts, pts[1:])}
    if len(steps) < 2 or not tb:
        return
    short, long = min(steps) * tb, max(steps) * tb
    if long - short > 0.1 * short and long - short > tb:
        warn(
            f"{path} has a variable frame rate (frames last {float(short) * 1000:.1f} to "
            f"{float(long) * 1000:.1f} ms); frames are numbered in order and video is written "
            "at a constant rate, so the output's timing will differ. Convert it to a constant "
            "rate first (e.g. ffmpeg -i IN -fps_mode cfr OUT) if timing matters"
        )


def read_frames(
    path: str, wanted: set[int] | None, start: int = 1
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_number, pixels)`` for each wanted frame, in order (all when None).

    Pixels are ``(H, W, 3|4)`` uint8, or uint16 for deep sources.
    """
    info = probe(path)
    fmt = (
        ("rgba64le" if info.alpha else "rgb48le")
        if info.deep
        else ("rgba" if info.alpha else "rgb24")
    )
    last = max(wanted) if wanted else None
    number = start - 1
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # FFmpeg's own decoding threads, outside the GIL
        try:
            for frame in container.decode(stream):
                number += 1
                if last is not None and number > last:
                    return
                if wanted is None or number in wanted:
                    pixels = frame.to_ndarray(format=fmt)
                    if info.quarter_turns:
                        pixels = np.ascontiguousarray(np.rot90(pixels, info.quarter_turns))
                    yield number, pixels
        except av.FFmpegError as exc:
            raise FrameError(
                f"frame {number + 1} of {path} cannot be decoded: {exc}",
                hint="the video is corrupt or truncated; re-export it, or process "
                "the frames before it with --frames",
                frame=number + 1,
                path=path,
            ) from None
    if last is not None and number < last:  # the file promised more frames than it holds
        raise FrameError(
            f"{path} ends after frame {number}, but frame {last} was expected",
            hint="the video is truncated; re-export it, or process the frames "
            f"up to {number} with --frames",
            frame=number + 1,
            path=path,
        )
