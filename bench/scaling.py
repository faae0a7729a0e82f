"""How a run scales: frames/s and peak memory against the number of frames, and frames/s
against the resolution.

    python bench/scaling.py
    python bench/scaling.py --counts 10,100,1000,10000 --sizes 512,1080,2160 --device cuda

Each run is a fresh process (``neuralfx run painting-style``, the shipped Dumoulin weights,
``--no-temporal``, PNG in and out), so its peak resident memory is its own. A flat per-frame
cost and a flat peak memory from 10 to 10,000 frames mean that nothing grows with the clip:
the decode and encode queues are bounded and the record is appended, not held.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

import neuralfx

SIZES = {512: (512, 512), 720: (1280, 720), 1080: (1920, 1080), 2160: (3840, 2160)}
CHILD = """
import json, resource, sys
import neuralfx
from neuralfx.pipeline.progress import Reporter
src, out, device = sys.argv[1:4]
s = neuralfx.run("painting-style", src, out, settings={"temporal": False},
                 options=neuralfx.RunOptions(device=device), reporter=Reporter())
print(json.dumps({"fps": s.fps, "seconds": s.seconds, "device": s.device,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_frames(folder: str, count: int, width: int, height: int) -> str:
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), np.uint8), (0, 0), 3)

    def one(f: int) -> None:
        cv2.imwrite(os.path.join(folder, f"s.{f:05d}.png"), np.roll(base, f, axis=1))

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(one, range(1, count + 1)))
    return os.path.join(folder, "s.#####.png")


def run(src: str, out: str, device: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, src, out, device], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"the run of {src} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10,100,1000,10000")
    parser.add_argument("--count-size", type=int, default=64, help="square frames for counts")
    parser.add_argument("--sizes", default="512,1080,2160")
    parser.add_argument("--frames-per-size", type=int, default=6)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(
        f"# neuralfx {neuralfx.__version__}, {os.cpu_count()} CPUs, device {args.device}; "
        "painting-style dumoulin, --no-temporal, PNG"
    )
    with tempfile.TemporaryDirectory() as root:
        print(f"## against the number of frames ({args.count_size}x{args.count_size})")
        print(f"{'frames':>8}{'frames/s':>10}{'ms/frame':>10}{'peak MB':>9}")
        for count in (int(c) for c in args.counts.split(",")):
            src = write_frames(
                os.path.join(root, f"n{count}"), count, args.count_size, args.count_size
            )
            got = run(src, os.path.join(root, f"n{count}-out", "o.#####.png"), args.device)
            print(f"{count:>8}{got['fps']:>10.1f}{1000 / got['fps']:>10.2f}{got['peak_mb']:>9.0f}")
        print(f"## against the resolution ({args.frames_per_size} frames each)")
        print(f"{'size':>11}{'frames/s':>10}{'Mpixel/s':>10}{'peak MB':>9}")
        for size in (int(s) for s in args.sizes.split(",")):
            width, height = SIZES.get(size, (size, size))
            src = write_frames(os.path.join(root, f"s{size}"), args.frames_per_size, width, height)
            got = run(src, os.path.join(root, f"s{size}-out", "o.#####.png"), args.device)
            print(
                f"{f'{width}x{height}':>11}{got['fps']:>10.2f}"
                f"{got['fps'] * width * height / 1e6:>10.1f}{got['peak_mb']:>9.0f}"
            )
        print(f"device: {got['device']}")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
