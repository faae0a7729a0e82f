"""The Ray executor's overhead: the same run on the local executor and on 1, 2 and 4 Ray CPU
actors of a local cluster, in one process, side by side.

    python bench/distributed.py                    # 48 frames of 512x512, painting-style
    python bench/distributed.py --frames 200 --actors 1,2,4,8 --size 1024

The workload is painting-style with the shipped Dumoulin weights (no --temporal, so shards do
not replay each other's frames). Each row is a fresh output folder; the Ray rows include
starting the actors (each imports torch and loads the model) but not starting the cluster,
which happens once before. Prints frames/s and the ratio to the local executor. On 2 cores
expect no gain: the point is the overhead.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile

import cv2
import numpy as np

import neuralfx
from neuralfx.pipeline.progress import Reporter
from neuralfx.pipeline.runner import RunOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--actors", default="1,2,4")
    args = parser.parse_args()
    import ray

    cpus = os.cpu_count() or 1
    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="error",
        _node_ip_address="127.0.0.1",
    )
    settings = {"preset": "3:0.5,12:0.5", "temporal": False}
    machine = platform.processor() or platform.machine()
    print(
        f"# neuralfx {neuralfx.__version__}, ray {ray.__version__}, {machine}, {cpus} CPUs; "
        f"painting-style dumoulin, {args.frames} frames of {args.size}x{args.size} PNG"
    )
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "in"))
        rng = np.random.default_rng(0)
        for f in range(1, args.frames + 1):
            pic = cv2.GaussianBlur(
                rng.integers(0, 256, (args.size, args.size, 3), np.uint8), (0, 0), 3
            )
            cv2.imwrite(os.path.join(folder, "in", f"s.{f:04d}.png"), pic)
        src = os.path.join(folder, "in", "s.####.png")
        print(f"{'executor':<16}{'frames/s':>10}{'vs local':>10}")
        local = None
        rows = [("local", RunOptions())] + [
            (f"ray, {n} actor(s)", RunOptions(executor="ray", actors=n))
            for n in (int(a) for a in args.actors.split(","))
        ]
        for i, (name, opts) in enumerate(rows):
            summary = neuralfx.run(
                "painting-style",
                src,
                os.path.join(folder, f"out{i}", "p.####.png"),
                settings=settings,
                options=opts,
                reporter=Reporter(),
            )
            fps = summary.written / summary.seconds
            local = local or fps
            print(f"{name:<16}{fps:>10.2f}{fps / local:>10.2f}")
    ray.shutdown()
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
