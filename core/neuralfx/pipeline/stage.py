"""The frame stage of a run, shared by every executor: decode, check, batch, move to the
device, run the effect, add the marks, and hand back the frames to write.

With bounded hand-offs, so memory stays flat on any clip length::

    decode (thread pool, ordered, ``lookahead`` frames ahead; Effect.inspect runs here too)
      -> batch (sizes and layouts checked; batches aligned to clip positions)
      -> pinned host memory -> device (non-blocking copy) -> integer scaling on the device
      -> effect.process (batch halves on CUDA out-of-memory) -> label and watermark

OpenCV, OpenEXR, PyAV and OpenColorIO release the GIL while they work, so threads give real
parallelism for the codecs without copying frames between processes. What happens to the
frames next (the encoder, or another process) is the executor's business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..colour import ColourSpaces
from ..devices import one_thread_per_task
from ..host.plugins import get_host
from ..effect import ClipInfo, Effect, FrameBatch, RunContext
from ..errors import FrameError, NeuralFXError, ParameterError
from ..frames.images import stores_bgr
from ..frames.pixels import FrameDecoder, Picture, count_nonfinite, to_tensor
from .. import memory
from ..marks.marking import OutputMarks
from .plan import Plan
from .streams import background, ordered_map


class FrameStage:
    """The frames of one plan through one effect on one device. :meth:`results` yields the
    processed, marked batches of the frames to write, in order."""

    def __init__(
        self, plan: Plan, device: torch.device, dtype: torch.dtype, reporter, marks: OutputMarks
    ) -> None:
        self.plan, self.spec, self.effect = plan, plan.spec, plan.effect
        self.opts, self.reporter, self.marks = plan.opts, reporter, marks
        self.source = plan.source
        self.device, self.dtype = device, dtype
        opts = self.opts
        if plan.sink.is_video and opts.depth != "auto":
            raise ParameterError(
                "depth: video outputs choose their own depth (H.264 8-bit, ProRes 10-bit)",
                hint="leave --depth at auto for video",
            )
        if opts.fps is not None and not plan.sink.is_video:
            raise ParameterError(
                "fps: --fps is for video outputs",
                hint="image sequences carry no frame rate; leave --fps out",
            )
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
        self.decoder = FrameDecoder(
            self.spaces,
            opts.input_colorspace,
            self.spec.working_space,
            opts.nonfinite,
            reporter.warning,
        )
        self.first: Picture | None = None
        #: set once the effect is loaded (:meth:`context`, :meth:`_choose_inspection`)
        self.size = (0, 0)
        self.inspects = self.parallel_inspect = False
        #: called with the clip's first picture, before any batch (the output layout)
        self.on_first: Callable[[Picture], None] = lambda picture: None
        #: frames whose source holds NaN or infinity that the effect passes through → what
        #: they hold (the encoder refuses them for integer outputs)
        self.nonfinite_sources: dict[int, str] = {}
        self.todo = set(plan.todo)
        self.position = {f: i for i, f in enumerate(self.source.all_frames)}

    @property
    def passes_through(self) -> bool:
        """Frames go from the decoder to the encoder untouched: the effect changes nothing and
        no mark is drawn (see :meth:`Effect.passes_through`)."""
        return (
            self.effect.passes_through()
            and not self.marks.changes_pixels
            and not self.spec.needs_whole_clip
            and not getattr(self.effect, "stateful", False)
        )

    def results(self) -> Iterator[FrameBatch | Picture]:
        """Load the effect, show it the whole clip if it asks, then feed it the plan's frames
        (from the clip's start or a snapshot for a stateful effect) and yield the results of
        the frames to do: device batches, or the decoded pictures themselves when the frames
        pass through. Close it to stop early."""
        effect, plan = self.effect, self.plan
        threads = contextlib.ExitStack()
        pool = None
        try:
            effect.load(self.context())
            self._choose_inspection()
            if self.parallel_inspect:  # one frame per worker, each on one core
                threads.enter_context(one_thread_per_task())
            pool = ThreadPoolExecutor(self.workers, thread_name_prefix="neuralfx-decode")
            if self.passes_through:
                pictures = self._pictures(pool, plan.feed)
                try:
                    for picture in pictures:
                        self._check_fits(picture)
                        yield picture
                finally:
                    pictures.close()
                return
            if plan.start_state is not None:
                effect.load_state_dict({k: v.to(self.device) for k, v in plan.start_state.items()})
            # Inference mode from here on (not for load: Gatys optimises with autograd); the
            # consumer of the results runs in it too, between two batches.
            with torch.inference_mode():
                if self.spec.needs_whole_clip:
                    batches = self._batches(pool, self.source.all_frames)
                    try:
                        for batch in batches:
                            effect.analyse(batch)
                    finally:
                        batches.close()
                batches = self._batches(pool, plan.feed)
                try:
                    for batch in batches:
                        result = self._process(batch)
                        if self.marks.changes_pixels:  # every frame written, face or not
                            marked = self.marks.apply(result.rgb, batch.frames)
                            result = result.replace(rgb=marked)
                        self._snapshot(batch.frames[-1], last=batch.frames[-1] == plan.feed[-1])
                        keep = [i for i, f in enumerate(batch.frames) if f in self.todo]
                        if keep:
                            yield select(result, keep)
                finally:
                    batches.close()
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            threads.close()
            effect.release()

    def _choose_inspection(self) -> None:
        """Whether the decode workers call Effect.inspect (``self.inspects``), and whether
        they run the effect's per-frame model work there, one frame per worker on one torch
        thread each (``self.parallel_inspect``: on the CPU, where the effect offers it; see
        Effect.inspect). Always so on the CPU, whatever the number of workers: the last bits
        of a network's sums depend on the thread count, and a resumed run, a sub-range or a
        Ray actor with another number of workers must give the same frames. The workers are
        lowered to as many frames as fit in memory at once; where not even one fits, the
        effect paints in ``process`` and the first frame's check says what to do. A clip of
        one picture is painted in ``process`` on torch's threads: nothing could be painted
        beside it (a 4K still took 15.4 s on one thread against 8.6 s on two cores)."""
        effect = self.effect
        overridden = type(effect).inspect is not Effect.inspect
        offered = overridden and bool(getattr(effect, "parallel_inspect", False))
        self.parallel_inspect = False
        if offered and self.device.type == "cpu" and len(self.source.all_frames) > 1:
            fitting = memory.frames_that_fit(
                effect, *self.size, self.workers, self.lookahead, self.device
            )
            if fitting:
                self.parallel_inspect, self.workers = True, fitting
        self.inspects = overridden and (self.parallel_inspect or not offered)

    def context(self) -> RunContext:
        fps = self.source.fps or self.opts.frame_rate()
        width, height, depth = self.source.probe()
        self.size = (width, height)
        clip = ClipInfo(
            self.plan.input,
            tuple(self.source.all_frames),
            float(fps) if fps else None,
            (width, height),
            tuple(self.plan.todo),
        )
        space = self.spec.working_space or self.decoder.source_space(depth)
        convert = self.spaces.converter("srgb", space)

        def colour(rgb):
            if convert is None:
                return tuple(float(c) for c in rgb)
            return tuple(float(c) for c in convert(np.asarray(rgb, np.float32)[None, None])[0, 0])

        return RunContext(
            self.device,
            self.dtype,
            clip,
            warn=self.reporter.warning,
            colour=colour,
            compile=self.opts.compile,
            host=get_host(),  # (the run's: the runner is hosting it)
        )

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
        # Decoding, and the effect's own per-frame CPU work (Effect.inspect: face detection;
        # on the CPU, a network that may paint several frames at once), run in the decode
        # workers, overlapping the device's work on earlier batches.
        inspects = self.inspects
        # Frames that pass through keep the codec's channel order, saving a swap each way.
        bgr = self.passes_through

        def decode(frame: int, raw) -> Picture:
            picture = self.decoder(frame, raw)
            if inspects:
                picture.notes = self.effect.inspect(picture.frame, picture.rgb)
            return picture

        def read(frame: int) -> Picture:
            picture = decode(frame, self.source.read(frame, bgr=bgr))
            picture.bgr = (
                bgr and picture.pixels.shape[2] >= 3 and stores_bgr(self.source.paths[frame])
            )
            return picture

        if self.source.video_path is not None:
            raw = background(lambda: self.source.read_video(frames), self.lookahead)
            return ordered_map(pool, lambda item: decode(*item), raw, self.lookahead)
        return ordered_map(pool, read, frames, self.lookahead)

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
        if not picture.finite and self.spec.accepts_nonfinite:  # passed through, not blamed
            self.nonfinite_sources[picture.frame] = count_nonfinite(picture.pixels)
        elif not picture.finite:
            raise FrameError(
                f"{self._where(picture)} holds {count_nonfinite(picture.pixels)}, which "
                f"{self.spec.name} cannot take",
                hint="pass --nonfinite clamp (NaN 0, "
                "infinities ±65504) or --nonfinite zero to replace them, fix them "
                "in the source, or leave the frame out with --frames",
                frame=picture.frame,
                path=self.source.paths.get(picture.frame),
            )
        if self.first is None:
            self.first = picture
            if not self.passes_through:
                self.batch_size = memory.fit_batch(
                    self.effect,
                    *picture.size,
                    self.batch_size,
                    self.lookahead,
                    self.device,
                    automatic=self.opts.batch_size == "auto",
                    where=self._where(picture),
                )
            self.on_first(picture)
            return
        mismatch = self._mismatch(picture, self.first)
        if mismatch is not None:
            what, fix = mismatch
            raise FrameError(
                f"{self._where(picture)} {what}",
                hint=f"{fix}, or process the parts separately with --frames",
                frame=picture.frame,
                path=self.source.paths.get(picture.frame),
            )

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
            return (
                f"{has} alpha channel, unlike frame {first.frame}",
                "give every frame the same channels",
            )
        if (picture.channels > 2) != (first.channels > 2) and self.opts.channels == "auto":
            kind = {True: "RGB", False: "gray"}
            what = (
                f"is {kind[picture.channels > 2]} but frame {first.frame} is "
                f"{kind[first.channels > 2]}"
            )
            return what, "pass --channels rgb (or gray) to say what to write"
        if picture.depth != first.depth and self.opts.depth == "auto":
            what = f"is {_bits(picture.depth)} but frame {first.frame} is {_bits(first.depth)}"
            return what, "pass --depth to say what to write"
        return None

    def _upload(self, pictures: list[Picture]) -> FrameBatch:
        rgb = to_tensor([p.rgb for p in pictures], self.device, self.dtype)
        # Alpha is written back untouched: it stays float32 whatever the compute precision
        # (bf16 keeps 8 bits of mantissa, which would round 16-bit alpha).
        alpha = (
            to_tensor([p.alpha for p in pictures], self.device, torch.float32)
            if pictures[0].alpha is not None
            else None
        )
        notes = tuple(p.notes for p in pictures) if self.inspects else None
        return FrameBatch(rgb, alpha, tuple(p.frame for p in pictures), notes)

    # -- processing ---------------------------------------------------------------------------
    def _process(self, batch: FrameBatch) -> FrameBatch:
        try:
            result = self.effect.process(batch)
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise NeuralFXError(
                    f"out of memory on {self.device} processing frame {batch.frames[0]} alone",
                    hint="use --precision fp16/bf16, smaller frames, or another device",
                ) from None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            self.batch_size = max(1, min(self.batch_size, len(batch) // 2))
            self.reporter.warning(
                f"out of memory with a batch of {len(batch)} frames; "
                f"continuing with batches of {self.batch_size}"
            )
            done, start = [], 0
            while start < len(batch):  # a part that runs out of memory shrinks batch_size again
                stop = start + self.batch_size
                done.append(self._process(select(batch, range(start, min(stop, len(batch))))))
                start = stop
            return FrameBatch(
                torch.cat([d.rgb for d in done]),
                None if done[0].alpha is None else torch.cat([d.alpha for d in done]),
                batch.frames,
            )
        if (
            not isinstance(result, FrameBatch)
            or result.rgb.shape[0] != len(batch)
            or result.rgb.shape[1] != 3
            or result.rgb.shape[2:] != batch.rgb.shape[2:]
        ):
            got = tuple(result.rgb.shape) if isinstance(result, FrameBatch) else type(result)
            raise NeuralFXError(
                f"effect {self.spec.name!r} returned {got} for a batch of shape "
                f"{tuple(batch.rgb.shape)}",
                hint="this is a bug in the effect; report it to "
                f"the authors of the plugin providing {self.spec.name!r}",
            )
        return result


def select(batch: FrameBatch, indices) -> FrameBatch:
    """The rows ``indices`` of a batch."""
    idx = list(indices)
    if idx == list(range(len(batch))):
        return batch
    rows = torch.tensor(idx, device=batch.rgb.device)
    return FrameBatch(
        batch.rgb.index_select(0, rows),
        None if batch.alpha is None else batch.alpha.index_select(0, rows),
        tuple(batch.frames[i] for i in idx),
        None if batch.notes is None else tuple(batch.notes[i] for i in idx),
    )


def _bits(depth: str) -> str:
    return {"8": "8-bit", "16": "16-bit", "half": "half float", "float": "float"}[depth]
