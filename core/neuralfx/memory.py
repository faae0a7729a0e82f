"""Memory checked before the first frame, so that a frame too large for the machine is refused
with a message instead of the process being killed part way (an 8000x8000 frame through
painting-style took 18 GB before the kernel's OOM killer ended it, with no message).

Effects say what a frame needs (:meth:`neuralfx.Effect.memory_needed`); the host adds what its
own pipeline holds (decoded frames waiting, results waiting to be written) and compares with
what the device has free: on the CPU the kernel's available memory, within a container's limit;
on CUDA the free device memory plus what torch holds in reserve.
"""

from __future__ import annotations

import os

import torch

from .errors import ParameterError

#: Bytes a frame in flight in the host's pipeline holds per pixel (the decoded samples, their
#: float32 copy and the packed result): about what `bench`-style runs measured beside the
#: effect's own need (125 B/pixel over 5 frames in flight at 4K).
PIPELINE_BYTES_PER_PIXEL = 24
#: The estimates are measured peaks; keep this share of the free memory in hand.
HEADROOM = 0.9


def free_bytes(device: torch.device) -> int | None:
    """What ``device`` has free for a run's work, or None where it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type != "cpu":
        return None
    available = _meminfo_available()
    limit = _cgroup_room()
    known = [v for v in (available, limit) if v is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """A container's memory limit less what it uses (cgroup v2), or None."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            return max(0, int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        return None


def fit_batch(
    effect,
    width: int,
    height: int,
    batch: int,
    in_flight: int,
    device: torch.device,
    *,
    automatic: bool,
    where: str,
) -> int:
    """The batch size to use for ``width`` x ``height`` frames: ``batch``, lowered to what fits
    when it was chosen automatically; ParameterError naming the sizes when one frame cannot
    fit at all. ``in_flight``: frames the pipeline holds besides the batch."""
    need, room = _need_and_room(effect, width, height, in_flight, device)
    if need is None or room is None:
        return batch
    if need > room:
        raise ParameterError(
            f"{where} is {width}x{height}: processing it takes about {_gb(need)} on {device} "
            f"and {_gb(max(room, 0))} is free for it",
            hint=effect.when_too_large(width, height, int(max(room, 0)))
            + " (NEURALFX_NO_MEMORY_CHECK=1 tries anyway)",
        )
    return max(1, min(batch, int(room // need))) if automatic else batch


def frames_that_fit(effect, width: int, height: int, most: int, in_flight: int, device) -> int:
    """How many ``width`` x ``height`` frames, up to ``most``, can be processed at once beside
    ``in_flight`` frames in the pipeline (``most`` where it cannot be told; 0: not one)."""
    need, room = _need_and_room(effect, width, height, in_flight, device)
    if need is None or room is None:
        return most
    return max(0, min(most, int(room // need)))


def _need_and_room(effect, width, height, in_flight, device) -> tuple[int | None, float | None]:
    """What one frame needs, and the room for it; None where not known or not checked."""
    need = effect.memory_needed(width, height)
    free = free_bytes(device)
    if need is None or free is None or os.environ.get("NEURALFX_NO_MEMORY_CHECK"):
        return None, None
    return need, HEADROOM * free - in_flight * PIPELINE_BYTES_PER_PIXEL * width * height


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"
