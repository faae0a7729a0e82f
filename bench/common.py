"""What the benchmarks share: the device's name, its peak memory, and the codec ceiling that
an end-to-end figure is compared with."""

from __future__ import annotations

import glob
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from neuralfx.devices import PRECISIONS, cpu_has_bf16
from neuralfx.frames.images import read_image, write_image


def default_precisions(cuda: bool) -> list[str]:
    """fp32, bf16 and fp16 on CUDA; fp32 on a CPU, and bf16 where the CPU has bf16
    instructions (elsewhere torch emulates it a few hundred times slower)."""
    if cuda:
        return ["fp32", "bf16", "fp16"]
    return ["fp32", "bf16"] if cpu_has_bf16() else ["fp32"]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_mb(device: torch.device) -> str:
    """The device memory's high-water mark since :func:`reset_peak`, in MiB ("-" on a CPU)."""
    if device.type != "cuda":
        return "-"
    return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}"


def model_table(
    device: torch.device, precisions: list[str], batches: list[int], unit: str, per_second
) -> None:
    """Print the model-only table: ``per_second(dtype, batch)`` for every precision and batch,
    beside the device memory's high-water mark of that figure."""
    print(f"{'precision':<10}{'batch':>6}{unit:>12}{'GPU MB':>8}")
    for precision in precisions:
        for batch in batches:
            reset_peak(device)
            fps = per_second(PRECISIONS[precision], batch)
            print(f"{precision:<10}{batch:>6}{fps:>12.1f}{peak_mb(device):>8}")


def codec_ceiling(pattern: str, out_ext: str, workers: int | None = None) -> float:
    """Frames/s that decoding the sequence ``pattern`` (a ``####`` pattern) and encoding it
    as ``out_ext`` allow when both share the cores: 1 / (1/decode + 1/encode), each measured
    with a pool of ``workers`` threads as the pipeline runs them."""
    paths = sorted(glob.glob(pattern.replace("####", "[0-9]" * 4)))
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(workers) as pool, tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        frames = list(pool.map(read_image, paths))
        decode = len(paths) / (time.perf_counter() - started)
        started = time.perf_counter()
        list(
            pool.map(
                lambda ip: write_image(os.path.join(out, f"o.{ip[0]:04d}{out_ext}"), ip[1]),
                enumerate(frames),
            )
        )
        encode = len(paths) / (time.perf_counter() - started)
    return 1 / (1 / decode + 1 / encode)
