"""The output side of a run: output layout, packing, encode workers, atomic writes, the record.

Frames come back from the device packed to the output depth (or as float when a colour
conversion is still to do), are encoded in a thread pool (one thread, in order, for video) and
written atomically; the record line of each image is appended just before its file is renamed
into place (see :mod:`neuralfx.pipeline.record`). Write failures (a full disk, a read-only folder)
become an :class:`~neuralfx.errors.OutputError` naming the frame and the file.
"""

from __future__ import annotations

import collections
import errno
import fractions
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from ..colour import ColourSpaces
from ..effect import FrameBatch
from ..errors import OutputError
from ..frames import exr, images, timecode, video_out
from ..frames.pixels import (
    FrameDecoder,
    OutputLayout,
    Picture,
    finite_frames,
    nonfinite_error,
    pack,
    replace_nonfinite,
    unstorable_error,
)
from ..frames.samples import to_unit_float
from ..options import DEFAULT_FPS
from .plan import Plan
from .progress import Reporter

_CHANNELS = {"gray": 1, "rgb": 3, "rgba": 4}
#: What to tell the user, by the errno of a failed write.
_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the same command again to resume",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the same command "
    "again to resume",
    errno.EROFS: "the output folder is on a read-only file system: write somewhere else",
    errno.EACCES: "permission denied: check the output folder's permissions",
}


def write_error(what: str, path: str, exc: BaseException, resumable: bool = True) -> OutputError:
    """A user-facing error for a failed write of ``path``, with a hint chosen by its cause."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code is None and "No space left" in text:  # OpenEXR reports ENOSPC as RuntimeError
        code = errno.ENOSPC
    hint = _WRITE_HINTS.get(code, "check the free space and permissions of the output folder")
    if not resumable:
        hint = hint.replace(
            "then run the same command again to resume", "then run the same command again"
        )
    return OutputError(f"{what}: cannot write {path}: {text}", hint=hint)


def video_rate(plan: Plan) -> fractions.Fraction:
    """The frame rate of a video output: --fps, else the source video's, else 24."""
    return plan.opts.frame_rate() or plan.source.fps or DEFAULT_FPS


def audio_to_copy(
    plan: Plan, fps: fractions.Fraction, warn
) -> tuple[str | None, tuple[float, float | None] | None]:
    """The video whose audio a video output copies, and the time span (seconds on the source's
    clock) to copy: from the first frame written, to the end of the last one where frames are
    left out, so picture and sound stay in sync. None when there is none to copy or the frame
    rate changes (the sound would drift)."""
    source = plan.source
    audio_from, span = source.video_path, None
    if audio_from and source.fps and fps != source.fps:
        if source.video_info and source.video_info.has_audio:
            warn(
                f"--fps {plan.opts.fps} differs from the source's {float(source.fps):g} fps: "
                "the audio would drift, so it is not copied"
            )
        audio_from = None
    elif audio_from:
        rate, start = fractions.Fraction(fps), source.video_info.start
        whole = source.frames == list(range(1, len(source.frames) + 1))
        span = (
            start + float((plan.todo[0] - 1) / rate),
            None if whole else start + float(plan.todo[-1] / rate),
        )
    return audio_from, span


def timecode_of_output(plan: Plan, fps: fractions.Fraction) -> str | None:
    """The timecode of the first frame written, so that an editor conforms the output where
    its source was: a source video's moved on to that frame (none where the frame rate
    changes: the source's timecode counts its own frames), or that EXR frame's own."""
    source, first = plan.source, plan.todo[0]
    info = source.video_info
    if info is not None:
        if info.timecode is None or fps != source.fps:
            return None
        return timecode.offset(info.timecode, first - 1, fps)
    return exr.timecode(source.file_of(first)) if source.is_exr(first) else None


