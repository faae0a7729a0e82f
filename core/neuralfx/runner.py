"""The local executor: runs one effect over one clip on one device.

Stages, with bounded hand-offs so memory stays flat on any clip length::

    decode (thread pool, ordered, ``lookahead`` frames ahead)
      -> batch (main thread; sizes and layouts checked)
      -> pinned host memory -> device (non-blocking copy) -> integer scaling on the device
      -> effect.process under torch.inference_mode (batch halves on CUDA out-of-memory)
      -> packing to the output depth on the device
      -> pinned host memory (non-blocking copy; the workers wait on a CUDA event)
      -> encode + atomic write (thread pool, at most ``lookahead`` frames pending)

OpenCV, OpenEXR, PyAV and OpenColorIO release the GIL while they work, so threads give real
parallelism for the codecs without copying frames between processes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import fractions
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .colour import ColourSpaces
from .devices import resolve_device, resolve_precision
from .effect import ClipInfo, Effect, FrameBatch, RunContext
from .errors import FrameError, NeuralFXError, OutputError, ParameterError
from .frames import images, video
from .frames.atomic import write_text_atomic
from .frames.io import Sink, Source, open_sink, open_source
from .frames.pixels import (
    INTEGER_SCALE,
    FrameDecoder,
    OutputLayout,
    Picture,
    finite_frames,
    nonfinite_error,
    pack,
    to_unit_float,
)
from .plugins import PluginHost, get_host
from .progress import Reporter

CHANNEL_MODES = ("auto", "gray", "rgb", "rgba")
_CHANNELS = {"gray": 1, "rgb": 3, "rgba": 4}


@dataclasses.dataclass
class RunOptions:
    """Everything about a run that is not the effect's own settings (see ``neuralfx run --help``)."""

    frames: str | None = None
    missing: str = "error"
    overwrite: bool = False
    device: str = "auto"
    precision: str = "fp32"
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

    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    def check(self) -> None:
        if self.depth != "auto" and self.depth not in images.DEPTHS:
            raise ParameterError(f"depth: {self.depth!r} is not one of auto, "
                                 + ", ".join(images.DEPTHS))
        if self.channels not in CHANNEL_MODES:
            raise ParameterError(f"channels: {self.channels!r} is not one of "
                                 + ", ".join(CHANNEL_MODES))
        if not 1 <= self.quality <= 100:
            raise ParameterError(f"quality: {self.quality} is out of range; allowed: 1 to 100")
        if not 0 <= self.crf <= 51:
            raise ParameterError(f"crf: {self.crf} is out of range; allowed: 0 to 51")
        if self.workers is not None and self.workers < 1:
            raise ParameterError(f"workers: {self.workers} must be at least 1")
        if self.batch_size != "auto":
            try:
                size = int(self.batch_size)
            except ValueError:
                size = 0
            if size < 1:
                raise ParameterError(f"batch-size: {self.batch_size!r} must be auto or a whole "
                                     "number of at least 1")


