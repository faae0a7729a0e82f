"""Writing video files through PyAV (FFmpeg): H.264/ProRes encoding, audio pass-through,
joining the segments of a distributed run. Every write goes to a temporary file that replaces
the output only when complete."""

from __future__ import annotations

import contextlib
import fractions
import os
from collections.abc import Callable

import av
import numpy as np

from ..errors import OutputError, UnknownNameError
from .atomic import AtomicFile

#: Colour tags written on video outputs, and the matrix used to make their YUV: the pixels are
#: display-referred sRGB (what effects output), so Rec.709 primaries and matrix, the sRGB
#: transfer function (IEC 61966-2-1), and limited ("TV") range as H.264 and ProRes expect.
#: Values are the ISO/IEC 23091-2 code points FFmpeg uses.
COLOUR_TAGS = {"color_primaries": 1, "color_trc": 13, "colorspace": 1, "color_range": 1}

#: x264 settings beyond the preset. The macroblock tree is off: it reads memory nothing wrote
#: (whatever the allocator last left there, which depends on what ran before in the process), so
#: with it the same frames made a different file in most runs of the test suite's 320x240 clip,
#: whatever x264's threads. Without it the same frames always make the same file, so a rerun or
#: a resumed run equals the first (docs/ARCHITECTURE.md, "Reproducible video";
#: `bench/video_encode.py` measures both).
X264_PARAMS = "mbtree=0"

#: Codecs we write: name → (FFmpeg encoder, suffixes it may go in, default for those suffixes).
VIDEO_CODECS = {
    "h264": ("libx264", (".mp4", ".mov", ".mkv", ".m4v"), (".mp4", ".mkv", ".m4v")),
    "prores": ("prores_ks", (".mov", ".mkv"), (".mov",)),
}


#: Every suffix a video output may have, for messages.
WRITABLE_SUFFIXES = tuple(sorted({s for _, suffixes, _ in VIDEO_CODECS.values() for s in suffixes}))


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
        f"{path}: no video codec writes {suffix} files",
        hint="write .mp4 (H.264) or .mov (ProRes); videos can be " + ", ".join(WRITABLE_SUFFIXES),
    )


def to_yuv(pixels: np.ndarray, pix_fmt: str, *, bgr: bool = False) -> av.VideoFrame:
    """``(H, W, 3|4)`` uint8 or uint16 RGB(A) (BGR(A) with ``bgr``) as the ``pix_fmt`` frame a
    writer hands its encoder: converted with the matrix and range the tags announce (swscale's
    default would be BT.601)."""
    deep = pixels.dtype == np.uint16
    fmt = {
        (3, False): "rgb24",
        (4, False): "rgba",
        (3, True): "rgb48le",
        (4, True): "rgba64le",
    }[(pixels.shape[2], deep)]
    if bgr:
        fmt = fmt.replace("rgb", "bgr")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=fmt).reformat(
        format=pix_fmt,
        dst_colorspace="ITU709",
        dst_color_range="MPEG",
        dst_color_trc=COLOUR_TAGS["color_trc"],
        dst_color_primaries=COLOUR_TAGS["color_primaries"],
    )


class _Muxer:
    """An output container written to a temporary file that replaces ``path`` on
    :meth:`close`, with the source's audio copied in (not re-encoded) for the time span
    ``audio_span`` (seconds on the source's clock, the end None for all that follows) of
    ``audio_from``, moved so that its start is the output's 0: the output stays in sync with
    the frames kept. Subclasses add the video stream and its packets."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = AtomicFile(path)
        self._audio = None
        try:
            self._out = av.open(self._file.tmp, "w")
        except BaseException:
            self._file.discard()
            raise

    def _add_audio(self, source: str | None, span: tuple[float, float | None] | None):
        """Every audio track of ``source`` (cameras record several: a boom and a lavalier,
        one channel each), copied as they are."""
        if source is None:
            return None
        src = av.open(source)
        if not src.streams.audio:
            src.close()
            return None
        copies = {}
        for in_stream in src.streams.audio:
            try:
                copies[in_stream.index] = self._out.add_stream_from_template(in_stream)
            except (ValueError, av.FFmpegError) as exc:
                src.close()
                raise OutputError(
                    f"{self.path}: the source's audio ({in_stream.codec_context.name}) "
                    f"cannot be copied into this container: {exc}",
                    hint="write .mov or .mkv, which take most audio codecs",
                ) from None
        return src, copies, span

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
        src, copies, span = self._audio
        with src:
            for packet in src.demux(*(src.streams[index] for index in copies)):
                if packet.dts is None or packet.pts is None:
                    continue
                tb = packet.stream.time_base
                if span is not None and tb:  # the source's time of the first frame is 0 here
                    first = int(span[0] / tb)
                    if packet.pts < first or (span[1] is not None and packet.pts >= span[1] / tb):
                        continue
                    packet.pts -= first
                    packet.dts -= first
                packet.stream = copies[packet.stream.index]
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
        pixel_aspect: fractions.Fraction | None = None,
        timecode: str | None = None,
        audio_from: str | None = None,
        audio_span: tuple[float, float | None] | None = None,
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
                self._stream.options = {
                    "crf": str(crf),
                    "preset": "veryfast",
                    "x264-params": X264_PARAMS,
                }
                self.alpha = False
            else:
                self._stream.pix_fmt = "yuva444p10le" if alpha else "yuv422p10le"
                self._stream.options = {"profile": "4" if alpha else "3"}  # 4444 or HQ
                self.alpha = alpha
            for tag, value in COLOUR_TAGS.items():
                setattr(self._stream.codec_context, tag, value)
            if pixel_aspect is not None:
                self._stream.codec_context.sample_aspect_ratio = pixel_aspect
            if timecode is not None:  # MOV and MP4 get a timecode track
                self._stream.metadata["timecode"] = timecode
            self._stream.thread_type = "AUTO"
            self._audio = self._add_audio(audio_from, audio_span)
        except BaseException:
            self.abort()
            raise
        self._count = 0

    def write(self, pixels: np.ndarray, *, bgr: bool = False) -> None:
        """Append one frame: ``(H, W, 3|4)`` uint8 or uint16, RGB(A) or, with ``bgr``,
        BGR(A)."""
        frame = to_yuv(pixels, self._stream.pix_fmt, bgr=bgr)
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
    audio_span: tuple[float, float | None] | None = None,
    timecode: str | None = None,
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
        video.codec_context.framerate = fps  # as the local writer's (a timecode track needs it)
        if timecode is not None:
            video.metadata["timecode"] = timecode
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
