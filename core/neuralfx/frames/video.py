"""Video files through PyAV (FFmpeg): decoding, H.264/ProRes encoding, audio pass-through.

Video frames are numbered from ``start`` (1 by default) in decode order, so ``--frames`` and
image-sequence outputs work the same as for sequences. Sources deeper than 8 bits (ProRes,
10-bit H.264/HEVC) decode to 16-bit RGB, sources with alpha to RGBA.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fractions
import os
from collections.abc import Callable, Iterator

import av
import numpy as np

from ..errors import FrameError, OutputError, UnknownNameError
from .atomic import AtomicFile

#: Colour tags written on video outputs, and the matrix used to make their YUV: the pixels are
#: display-referred sRGB (what effects output), so Rec.709 primaries and matrix, the sRGB
#: transfer function (IEC 61966-2-1), and limited ("TV") range as H.264 and ProRes expect.
#: Values are the ISO/IEC 23091-2 code points FFmpeg uses.
COLOUR_TAGS = {"color_primaries": 1, "color_trc": 13, "colorspace": 1, "color_range": 1}

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm", ".mxf")
#: Codecs we write: name → (FFmpeg encoder, suffixes it may go in, default for those suffixes).
VIDEO_CODECS = {
    "h264": ("libx264", (".mp4", ".mov", ".mkv", ".m4v"), (".mp4", ".mkv", ".m4v")),
    "prores": ("prores_ks", (".mov", ".mkv"), (".mov",)),
}


def is_video_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_SUFFIXES


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    width: int  # as players show the picture: after ``quarter_turns``
    height: int
    fps: fractions.Fraction
    frame_count: int  # 0 when the container does not say
    alpha: bool
    deep: bool  # more than 8 bits per sample
    has_audio: bool
    #: Quarter turns counter-clockwise that the file asks players to give the picture (phone
    #: footage shot upright is stored on its side with such a display matrix); frames are read
    #: turned, as players show them, and written upright with no matrix.
    quarter_turns: int = 0


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
        turns = _quarter_turns(container, stream)
        width, height = (ctx.height, ctx.width) if turns % 2 else (ctx.width, ctx.height)
        return VideoInfo(
            width,
            height,
            fractions.Fraction(rate),
            stream.frames or 0,
            alpha,
            deep,
            bool(container.streams.audio),
            turns,
        )


def _quarter_turns(container: av.container.InputContainer, stream) -> int:
    """The display matrix's rotation in quarter turns counter-clockwise (FFmpeg hands it to
    each decoded frame; PyAV does not expose the stream's), from the first frame; 0 when it
    cannot be decoded here (reading the frames then says so, naming the frame)."""
    try:
        frame = next(container.decode(stream), None)
    except av.FFmpegError:
        return 0
    return round((frame.rotation if frame is not None else 0) / 90) % 4


def note_turn(path: str, info: VideoInfo, warn) -> None:
    """Say why the frames are not the size the file's codec reports."""
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


def codec_for(path: str, requested: str | None) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if requested:
        if requested not in VIDEO_CODECS:
            raise UnknownNameError(
                f"unknown video codec {requested!r}", hint="codecs: " + ", ".join(VIDEO_CODECS)
            )
        if suffix not in VIDEO_CODECS[requested][1]:
            raise OutputError(
                f"{requested} cannot be written into a {suffix} file",
                hint=f"use one of {', '.join(VIDEO_CODECS[requested][1])}",
            )
        return requested
    for name, (_, _, defaults) in VIDEO_CODECS.items():
        if suffix in defaults:
            return name
    raise UnknownNameError(
        f"{path}: no video codec writes {suffix} files", hint="write .mp4 (H.264) or .mov (ProRes)"
    )