class Encoder:
    def __init__(
        self,
        plan: Plan,
        spaces: ColourSpaces,
        decoder: FrameDecoder,
        device: torch.device,
        reporter: Reporter,
        *,
        lookahead: int,
        sign: Callable[[str, int | None], None] | None = None,
    ) -> None:
        self.plan, self.opts, self.sink = plan, plan.opts, plan.sink
        self.spaces, self.decoder, self.device, self.reporter = spaces, decoder, device, reporter
        self.sign = sign  # signs a finished temporary file (frame, or None for a video)
        workers = self.opts.worker_count()
        self.lookahead = lookahead  # at most this many frames waiting to be written
        # Video is encoded in order by one thread (the encoder has threads of its own).
        self.pool = ThreadPoolExecutor(
            1 if self.sink.is_video else workers, thread_name_prefix="neuralfx-encode"
        )
        self.pending: collections.deque[tuple[int, Future]] = collections.deque()
        self.layout: OutputLayout | None = None
        self.writer: video_out.VideoWriter | None = None
        self.written = 0
        #: the stage's: frames passed through with NaN or infinity → what they hold
        self.nonfinite_sources: dict[int, str] = {}

    # -- layout -------------------------------------------------------------------------------
    def plan_layout(self, first: Picture) -> None:
        """Fix the output layout from the first frame: channels, depth and colour space."""
        opts, sink, plan = self.opts, self.sink, self.plan
        channels = first.channels if opts.channels == "auto" else _CHANNELS[opts.channels]
        if opts.channels == "rgba" and first.alpha is None:
            self.reporter.warning("the source has no alpha; writing an opaque alpha channel")
        can_alpha = sink.image_format.alpha if sink.image_format else sink.video_codec == "prores"
        if channels in (2, 4) and not can_alpha:
            self.reporter.warning(f"{plan.output} cannot hold alpha; the alpha channel is dropped")
            channels -= 1
        if sink.is_video:
            channels = 4 if channels in (2, 4) else 3
            depth = "8" if sink.video_codec == "h264" else "16"
        else:
            depth = sink.image_format.pick_depth(first.depth, opts.depth)
        source_space = self.decoder.source_space(first.depth)
        float_in, float_out = (d in ("half", "float") for d in (first.depth, depth))
        if opts.output_colorspace:
            out_space = opts.output_colorspace
        elif float_in == float_out:
            out_space = source_space
        else:
            out_space = "linear" if float_out else "srgb"
        working = plan.spec.working_space or source_space
        self.layout = OutputLayout(channels, depth, self.spaces.converter(working, out_space))
        source = plan.source
        if source.other_layers and not self._carries_layers():
            self.reporter.warning(
                f"{plan.input} has other EXR layers ({', '.join(source.other_layers)}); only "
                f"{source.layer_read} is written to {plan.output}: write an EXR sequence to "
                "keep them all"
            )
        if sink.is_video:
            # The folder must exist, and a killed run's temporary file be gone, before the
            # writer makes its own temporary file.
            plan.prepare_output()
            self.writer = self._video_writer(first, channels)

    def _pixel_aspect(self, first: Picture):
        """The source video's non-square pixels, kept while the frames keep its size."""
        info = self.plan.source.video_info
        if info is None or first.size != (info.width, info.height):
            return None
        return info.pixel_aspect

    def _video_writer(self, first: Picture, channels: int) -> video_out.VideoWriter:
        fps = video_rate(self.plan)
        audio_from, span = (
            (None, None)
            if self.opts.shard
            else audio_to_copy(self.plan, fps, self.reporter.warning)
        )  # a shard: the driver's job
        try:
            return video_out.VideoWriter(
                self.sink.target,
                codec=self.sink.video_codec,
                fps=fps,
                width=first.size[0],
                height=first.size[1],
                alpha=channels == 4,
                crf=self.opts.crf,
                pixel_aspect=self._pixel_aspect(first),
                timecode=timecode_of_output(self.plan, fps),
                audio_from=audio_from,
                audio_span=span,
            )
        except OSError as exc:
            raise write_error("video", self.sink.target, exc, resumable=False) from None

    # -- submitting ---------------------------------------------------------------------------
    def submit(self, batch: FrameBatch) -> None:
        layout = self.layout
        assert layout is not None
        rgb = batch.rgb.float()
        alpha = None if batch.alpha is None else batch.alpha.float()
        if self.opts.nonfinite != "error":  # one pass on the device, whatever made them
            rgb = replace_nonfinite(rgb, self.opts.nonfinite)
            alpha = None if alpha is None else replace_nonfinite(alpha, self.opts.nonfinite)
        finite = finite_frames(rgb)
        if alpha is not None:
            finite &= finite_frames(alpha)
        finite = self._to_host(finite)
        rgb = rgb.permute(0, 2, 3, 1)  # (N, H, W, 3), the layout codecs want
        alpha = None if alpha is None else alpha.permute(0, 2, 3, 1)
        if layout.convert is None:
            # Pack on the device: only the final samples (often uint8) cross to the host.
            frames, alphas = self._to_host(pack(rgb, alpha, layout)), None
        else:
            frames = self._to_host(rgb)
            alphas = None if alpha is None else self._to_host(alpha)
        ready = None
        if self.device.type == "cuda":
            # The copies above are asynchronous: the workers wait for this event, so the main
            # thread goes on to the next batch while the GPU finishes this one.
            ready = torch.cuda.Event()
            ready.record()
        for i, frame in enumerate(batch.frames):
            a = None if alphas is None else alphas[i]
            self._queue(
                frame, self.pool.submit(self._encode, frame, frames[i], a, finite[i : i + 1], ready)
            )

    def submit_picture(self, picture: Picture) -> None:
        """A frame that passed through the effect untouched (see ``Effect.passes_through``):
        its decoded samples are written as they are when the output layout is the source's,
        else converted and packed in the encode worker. Nothing goes to the device."""
        self._queue(picture.frame, self.pool.submit(self._encode_picture, picture))

    def _queue(self, frame: int, fut: Future) -> None:
        self.pending.append((frame, fut))
        while len(self.pending) > self.lookahead or (self.pending and self.pending[0][1].done()):
            self._finish_first()

    def _to_host(self, x: torch.Tensor) -> np.ndarray:
        """A device tensor as a host array: a non-blocking copy into pinned memory on CUDA."""
        if self.device.type != "cuda":
            return x.contiguous().cpu().numpy()
        host = torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
        host.copy_(x, non_blocking=True)
        return host.numpy()

    def _encode(
        self,
        frame: int,
        data: np.ndarray,
        alpha: np.ndarray | None,
        finite: np.ndarray,
        ready: torch.cuda.Event | None = None,
    ) -> str:
        """Write one frame (in a worker). ``data`` is packed samples, or float RGB still to
        be converted to the output colour space when the layout has a conversion; ``finite``
        (one bool) whether the frame holds only numbers; ``ready`` is the CUDA event after
        which the host copies (``finite`` among them) hold the data."""
        if ready is not None:
            ready.synchronize()
        if not bool(finite[0]):
            if frame not in self.nonfinite_sources:
                raise nonfinite_error(frame)  # the effect made them
            self._check_storable(frame)
        layout = self.layout
        assert layout is not None
        if layout.convert is not None:
            data = self._pack_on_host(layout.convert(data), alpha)
        return self._write(frame, data)

    def _check_storable(self, frame: int) -> None:
        """NaN or infinity from the source, passed through: kept by a float output, refused by
        an integer one (where they would silently become 0 and white)."""
        assert self.layout is not None
        if self.layout.depth in ("8", "16"):
            output = (
                self.plan.output
                if self.sink.is_video
                else f"a {self.layout.depth}-bit {self.sink.image_format.name}"
            )
            raise unstorable_error(
                frame, self.plan.source.paths.get(frame), self.nonfinite_sources[frame], output
            )

    def _encode_picture(self, picture: Picture) -> str:
        layout = self.layout
        assert layout is not None
        if not picture.finite:
            self._check_storable(picture.frame)
        if (
            picture.pixels is not None
            and layout.convert is None
            and layout.depth == picture.depth
            and layout.channels == picture.channels
        ):
            # the source's samples, as read (in the codec's channel order)
            return self._write(picture.frame, picture.pixels, bgr=picture.bgr)
        rgb = to_unit_float(images.to_rgb(picture.rgb) if picture.bgr else picture.rgb)
        if layout.convert is not None:
            rgb = layout.convert(rgb)
        alpha = None if picture.alpha is None else to_unit_float(picture.alpha)
        return self._write(picture.frame, self._pack_on_host(rgb, alpha))

    def _pack_on_host(self, rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """Float ``(H, W, 3)`` colour in the output space → samples in the output layout."""
        a = None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha))[None]
        return pack(torch.from_numpy(np.ascontiguousarray(rgb))[None], a, self.layout)[0].numpy()

    def _write(self, frame: int, data: np.ndarray, bgr: bool = False) -> str:
        """Packed samples (RGB, or BGR where ``bgr``) to the video writer, or to the frame's
        file atomically (signed, then recorded, then renamed)."""
        if self.writer is not None:
            try:
                self.writer.write(data, bgr=bgr)
            except OSError as exc:
                raise write_error(
                    f"frame {frame}", self.sink.target, exc, resumable=False
                ) from None
            return self.sink.target
        path = self.sink.path(frame)
        record, plan = self.plan.record, self.plan

        def before_commit(tmp: str) -> None:
            if self.sign is not None:
                self.sign(tmp, frame)
            if record is not None:
                record.add(frame, plan.recipe_id, plan.fingerprints.get(frame), tmp)

        try:
            carried = images.write_image(
                path,
                data,
                quality=self.opts.quality,
                before_commit=before_commit,
                bgr=bgr,
                carry=self._carry(frame),
                timecode=self._frame_timecode(frame),
            )
        except (OSError, RuntimeError) as exc:
            raise write_error(f"frame {frame}", path, exc) from None
        if not carried:
            self.reporter.warning(
                f"frame {frame}: the frame's size changed, so the other "
                f"layers of {self.plan.source.paths[frame]} are not in {path}"
            )
        return path

    def _frame_timecode(self, frame: int) -> str | None:
        """An EXR frame of a source video carries that frame's timecode (Nuke conforms by it)."""
        info, fps = self.plan.source.video_info, self.plan.source.fps
        if not self._carries_layers() or info is None or info.timecode is None:
            return None
        return timecode.offset(info.timecode, frame - 1, fps)

    def _carries_layers(self) -> bool:
        fmt = self.sink.image_format
        return fmt is not None and fmt.name == "EXR"

    def _carry(self, frame: int):
        """For an EXR written from an EXR: what reads the source file again and names the layer
        the frame replaces, so that the rest of the file is written with it."""
        source = self.plan.source
        if not (self._carries_layers() and source.is_exr(frame)):
            return None
        path, layer = source.paths[frame], source.layer

        def load() -> tuple[exr.ExrFile, exr.Layer]:
            image = exr.read(path)
            return image, exr.pick(image, layer)

        return load

    def _finish_first(self) -> None:
        """Wait for the oldest pending frame and count it. It leaves ``pending`` only once
        written: Ctrl-C while waiting for it must not lose it from the count (stop() counts
        the writes that finish)."""
        frame, fut = self.pending[0]
        path = fut.result()
        self.pending.popleft()
        self._count(frame, path)

    def _count(self, frame: int, path: str) -> None:
        self.written += 1
        self.reporter.frame(frame, path, self.written, len(self.plan.todo))

    # -- ending -------------------------------------------------------------------------------
    def finish(self) -> None:
        """Wait for every frame, then close the video (moving it into place)."""
        while self.pending:
            self._finish_first()
        if self.writer is not None:
            writer, self.writer = self.writer, None
            sign = None if self.sign is None else (lambda tmp: self.sign(tmp, None))
            try:
                writer.close(before_commit=sign)
            except OSError as exc:
                raise write_error("video", self.sink.target, exc, resumable=False) from None

    def stop(self) -> None:
        """Cancel what has not started; let running writes finish (they are atomic)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for frame, fut in self.pending:
            if not fut.cancelled() and fut.exception() is None:
                self._count(frame, fut.result())
        self.pending.clear()
        if self.writer is not None:
            self.writer.abort()
            self.writer = None

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
