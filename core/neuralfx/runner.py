"""The local executor: runs one effect over one clip on one device.

The plan (:mod:`neuralfx.plan`) says what to read, write and skip. Then, with bounded
hand-offs so memory stays flat on any clip length::

    decode (thread pool, ordered, ``lookahead`` frames ahead)
      -> batch (main thread; sizes and layouts checked; batches aligned to clip positions)
      -> pinned host memory -> device (non-blocking copy) -> integer scaling on the device
      -> effect.process under torch.inference_mode (batch halves on CUDA out-of-memory)
      -> packing to the output depth on the device
      -> pinned host memory (non-blocking copy; the workers wait on a CUDA event)
      -> encode + record + atomic write (thread pool, at most ``lookahead`` frames pending)

OpenCV, OpenEXR, PyAV and OpenColorIO release the GIL while they work, so threads give real
parallelism for the codecs without copying frames between processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .colour import ColourSpaces
from .devices import prepare_process, resolve_device, resolve_precision
from .effect import ClipInfo, Effect, EffectSpec, FrameBatch, RunContext
from .encode import Encoder
from .errors import FrameError, NeuralFXError, ParameterError, PluginError
from .frames import video
from .frames.pixels import INTEGER_SCALE, FrameDecoder, Picture, to_unit_float
from .frames.sequence import describe_frames
from .marking import OutputMarks
from .options import RunOptions
from .plan import Plan, make_plan
from .plugins import PluginHost, get_host
from .progress import Reporter
from .streams import background, ordered_map


__all__ = ["RunOptions", "RunSummary", "run"]


@dataclasses.dataclass(frozen=True)
class RunSummary:
    written: int
    skipped: int
    seconds: float
    device: str

    @property
    def fps(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def run(effect: str | type[Effect] | EffectSpec, input: str, output: str, *,
        settings: Mapping[str, Any] | None = None, options: RunOptions | None = None,
        reporter: Reporter | None = None, host: PluginHost | None = None) -> RunSummary:
    """Run ``effect`` over ``input`` into ``output``: the Python API behind ``neuralfx run``.

    ``settings`` are the effect's parameters by name (``{"strength": 0.5}``), ``options`` the
    run options. Raises :class:`~neuralfx.errors.NeuralFXError` for bad input (before any
    output is written when it can be found out up front); ``KeyboardInterrupt`` stops cleanly,
    leaving only complete output files. Without a reporter, warnings go to the ``neuralfx``
    logger (shown on stderr unless logging is configured otherwise).
    """
    reporter = reporter or Reporter()
    try:
        spec, effect_cls, version = _resolve(effect, host or get_host())
        opts = options or RunOptions()
        opts.check()
        device = resolve_device(opts.device)
        dtype = resolve_precision(opts.precision, device)
        prepare_process(device)
        # The effect checks its settings as a whole before any file is looked at or created.
        instance = effect_cls(spec.validate(settings or {}))
        plan = make_plan(spec, instance, input, output, opts, version=version,
                         warn=reporter.warning)
        return _Job(plan, device, dtype, reporter).run()
    except NeuralFXError as exc:
        reporter.error(exc.message, exc.hint, getattr(exc, "frame", None),
                       getattr(exc, "path", None))
        exc.reported = True  # the CLI does not print it as an event again
        raise


def _resolve(effect, host: PluginHost) -> tuple[EffectSpec, type[Effect], str]:
    if isinstance(effect, str):
        return host.spec(effect), host.effect(effect), host.version_of(effect)
    if isinstance(effect, EffectSpec):
        return effect, effect.load_class(), "unknown"
    if isinstance(effect, type) and issubclass(effect, Effect):
        module = __import__(effect.__module__.partition(".")[0])
        return effect.spec, effect, str(getattr(module, "__version__", "unknown"))
    raise PluginError(f"{effect!r} is not an effect name, spec or class")


class _Job:
    def __init__(self, plan: Plan, device: torch.device, dtype: torch.dtype,
                 reporter: Reporter) -> None:
        self.plan, self.spec, self.effect = plan, plan.spec, plan.effect
        self.opts, self.reporter = plan.opts, reporter
        self.source, self.sink = plan.source, plan.sink
        self.device, self.dtype = device, dtype
        opts = self.opts
        if self.sink.is_video and opts.depth != "auto":
            raise ParameterError("depth: video outputs choose their own depth (H.264 8-bit, "
                                 "ProRes 10-bit)", hint="leave --depth at auto for video")
        if opts.fps is not None and not self.sink.is_video:
            raise ParameterError("fps: --fps is for video outputs",
                                 hint="image sequences carry no frame rate; leave --fps out")
        self.spaces = ColourSpaces(opts.ocio)
        for name in (opts.input_colorspace, opts.output_colorspace):
            if name:
                self.spaces.resolve(name)  # unknown names fail before any work
        if opts.batch_size == "auto":
            self.batch_size = self.spec.preferred_batch_size if device.type == "cuda" else 1
        else:
            self.batch_size = int(opts.batch_size)
        self.workers = opts.worker_count()
        self.lookahead = 2 * self.workers + self.batch_size
        self.decoder = FrameDecoder(self.spaces, opts.input_colorspace, self.spec.working_space)
        self.first: Picture | None = None
        self.todo = set(plan.todo)
        self.position = {f: i for i, f in enumerate(self.source.all_frames)}
        self.marks = OutputMarks(self.spec, opts, plan)  # label, watermark, provenance, C2PA
        if self.marks.credentials is not None and not self.marks.can_sign(plan.output):
            reporter.warning(f"{plan.output}: C2PA has no way to embed a manifest in this "
                             "format; only the provenance record beside it is written")
        self.encoder = Encoder(plan, self.spaces, self.decoder, device, reporter,
                               lookahead=self.lookahead, sign=self.marks.sign)
        if self.source.video_path:
            video.warn_if_variable_rate(self.source.video_path, reporter.warning)

    def run(self) -> RunSummary:
        started = time.perf_counter()
        plan = self.plan
        self.reporter.start(effect=self.spec.name, input=plan.input, output=plan.output,
                            total=len(plan.todo), skipped=plan.skipped, device=str(self.device),
                            batch_size=self.batch_size, **self.marks.info())
        replay = [f for f in plan.feed if f not in self.todo]
        if replay:
            self.reporter.warning(
                f"{self.spec.name} carries state from frame to frame: processing frames "
                f"{describe_frames(replay)} again (not written) so the frames to do come out "
                "exactly as in one uninterrupted run")
        try:
            if plan.todo:
                self._process_all()
        finally:
            plan.close()
        seconds = time.perf_counter() - started
        written = self.encoder.written
        summary = RunSummary(written, plan.skipped, seconds, str(self.device))
        record = self.marks.write_provenance(written) if written else None
        self.reporter.done(written=written, skipped=plan.skipped, seconds=round(seconds, 3),
                           fps=round(summary.fps, 3), **({"provenance": record} if record
                                                         else {}))
        return summary

    def _context(self) -> RunContext:
        fps = self.source.fps or self.opts.frame_rate()
        width, height, depth = self.source.probe()
        clip = ClipInfo(self.plan.input, tuple(self.source.all_frames),
                        float(fps) if fps else None, (width, height), tuple(self.plan.todo))
        space = self.spec.working_space or self.decoder.source_space(depth)
        convert = self.spaces.converter("srgb", space)

        def colour(rgb):
            if convert is None:
                return tuple(float(c) for c in rgb)
            return tuple(float(c) for c in convert(np.asarray(rgb, np.float32)[None, None])[0, 0])

        return RunContext(self.device, self.dtype, clip, warn=self.reporter.warning,
                          colour=colour)

    def _process_all(self) -> None:
        effect, plan = self.effect, self.plan
        decode_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="neuralfx-decode")
        try:
            effect.load(self._context())
            if plan.start_state is not None:
                effect.load_state_dict({k: v.to(self.device) for k, v in
                                        plan.start_state.items()})
            with torch.inference_mode():
                if self.spec.needs_whole_clip:
                    with contextlib.closing(self._batches(decode_pool,
                                                          self.source.all_frames)) as bs:
                        for batch in bs:
                            effect.analyse(batch)
                with contextlib.closing(self._batches(decode_pool, plan.feed)) as bs:
                    for batch in bs:
                        result = self._process(batch)
                        if self.marks.any:  # every frame written, face or not
                            result = result.replace(rgb=self.marks.apply(result.rgb))
                        self._snapshot(batch.frames[-1], last=batch.frames[-1] == plan.feed[-1])
                        keep = [i for i, f in enumerate(batch.frames) if f in self.todo]
                        if keep:
                            plan.prepare_output()
                            self.encoder.submit(_select(result, keep))
            self.encoder.finish()
        except KeyboardInterrupt:
            self.encoder.stop()
            self.reporter.interrupted(self.encoder.written, resumable=plan.resumable)
            raise
        except BaseException:
            self.encoder.stop()
            raise
        finally:
            decode_pool.shutdown(wait=True, cancel_futures=True)
            self.encoder.shutdown()
            effect.release()

    def _snapshot(self, frame: int, last: bool) -> None:
        """Save a stateful effect's state now and then, and after the last frame."""
        store = self.plan.snapshots
        if store is None or not (last or store.due()):
            return
        state = self.effect.state_dict()
        if state is not None:
            self.plan.prepare_output()
            store.save(frame, state)

    # -- decoding and batching ----------------------------------------------------------------
    def _pictures(self, pool: ThreadPoolExecutor, frames: list[int]) -> Iterator[Picture]:
        # Decoding, and the effect's own per-frame CPU work (Effect.inspect: face detection),
        # run in the decode workers, overlapping the device's work on earlier batches.
        inspects = type(self.effect).inspect is not Effect.inspect

        def decode(frame: int, raw) -> Picture:
            picture = self.decoder(frame, raw)
            if inspects:
                picture.notes = self.effect.inspect(picture.frame, picture.rgb)
            return picture

        if self.source.video_path is not None:
            raw = background(lambda: self.source.read_video(frames), self.lookahead)
            return ordered_map(pool, lambda item: decode(*item), raw, self.lookahead)
        return ordered_map(pool, lambda f: decode(f, self.source.read(f)), frames,
                           self.lookahead)

    def _batches(self, pool: ThreadPoolExecutor, frames: list[int]) -> Iterator[FrameBatch]:
        """Batches of consecutive pictures; a batch never crosses a multiple of the batch size
        in clip position, so a resumed run batches frames exactly as a whole run does."""
        group: list[Picture] = []
        for picture in self._pictures(pool, frames):
            self._check_fits(picture)
            if group and self.position[picture.frame] % self.batch_size == 0:
                yield self._upload(group)
                group = []
            group.append(picture)
            if len(group) >= self.batch_size:
                yield self._upload(group)
                group = []
        if group:
            yield self._upload(group)

    def _where(self, picture: Picture) -> str:
        path = self.source.paths.get(picture.frame)
        return f"frame {picture.frame}" + (f" ({path})" if path else "")

    def _check_fits(self, picture: Picture) -> None:
        if not picture.finite and self.spec.accepts_nonfinite:
            self.encoder.nonfinite_sources.add(picture.frame)  # passed through, not blamed
        elif not picture.finite:
            raise FrameError(
                f"{self._where(picture)} holds NaN or infinite values, which "
                f"{self.spec.name} cannot take", hint="fix or clamp them in the source (a "
                "compositing clamp), or leave the frame out with --frames",
                frame=picture.frame, path=self.source.paths.get(picture.frame))
        if self.first is None:
            self.first = picture
            self.encoder.plan_layout(picture)
            return
        mismatch = self._mismatch(picture, self.first)
        if mismatch is not None:
            what, fix = mismatch
            raise FrameError(f"{self._where(picture)} {what}",
                             hint=f"{fix}, or process the parts separately with --frames",
                             frame=picture.frame, path=self.source.paths.get(picture.frame))

    def _mismatch(self, picture: Picture, first: Picture) -> tuple[str, str] | None:
        """How ``picture`` differs from the clip's first frame in a way the output cannot
        hold, and what fixes it; None when it fits. Gray/RGB and bit-depth mixes are fine
        when --channels / --depth say what to write."""
        if picture.size != first.size:
            (w, h), (fw, fh) = picture.size, first.size
            what = f"is {w}x{h} but frame {first.frame} is {fw}x{fh}"
            return what + "; all frames of a clip must be the same size", "resize the odd frames"
        if (picture.alpha is None) != (first.alpha is None):
            has = "has" if picture.alpha is not None else "has no"
            return (f"{has} alpha channel, unlike frame {first.frame}",
                    "give every frame the same channels")
        if (picture.channels > 2) != (first.channels > 2) and self.opts.channels == "auto":
            kind = {True: "RGB", False: "gray"}
            what = f"is {kind[picture.channels > 2]} but frame {first.frame} is " \
                   f"{kind[first.channels > 2]}"
            return what, "pass --channels rgb (or gray) to say what to write"
        if picture.depth != first.depth and self.opts.depth == "auto":
            what = f"is {_bits(picture.depth)} but frame {first.frame} is {_bits(first.depth)}"
            return what, "pass --depth to say what to write"
        return None

    def _upload(self, pictures: list[Picture]) -> FrameBatch:
        rgb = self._to_device([p.rgb for p in pictures])
        alpha = self._to_device([p.alpha for p in pictures]) if pictures[0].alpha is not None \
            else None
        notes = tuple(p.notes for p in pictures) \
            if type(self.effect).inspect is not Effect.inspect else None
        return FrameBatch(rgb, alpha, tuple(p.frame for p in pictures), notes)

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
    def _process(self, batch: FrameBatch) -> FrameBatch:
        try:
            result = self.effect.process(batch)
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
                done.append(self._process(_select(batch, range(start, min(stop, len(batch))))))
                start = stop
            return FrameBatch(torch.cat([d.rgb for d in done]),
                              None if done[0].alpha is None else torch.cat([d.alpha for d in done]),
                              batch.frames)
        if not isinstance(result, FrameBatch) or result.rgb.shape[0] != len(batch) \
                or result.rgb.shape[1] != 3 or result.rgb.shape[2:] != batch.rgb.shape[2:]:
            got = tuple(result.rgb.shape) if isinstance(result, FrameBatch) else type(result)
            raise NeuralFXError(
                f"effect {self.spec.name!r} returned {got} for a batch of shape "
                f"{tuple(batch.rgb.shape)}", hint="this is a bug in the effect; report it to "
                f"the authors of the plugin providing {self.spec.name!r}")
        return result


def _select(batch: FrameBatch, indices) -> FrameBatch:
    idx = list(indices)
    if idx == list(range(len(batch))):
        return batch
    rows = torch.tensor(idx, device=batch.rgb.device)
    return FrameBatch(batch.rgb.index_select(0, rows),
                      None if batch.alpha is None else batch.alpha.index_select(0, rows),
                      tuple(batch.frames[i] for i in idx),
                      None if batch.notes is None else tuple(batch.notes[i] for i in idx))


def _bits(depth: str) -> str:
    return {"8": "8-bit", "16": "16-bit", "half": "half float", "float": "float"}[depth]