class _Muxer:
    """An output container written to a temporary file that replaces ``path`` on
    :meth:`close`, with the source's audio copied in (not re-encoded) for the time span
    ``audio_span`` (seconds) of ``audio_from``, so the output stays in sync with the frames
    kept. Subclasses add the video stream and its packets."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = AtomicFile(path)
        self._audio = None
        try:
            self._out = av.open(self._file.tmp, "w")
        except BaseException:
            self._file.discard()
            raise

    def _add_audio(self, source: str | None, span: tuple[float, float] | None):
        if source is None:
            return None
        src = av.open(source)
        if not src.streams.audio:
            src.close()
            return None
        in_stream = src.streams.audio[0]
        try:
            out_stream = self._out.add_stream_from_template(in_stream)
        except (ValueError, av.FFmpegError) as exc:
            src.close()
            raise OutputError(
                f"{self.path}: the source's audio ({in_stream.codec_context.name}) "
                f"cannot be copied into this container: {exc}",
                hint="write .mov or .mkv, which take most audio codecs",
            ) from None
        return src, in_stream, out_stream, span

    def _mux(self, packets) -> None:
        """Write packets to the file (the one place output bytes go: a full disk fails here)."""
        for packet in packets:
            self._out.mux(packet)

    def _flush(self) -> None:
        """Write what the video stream still holds."""

    def close(self, before_commit: Callable[[str], None] | None = None) -> None:
        """Flush, copy the audio and move the finished file into place (after
        ``before_commit(tmp)``, e.g. signing it)."""
        try:
            self._flush()
            if self._audio is not None:
                self._copy_audio()
            self._out.close()
            self._out = None
            if before_commit is not None:
                before_commit(self._file.tmp)
        except BaseException:
            self.abort()
            raise
        self._file.commit()

    def _copy_audio(self) -> None:
        src, in_stream, out_stream, span = self._audio
        tb = in_stream.time_base
        first = last = None
        if span is not None and tb:
            first, last = int(span[0] / tb), int(span[1] / tb)
        with src:
            for packet in src.demux(in_stream):
                if packet.dts is None or packet.pts is None:
                    continue
                if first is not None and not (first <= packet.pts < last):
                    continue
                if first:
                    packet.pts -= first
                    packet.dts -= first
                packet.stream = out_stream
                self._mux([packet])

    def abort(self) -> None:
        """Discard the temporary file (after an error or Ctrl-C)."""
        if self._out is not None:
            with contextlib.suppress(Exception):
                self._out.close()
        if self._audio is not None:
            self._audio[0].close()
        self._file.discard()


class VideoWriter(_Muxer):
    """Encodes frames in order into a temporary file that replaces ``path`` on :meth:`close`.

    ``audio_from`` names a video whose audio is copied (not re-encoded) for the time span
    ``audio_span`` (seconds) of the source, so the output stays in sync with the frames kept.
    """

    def __init__(
        self,
        path: str,
        *,
        codec: str,
        fps: fractions.Fraction,
        width: int,
        height: int,
        alpha: bool,
        crf: int = 18,
        audio_from: str | None = None,
        audio_span: tuple[float, float] | None = None,
    ) -> None:
        if codec == "h264" and (width % 2 or height % 2):
            raise OutputError(
                f"{path}: H.264 needs an even width and height, the frames are {width}x{height}",
                hint="write ProRes (.mov) or an image sequence",
            )
        super().__init__(path)
        try:
            encoder = VIDEO_CODECS[codec][0]
            self._stream = self._out.add_stream(encoder, rate=fps)
            self._stream.width, self._stream.height = width, height
            if codec == "h264":
                self._stream.pix_fmt = "yuv420p"
                self._stream.options = {"crf": str(crf), "preset": "veryfast"}
                self.alpha = False
            else:
                self._stream.pix_fmt = "yuva444p10le" if alpha else "yuv422p10le"
                self._stream.options = {"profile": "4" if alpha else "3"}  # 4444 or HQ
                self.alpha = alpha
            for tag, value in COLOUR_TAGS.items():
                setattr(self._stream.codec_context, tag, value)
            self._stream.thread_type = "AUTO"
            self._audio = self._add_audio(audio_from, audio_span)
        except BaseException:
            self.abort()
            raise
        self._count = 0

    def write(self, pixels: np.ndarray, *, bgr: bool = False) -> None:
        """Append one frame: ``(H, W, 3|4)`` uint8 or uint16, RGB(A) or, with ``bgr``,
        BGR(A)."""
        deep = pixels.dtype == np.uint16
        fmt = {
            (3, False): "rgb24",
            (4, False): "rgba",
            (3, True): "rgb48le",
            (4, True): "rgba64le",
        }[(pixels.shape[2], deep)]
        if bgr:
            fmt = fmt.replace("rgb", "bgr")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=fmt)
        # Convert to YUV here with the matrix the tags announce (swscale's default is BT.601).
        frame = frame.reformat(
            format=self._stream.pix_fmt,
            dst_colorspace="ITU709",
            dst_color_range="MPEG",
            dst_color_trc=COLOUR_TAGS["color_trc"],
            dst_color_primaries=COLOUR_TAGS["color_primaries"],
        )
        frame.pts = self._count
        self._count += 1
        self._mux(self._stream.encode(frame))

    def _flush(self) -> None:
        self._mux(self._stream.encode())


def join_segments(
    path: str,
    segments: list[str],
    *,
    fps: fractions.Fraction,
    audio_from: str | None = None,
    audio_span: tuple[float, float] | None = None,
    before_commit: Callable[[str], None] | None = None,
) -> None:
    """Concatenate video files encoded one after another with the same settings (the shards
    of a distributed run) into ``path`` without decoding them: packets are copied with their
    timestamps moved on by the frames before them. Then the audio is copied, as
    :class:`VideoWriter` does; atomic."""
    joined = _Muxer(path)
    try:
        with av.open(segments[0]) as first:
            video = joined._out.add_stream_from_template(first.streams.video[0])
        joined._audio = joined._add_audio(audio_from, audio_span)
        frames = 0
        for segment in segments:
            with av.open(segment) as part:
                stream = part.streams.video[0]
                shift = int(fractions.Fraction(frames) / fps / stream.time_base)
                count = 0
                for packet in part.demux(stream):
                    if packet.dts is None:  # the demuxer's empty flush packet
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = video
                    joined._mux([packet])
                    count += 1
                frames += count
    except BaseException:
        joined.abort()
        raise
    joined.close(before_commit)
