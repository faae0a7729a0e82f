"""Choosing the run's device and precision, and preparing the process for the device."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator

import cv2
import torch

from .errors import ParameterError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def available_devices() -> list[str]:
    """Every device torch can use here, e.g. ``["cuda:0", "cpu"]``."""
    found = (
        [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(text: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; explicit devices are checked to exist."""
    if text == "auto":
        return torch.device(available_devices()[0])
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ParameterError(
            f"device: {text!r} is not a device", hint="use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ParameterError(
                "device: CUDA was asked for but torch sees no CUDA GPU",
                hint="use --device cpu, or install a CUDA build of torch",
            )
        if device.index is not None and device.index >= count:
            raise ParameterError(
                f"device: {text} does not exist (this machine has {count} CUDA device(s))",
                hint=f"use cuda:0 to cuda:{count - 1}",
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    elif device.type == "mps" and text not in available_devices():
        raise ParameterError("device: MPS is not available here", hint="use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(
            f"device: {text!r} is not supported", hint="use auto, cpu, cuda, cuda:N or mps"
        )
    return device


def prepare_process(device: torch.device) -> None:
    """Set the process up for work on ``device``: call once a run has chosen its device.

    On the CPU with glibc, every tensor above malloc's mmap threshold (at most 32 MB, less than
    one 512² activation of 32 channels) is mapped fresh and unmapped when freed, so each frame
    pays a page fault for every 4 KiB of every activation, again and again. Serving large
    blocks from the heap and keeping freed memory there makes the pages stay resident from
    one frame to the next: the 26-style network runs 2.2x faster at 512² and 2x at 1080p on
    2 cores (bench/painting_style.py --system-allocator shows the before). The cost is that
    the process keeps its peak memory until it exits, which suits a render job."""
    if device.type == "cpu":
        _keep_freed_memory()


_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8  # from glibc's <malloc.h>


def _keep_freed_memory() -> None:
    if not sys.platform.startswith("linux"):
        return  # macOS and Windows allocators cache large blocks themselves
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl has no mallopt): keep the default allocator
    mallopt(_M_MMAP_MAX, 0)
    mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    # One arena for every thread: a thread that allocates on its own (a decode worker painting
    # a frame) would get an arena of heaps of at most 64 MB, which cannot keep a 720p
    # activation, and pay the page faults again each frame (Magenta's network, two frames at
    # once on two AVX2 cores at 720p: 86,000 faults a frame, 447 against 322 ms a frame).
    mallopt(_M_ARENA_MAX, 1)


@contextlib.contextmanager
def one_thread_per_task() -> Iterator[None]:
    """torch's and OpenCV's own thread pools cut to one thread while it lasts (restored after):
    for work already spread one task per core (frames painted in the decode workers), where a
    library splitting each task again only adds threads that wait for each other. (OpenCV's DIS
    flow for a 640x360 frame: 31 ms of CPU on one thread, 41 on two; its results do not depend
    on the thread count, torch's sums do in their last bits.)"""
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


def resolve_precision(text: str, device: torch.device) -> torch.dtype:
    try:
        dtype = PRECISIONS[text]
    except KeyError:
        raise ParameterError(f"precision: {text!r} is not one of {', '.join(PRECISIONS)}") from None
    if device.type != "cpu" or dtype is torch.float32:
        return dtype
    if dtype is torch.float16:
        raise ParameterError(
            "precision: fp16 is not supported on the CPU",
            hint="use --precision bf16 or fp32 on the CPU"
            if cpu_has_bf16()
            else "use --precision fp32 on the CPU",
        )
    if not cpu_has_bf16():
        raise ParameterError(
            "precision: this CPU has no bf16 instructions (AVX-512 or AMX), so torch would run "
            "bf16 convolutions a few hundred times slower than fp32",
            hint="use --precision fp32 (the default) on this machine, or a GPU",
        )
    return dtype


def cpu_has_bf16() -> bool:
    """Whether oneDNN computes bf16 on this CPU. Without AVX-512 (or AMX) torch falls back
    to reference loops: one 64-channel 3x3 convolution of a 128x128 image took 3.5 s in bf16
    against 15 ms in fp32 on an AVX2 EPYC."""
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return torch.backends.mkldnn.is_available() and (supported is None or bool(supported()))
