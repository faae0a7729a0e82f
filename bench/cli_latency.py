"""How fast the commands other programs call answer: ``--help``, ``effects --json``,
``describe EFFECT --json``, ``plugins --json`` (the Blender add-on calls them on every panel
refresh), as a ratio to starting Python itself.

    python bench/cli_latency.py                 # 7 runs each, median
    python bench/cli_latency.py --repeat 15

Each command runs as a fresh process, exactly as another program starts it; none of them may
import torch or any model code. ``run convert --help`` is shown too.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

COMMANDS = (
    ["--help"],
    ["effects", "--json"],
    ["describe", "painting-style", "--json"],
    ["describe", "--all", "--json"],
    ["plugins", "--json"],
    ["run", "convert", "--help"],
)


def timed(argv: list[str], repeat: int) -> float:
    """Median wall time of ``argv`` over ``repeat`` runs (one warm-up run first)."""
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    baseline = timed([sys.executable, "-c", "pass"], args.repeat)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}"
    )
    print(f"{'command':<40} {'seconds':>8} {'x python -c pass':>17}")
    print(f"{'python -c pass':<40} {baseline:>8.3f} {1.0:>17.2f}")
    for command in COMMANDS:
        seconds = timed([sys.executable, "-m", "neuralfx", *command], args.repeat)
        label = "neuralfx " + " ".join(command)
        print(f"{label:<40} {seconds:>8.3f} {seconds / baseline:>17.2f}")
    print(
        "reproduce: python "
        + " ".join(shlex.quote(a) for a in [os.path.abspath(__file__), *sys.argv[1:]])
    )


if __name__ == "__main__":
    main()
