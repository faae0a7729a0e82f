"""Pipeline throughput: ``convert`` against decode-only and encode-only, same worker count.

    python bench/pipeline.py                      # 1080p PNG, JPEG and EXR, 32 frames each
    python bench/pipeline.py --frames 64 --workers 8 --formats exr --device cuda

For each format it writes a 1080p sequence, then measures (frames/s, best of ``--repeat``):

* decode-only: every frame read by a pool of ``--workers`` threads (what the pipeline's decode
  stage does), nothing else;
* encode-only: the decoded frames written back in the same format by the same pool;
* pipeline: ``neuralfx run convert`` of the whole sequence (decode, encode, record, atomic
  rename; ``convert`` passes its frames through, so they skip the device);
* via device: the same through the device as float and back, as frames of an effect that
  changes pixels go (side by side, same run).

The pipeline must do both decoding and encoding, so when decode and encode compete for the
same cores (few cores), the ceiling is 1 / (1/decode + 1/encode); the goal is at least 0.90 of
it. On a workstation the two stages use separate cores and the ceiling is min(decode, encode),
shown as "vs min".
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import neuralfx
from neuralfx.frames.images import read_image, write_image
from neuralfx.pipeline.progress import Reporter

FORMATS = {"png": (".png", np.uint8), "jpeg": (".jpg", np.uint8), "exr": (".exr", np.float16)}


def test_frame(i: int, width: int, height: int, dtype) -> np.ndarray:
    """A 1080p frame with smooth gradients and fine texture (like a plate, not like noise)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x / width
    g = y / height
    b = 0.5 + 0.25 * np.sin((x + 3 * i) / 9.0) * np.cos(y / 13.0)
    pic = np.stack([r, g, b], axis=-1)
    pic += np.random.default_rng(i).normal(0, 0.01, pic.shape).astype(np.float32)
    pic = np.clip(pic, 0, 1)
    return (pic * 255 + 0.5).astype(np.uint8) if dtype == np.uint8 else pic.astype(dtype)


def best_fps(fn, frames: int, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = max(best, frames / (time.perf_counter() - start))
    return best


def bench_format(name: str, args, root: str) -> dict:
    suffix, dtype = FORMATS[name]
    src_dir = os.path.join(root, name, "src")
    os.makedirs(src_dir)
    paths = [os.path.join(src_dir, f"plate.{1001 + i:04d}{suffix}") for i in range(args.frames)]
    with ThreadPoolExecutor(args.workers) as pool:
        list(
            pool.map(
                lambda ip: write_image(ip[1], test_frame(ip[0], args.width, args.height, dtype)),
                enumerate(paths),
            )
        )
        decoded: list[np.ndarray] = []

        def decode_only():
            decoded[:] = list(pool.map(read_image, paths))

        def encode_only():
            out = os.path.join(root, name, "enc")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            list(
                pool.map(
                    lambda ip: write_image(os.path.join(out, f"o.{ip[0]:04d}{suffix}"), ip[1]),
                    enumerate(decoded),
                )
            )

        decode = best_fps(decode_only, args.frames, args.repeat)
        encode = best_fps(encode_only, args.frames, args.repeat)

    pattern = os.path.join(src_dir, f"plate.####{suffix}")
    out_pattern = os.path.join(root, name, "run", f"o.####{suffix}")
    options = neuralfx.RunOptions(
        workers=args.workers, overwrite=True, device=args.device, batch_size=args.batch_size
    )
    pipeline = best_fps(
        lambda: neuralfx.run("convert", pattern, out_pattern, options=options, reporter=Reporter()),
        args.frames,
        args.repeat,
    )
    via_device = best_fps(
        lambda: neuralfx.run(
            convert_on_device(), pattern, out_pattern, options=options, reporter=Reporter()
        ),
        args.frames,
        args.repeat,
    )
    ceiling = 1 / (1 / decode + 1 / encode)
    return {
        "format": name,
        "decode": decode,
        "encode": encode,
        "pipeline": pipeline,
        "ratio": pipeline / min(decode, encode),
        "shared_core_ceiling": ceiling,
        "share": pipeline / ceiling,
        "via_device": via_device,
        "via_device_share": via_device / ceiling,
    }


def convert_on_device():
    """``convert`` without the pass-through: every frame goes to the device as float and is
    packed back, as any effect's frames do (the path before ``Effect.passes_through``)."""
    convert = neuralfx.get_host().effect("convert")

    class ConvertOnDevice(convert):
        name = "convert-on-device"
        summary = "convert through the device"

        def passes_through(self) -> bool:
            return False

    return ConvertOnDevice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--formats", default="png,jpeg,exr")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    neuralfx.get_host()  # load the plugins before anything is timed
    root = tempfile.mkdtemp(prefix="neuralfx-bench-")
    try:
        rows = [bench_format(name, args, root) for name in args.formats.split(",")]
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"# neuralfx {neuralfx.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {args.workers} workers, {args.width}x{args.height}, "
        f"{args.frames} frames, device {args.device}"
    )
    print(
        f"{'format':<7}{'decode':>9}{'encode':>9}{'ceiling':>9}{'pipeline':>10}{'share':>7}"
        f"{'vs min':>8}{'via device':>12}{'share':>7}"
    )
    for r in rows:
        print(
            f"{r['format']:<7}{r['decode']:>9.1f}{r['encode']:>9.1f}"
            f"{r['shared_core_ceiling']:>9.1f}{r['pipeline']:>10.1f}{r['share']:>7.2f}"
            f"{r['ratio']:>8.2f}{r['via_device']:>12.1f}{r['via_device_share']:>7.2f}"
        )
    print(
        "(frames/s. ceiling: the shared-core one, 1/(1/decode + 1/encode); share = pipeline / "
        "ceiling, goal >= 0.90; vs min = pipeline / min(decode, encode), the ceiling when "
        "decode and encode have cores of their own; via device: every frame through the "
        "device as float, as an effect that changes pixels does)"
    )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