@dataclasses.dataclass(frozen=True)
class RunSummary:
    written: int
    skipped: int
    seconds: float
    device: str

    @property
    def fps(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def run(effect: str | type[Effect], input: str, output: str, *,
        settings: Mapping[str, Any] | None = None, options: RunOptions | None = None,
        reporter: Reporter | None = None, host: PluginHost | None = None) -> RunSummary:
    """Run ``effect`` over ``input`` into ``output``: the Python API behind ``neuralfx run``.

    Raises :class:`~neuralfx.errors.NeuralFXError` for bad input (before any output is written
    when it can be found out up front); ``KeyboardInterrupt`` stops cleanly, leaving only
    complete output files.
    """
    effect_cls = (host or get_host()).effect(effect) if isinstance(effect, str) else effect
    opts = options or RunOptions()
    opts.check()
    reporter = reporter or Reporter()
    try:
        # The effect checks its settings as a whole before any file is looked at or created.
        instance = effect_cls(effect_cls.validate(settings or {}))
        job = _Job(instance, input, output, opts, reporter)
        return job.run()
    except NeuralFXError as exc:
        reporter.error(exc.message, exc.hint, getattr(exc, "frame", None), getattr(exc, "path", None))
        raise


class _Job:
    def __init__(self, effect: Effect, input: str, output: str, opts: RunOptions,
                 reporter: Reporter) -> None:
        self.effect, self.effect_cls = effect, type(effect)
        self.opts, self.reporter = opts, reporter
        self.input, self.output = input, output
        self.source: Source = open_source(input, frames=opts.frames, missing=opts.missing)
        self.sink: Sink = open_sink(output, self.source, codec=opts.codec)
        if self.sink.is_video:
            if os.path.exists(output) and not opts.overwrite:
                raise OutputError(f"{output} exists; a video cannot be resumed",
                                  hint="pass --overwrite to replace it, or choose another name")
            self.todo = list(self.source.frames)
        else:
            self.todo = [f for f in self.source.frames if opts.overwrite or not self.sink.done(f)]
        self.skipped = len(self.source.frames) - len(self.todo)
        if self.skipped:
            self._check_same_settings()
        self.spaces = ColourSpaces(opts.ocio)
        for name in (opts.input_colorspace, opts.output_colorspace):
            if name:
                self.spaces.resolve(name)  # unknown names fail before any work
        self.device = resolve_device(opts.device)
        self.dtype = resolve_precision(opts.precision, self.device)
        if opts.batch_size == "auto":
            self.batch_size = self.effect_cls.preferred_batch_size if self.device.type == "cuda" else 1
        else:
            self.batch_size = int(opts.batch_size)
        if self.sink.is_video and opts.depth != "auto":
            raise ParameterError("depth: video outputs choose their own depth (H.264 8-bit, "
                                 "ProRes 10-bit)", hint="leave --depth at auto for video")
        self.workers = opts.worker_count()
        self.lookahead = 2 * self.workers + self.batch_size
        self.decoder = FrameDecoder(self.spaces, opts.input_colorspace, self.effect_cls.working_space)
        self.layout: OutputLayout | None = None
        self.writer: video.VideoWriter | None = None
        self.first: Picture | None = None
        self.written = 0

    # -- resume safety ------------------------------------------------------------------------
    def _record(self) -> dict[str, Any]:
        """What the outputs depend on besides the input: effect, settings, output options."""
        keep = ("depth", "channels", "ocio", "input_colorspace", "output_colorspace", "quality")
        return {"effect": self.effect_cls.name,
                "settings": json.loads(json.dumps(dict(self.effect.settings), default=str)),
                "output": {k: getattr(self.opts, k) for k in keep}}

    def _check_same_settings(self) -> None:
        """A rerun skips existing outputs; refuse when they were made with other settings,
        which would otherwise leave a sequence made two ways."""
        try:
            with open(self.sink.record_path(), encoding="utf-8") as f:
                before = json.load(f)
        except (OSError, ValueError):
            return  # no record (made by hand or another tool): existing outputs are kept
        before, now = _flat(before), _flat(self._record())
        changed = [f"{key}: {before.get(key)!r} -> {value!r}"
                   for key, value in now.items() if before.get(key) != value]
        if changed:
            raise OutputError(
                f"{self.skipped} output(s) of {self.output} were made with other settings ("
                + "; ".join(changed[:4]) + ("; …" if len(changed) > 4 else "") + ")",
                hint="pass --overwrite to redo them with the new settings, or write to "
                     "another output")

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        started = time.perf_counter()
        self.reporter.start(effect=self.effect_cls.name, input=self.input, output=self.output,
                            total=len(self.todo), skipped=self.skipped, device=str(self.device),
                            batch_size=self.batch_size)
        if self.todo:
            if not self.sink.is_video:
                write_text_atomic(self.sink.record_path(), json.dumps(self._record(), indent=1))
            self._process_all()
        seconds = time.perf_counter() - started
        summary = RunSummary(self.written, self.skipped, seconds, str(self.device))
        self.reporter.done(written=summary.written, skipped=summary.skipped,
                           seconds=round(seconds, 3), fps=round(summary.fps, 3))
        return summary

    def _process_all(self) -> None:
        fps = self.source.fps
        clip = ClipInfo(self.input, tuple(self.source.frames), float(fps) if fps else None)
        effect = self.effect
        decode_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="neuralfx-decode")
        # Video is encoded in order by one thread (the encoder has threads of its own).
        encode_pool = ThreadPoolExecutor(1 if self.sink.is_video else self.workers,
                                         thread_name_prefix="neuralfx-encode")
        pending: collections.deque[tuple[int, Future]] = collections.deque()
        try:
            effect.load(RunContext(self.device, self.dtype, clip, warn=self.reporter.warning))
            with torch.inference_mode():
                if self.effect_cls.needs_whole_clip:
                    with contextlib.closing(self._batches(decode_pool, self.source.frames)) as bs:
                        for batch in bs:
                            effect.analyse(batch)
                with contextlib.closing(self._batches(decode_pool, self.todo)) as bs:
                    for batch in bs:
                        self._submit(encode_pool, pending, self._process(effect, batch))
            while pending:
                self._finish(*pending.popleft())
            if self.writer is not None:
                self.writer.close()
                self.writer = None
        except KeyboardInterrupt:
            self._stop(encode_pool, pending)
            self.reporter.interrupted(self.written)
            raise
        except BaseException:
            self._stop(encode_pool, pending)
            raise
        finally:
            decode_pool.shutdown(wait=True, cancel_futures=True)
            encode_pool.shutdown(wait=True)
            effect.release()

    def _stop(self, encode_pool: ThreadPoolExecutor, pending: collections.deque) -> None:
        """Cancel what has not started; let running writes finish (they are atomic)."""
        encode_pool.shutdown(wait=True, cancel_futures=True)
        for frame, fut in pending:
            if not fut.cancelled() and fut.exception() is None:
                self._finish(frame, fut)
        pending.clear()
        if self.writer is not None:
            self.writer.abort()
            self.writer = None

    # -- decoding and batching ----------------------------------------------------------------
    def _pictures(self, pool: ThreadPoolExecutor, frames: list[int]) -> Iterator[Picture]:
        if self.source.video_path is not None:
            raw = _background(lambda: self.source.read_video(frames), self.lookahead)
            return _ordered_map(pool, lambda item: self.decoder(*item), raw, self.lookahead)
        return _ordered_map(pool, lambda f: self.decoder(f, self.source.read(f)), frames,
                            self.lookahead)

    def _batches(self, pool: ThreadPoolExecutor, frames: list[int]) -> Iterator[FrameBatch]:
        group: list[Picture] = []
        for picture in self._pictures(pool, frames):
            self._check_fits(picture)
            group.append(picture)
            if len(group) >= self.batch_size:
                yield self._upload(group)
                group = []
        if group:
            yield self._upload(group)

    def _check_fits(self, picture: Picture) -> None:
        if self.first is None:
            self.first = picture
            self._plan_output(picture)
            return
        first = self.first
        where = f"frame {picture.frame}" + (f" ({self.source.paths[picture.frame]})"
                                            if picture.frame in self.source.paths else "")
        if picture.size != first.size:
            raise FrameError(
                f"{where} is {picture.size[0]}x{picture.size[1]} but frame {first.frame} is "
                f"{first.size[0]}x{first.size[1]}; all frames of a clip must be the same size",
                hint="resize the odd frames, or process the parts separately with --frames",
                frame=picture.frame, path=self.source.paths.get(picture.frame))
        if (picture.alpha is None) != (first.alpha is None):
            has = "has" if picture.alpha is not None else "has no"
            raise FrameError(
                f"{where} {has} alpha channel, unlike frame {first.frame}",
                hint="give every frame the same channels, or process the parts separately "
                     "with --frames", frame=picture.frame, path=self.source.paths.get(picture.frame))

    def _upload(self, pictures: list[Picture]) -> FrameBatch:
        rgb = self._to_device([p.rgb for p in pictures])
        alpha = self._to_device([p.alpha for p in pictures]) if pictures[0].alpha is not None \
            else None
        return FrameBatch(rgb, alpha, tuple(p.frame for p in pictures))

    def _to_device(self, arrays: list[np.ndarray]) -> torch.Tensor:
        """``(H, W, C)`` arrays → ``(N, C, H, W)`` float tensor in [0, 1] on the device."""
        if len({a.dtype for a in arrays}) > 1:
            arrays = [to_unit_float(a) for a in arrays]
        scale = INTEGER_SCALE.get(arrays[0].dtype)
        # One copy into (pinned, for CUDA) host memory, then a non-blocking copy to the device.
        host = torch.empty((len(arrays),) + arrays[0].shape,
                           dtype=torch.from_numpy(arrays[0][:0]).dtype,
                           pin_memory=self.device.type == "cuda")
        np.stack(arrays, out=host.numpy())
        # Convert while the layout is still contiguous NHWC (much faster on the CPU than on the
        # permuted view); the permuted result is an NCHW tensor in channels_last memory format.
        x = host.to(self.device, non_blocking=True).to(torch.float32)
        if scale is not None:
            x.mul_(1.0 / scale)
        return x.permute(0, 3, 1, 2).to(self.dtype)

    # -- processing ---------------------------------------------------------------------------
    def _process(self, effect: Effect, batch: FrameBatch) -> FrameBatch:
        try:
            result = effect.process(batch)
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise NeuralFXError(
                    f"out of memory on {self.device} processing frame {batch.frames[0]} alone",
                    hint="use --precision fp16/bf16, smaller frames, or another device") from None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            self.batch_size = max(1, min(self.batch_size, len(batch) // 2))
            self.reporter.warning(f"out of memory with a batch of {len(batch)} frames; "
                                  f"continuing with batches of {self.batch_size}")
            done, start = [], 0
            while start < len(batch):  # a part that runs out of memory shrinks batch_size again
                stop = start + self.batch_size
                done.append(self._process(effect, self._slice(batch, start, stop)))
                start = stop
            return FrameBatch(torch.cat([d.rgb for d in done]),
                              None if done[0].alpha is None else torch.cat([d.alpha for d in done]),
                              batch.frames)
        if not isinstance(result, FrameBatch) or result.rgb.shape[0] != len(batch) \
                or result.rgb.shape[1] != 3 or result.rgb.shape[2:] != batch.rgb.shape[2:]:
            got = tuple(result.rgb.shape) if isinstance(result, FrameBatch) else type(result)
            raise NeuralFXError(
                f"effect {self.effect_cls.name!r} returned {got} for a batch of shape "
                f"{tuple(batch.rgb.shape)}", hint="this is a bug in the effect; report it to "
                f"the authors of plugin providing {self.effect_cls.name!r}")
        return result

    @staticmethod
    def _slice(batch: FrameBatch, start: int, stop: int) -> FrameBatch:
        return FrameBatch(batch.rgb[start:stop],
                          None if batch.alpha is None else batch.alpha[start:stop],
                          batch.frames[start:stop])

    # -- encoding -----------------------------------------------------------------------------
    def _plan_output(self, first: Picture) -> None:
        """Fix the output layout from the first frame: channels, depth and colour space."""
        opts, sink = self.opts, self.sink
        channels = first.channels if opts.channels == "auto" else _CHANNELS[opts.channels]
        if opts.channels == "rgba" and first.alpha is None:
            self.reporter.warning("the source has no alpha; writing an opaque alpha channel")
        can_alpha = sink.image_format.alpha if sink.image_format else sink.video_codec == "prores"
        if channels in (2, 4) and not can_alpha:
            self.reporter.warning(f"{self.output} cannot hold alpha; the alpha channel is dropped")
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
        working = self.effect_cls.working_space or source_space
        self.layout = OutputLayout(channels, depth, self.spaces.converter(working, out_space))
        if sink.is_video:
            fps = self.source.fps or fractions.Fraction(24)
            span = None
            if self.source.video_path and self.source.frames != list(
                    range(1, len(self.source.frames) + 1)):
                span = ((self.todo[0] - 1) / fps, self.todo[-1] / fps)
            self.writer = video.VideoWriter(
                sink.target, codec=sink.video_codec, fps=fps, width=first.size[0],
                height=first.size[1], alpha=channels == 4, crf=opts.crf,
                audio_from=self.source.video_path, audio_span=span)

    def _submit(self, pool: ThreadPoolExecutor, pending: collections.deque,
                batch: FrameBatch) -> None:
        assert self.layout is not None
        rgb = batch.rgb.float()
        finite = self._to_host(finite_frames(rgb))
        rgb = rgb.permute(0, 2, 3, 1)  # (N, H, W, 3), the layout codecs want
        alpha = None if batch.alpha is None else batch.alpha.float().permute(0, 2, 3, 1)
        if self.layout.convert is None:
            # Pack on the device: only the final samples (often uint8) cross to the host.
            frames, alphas = self._to_host(pack(rgb, alpha, self.layout)), None
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
            pending.append((frame, pool.submit(self._encode, frame, frames[i], a, finite[i],
                                               ready)))
        while len(pending) > self.lookahead or (pending and pending[0][1].done()):
            self._finish(*pending.popleft())

    def _to_host(self, x: torch.Tensor) -> np.ndarray:
        """A device tensor as a host array: a non-blocking copy into pinned memory on CUDA."""
        if self.device.type != "cuda":
            return x.contiguous().cpu().numpy()
        host = torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
        host.copy_(x, non_blocking=True)
        return host.numpy()

    def _encode(self, frame: int, data: np.ndarray, alpha: np.ndarray | None, finite: bool,
                ready: torch.cuda.Event | None = None) -> str:
        """Write one frame (in a worker). ``data`` is packed samples, or float RGB still to
        be converted to the output colour space when the layout has a conversion; ``ready``
        is the CUDA event after which the host copies hold the data."""
        if ready is not None:
            ready.synchronize()
        if not finite:
            raise nonfinite_error(frame)
        layout = self.layout
        assert layout is not None
        if layout.convert is not None:
            rgb = torch.from_numpy(layout.convert(data))[None]
            a = None if alpha is None else torch.from_numpy(alpha)[None]
            data = pack(rgb, a, layout)[0].numpy()
        if self.writer is not None:
            self.writer.write(data)
            return self.sink.target
        path = self.sink.path(frame)
        try:
            images.write_image(path, data, quality=self.opts.quality)
        except OSError as exc:
            raise OutputError(f"frame {frame}: cannot write {path}: {exc}",
                              hint="check the free space and permissions of the output folder") \
                from None
        return path

    def _finish(self, frame: int, fut: Future) -> None:
        path = fut.result()
        self.written += 1
        self.reporter.frame(frame, path, self.written, len(self.todo))


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _ordered_map(pool: ThreadPoolExecutor, fn: Callable, items: Iterable, lookahead: int) -> Iterator:
    """``map(fn, items)`` on ``pool``, in order, with at most ``lookahead`` calls in flight."""
    pending: collections.deque[Future] = collections.deque()
    it = iter(items)
    try:
        for item in it:
            pending.append(pool.submit(fn, item))
            if len(pending) >= lookahead:
                break
        while pending:
            fut = pending.popleft()
            for item in it:
                pending.append(pool.submit(fn, item))
                break
            yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
        close = getattr(it, "close", None)
        if close is not None:
            close()


def _background(make: Callable[[], Iterator], maxsize: int) -> Iterator:
    """Run the iterator made by ``make`` in a thread, ``maxsize`` items ahead of the reader."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in make():
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((end, None))
        except BaseException as exc:  # handed to the reader
            q.put((end, exc))

    thread = threading.Thread(target=produce, name="neuralfx-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is end:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
