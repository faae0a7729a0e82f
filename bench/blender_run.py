"""Run → first frame in Blender: what an artist waits after pressing *Run* before the first
painted frame lands, with the add-on's runs in its warm worker (the default) against a
process started for each run (what the add-on did before), side by side in one run.

    .venv-blender/bin/python bench/blender_run.py              # 640x360 BBB excerpt, 3 runs each
    .venv-blender/bin/python bench/blender_run.py --repeat 5 --effect convert

Runs in real Blender (the ``bpy`` module of the Blender environment), driving the main
environment's ``neuralfx`` (``NEURALFX_EXECUTABLE``, default ``.venv/bin/neuralfx``). Each run
is painting-style's default look over the clip's first 12 frames into a fresh folder; the time
is from the Run operator to the job's first ``frame`` event, read from Blender's own job
queue. The worker's first run pays for starting it (shown apart).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="neuralfx-bench-blender-")
import bpy  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import build_blender_addon  # noqa: E402

EXECUTABLE = os.environ.get("NEURALFX_EXECUTABLE") or str(ROOT / ".venv" / "bin" / "neuralfx")
MODULE = "bl_ext.user_default.neuralfx"
CLIP = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"  # (c) Blender Foundation, CC-BY 3.0


def install(folder: Path):
    zip_path = build_blender_addon.build(folder)
    bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True
    )
    bpy.context.preferences.addons[MODULE].preferences.executable = EXECUTABLE
    assert bpy.ops.neuralfx.test_connection() == {"FINISHED"}
    return sys.modules[MODULE]


def first_frame_seconds(addon, effect: str, out: Path, worker: bool) -> float:
    scene = bpy.context.scene
    scene.neuralfx.effect = effect
    scene.neuralfx.output_folder = str(out) + os.sep
    scene.neuralfx.device = "cpu"
    runner = addon.jobs._runner
    if not worker:  # what the add-on did before: a process for each run
        addon.jobs._runner = lambda job: addon.bridge.Process(job.argv)
    try:
        start = time.perf_counter()
        assert bpy.ops.neuralfx.run() == {"FINISHED"}
        job = addon.jobs.QUEUE.pending[0]
        while not job.first_frame_at and job.error == "":
            addon.jobs.pump()
            time.sleep(0.005)
        seconds = job.first_frame_at - start
        addon.jobs.QUEUE.cancel(all_queued=True)
        while addon.jobs.QUEUE.busy:
            addon.jobs.pump()
            time.sleep(0.01)
        assert not job.error, job.error
        return seconds
    finally:
        addon.jobs._runner = runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--effect", default="painting-style")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="neuralfx-bench-"))
    addon = install(tmp / "dist")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    editor = scene.sequence_editor_create()
    strip = editor.strips.new_movie("bbb", str(CLIP), channel=1, frame_start=1)
    strip.frame_final_duration = 12
    editor.active_strip = strip
    scene.frame_start, scene.frame_end = 1, 12
    times = {"process": [], "worker": []}
    first_worker = first_frame_seconds(addon, args.effect, tmp / "w0", worker=True)
    for i in range(args.repeat):  # alternating, so a change in the machine's load hits both
        times["process"].append(
            first_frame_seconds(addon, args.effect, tmp / f"p{i}", worker=False)
        )
        times["worker"].append(
            first_frame_seconds(addon, args.effect, tmp / f"w{i + 1}", worker=True)
        )
    addon.bridge.stop_shared_worker()
    print(
        f"# {os.cpu_count()} CPU cores, Blender {bpy.app.version_string}, {args.effect}, "
        f"640x360, median of {args.repeat}"
    )
    print(f"Run -> first frame, a process per run:   {statistics.median(times['process']):.2f} s")
    print(f"Run -> first frame, the worker's first:  {first_worker:.2f} s (starts the worker)")
    print(f"Run -> first frame, the warm worker:     {statistics.median(times['worker']):.2f} s")
    print("reproduce: .venv-blender/bin/python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
