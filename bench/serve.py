"""Preview latency: one frame of a painting-style look, by a fresh `neuralfx run` (what a
host pays without a worker) against a warm `neuralfx serve` worker (the Blender add-on's
*Preview frame*), side by side in one run.

    python bench/serve.py                       # 640x360 Big Buck Bunny, 5 previews each
    python bench/serve.py --repeat 9 --method ghiasi

Cold: the command's wall time, start to exit. Warm: from writing the request to reading its
"end", each preview another frame and another preset (nothing cached but the loaded code and
weights); the worker's own start ("ready") is shown apart, and its first request too.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "samples" / "bbb" / "bbb-excerpt.mp4"  # (c) Blender Foundation, CC-BY 3.0
NEURALFX = str(Path(sys.executable).with_name("neuralfx"))


def settings_for(method: str, k: int) -> dict:
    if method == "dumoulin":
        return {"preset": str(k % 26)}
    return {
        "method": method,
        "style": str(ROOT / "samples" / "styles" / "swirls.png"),
        "strength": round(0.5 + 0.1 * (k % 5), 1),
    }


def cold(method: str, k: int, out: str) -> float:
    args = [
        NEURALFX,
        "run",
        "painting-style",
        str(CLIP),
        out,
        "--frames",
        str(1 + k),
        "--no-history",
        "--overwrite",
        "--progress",
        "none",
    ]
    for key, value in settings_for(method, k).items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--method", default="dumoulin", choices=("dumoulin", "ghiasi", "adain"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="neuralfx-serve-bench-")
    try:
        colds = [
            cold(args.method, k, os.path.join(work, f"cold{k}.png")) for k in range(args.repeat)
        ]
        started = time.perf_counter()
        worker = subprocess.Popen(
            [NEURALFX, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert json.loads(worker.stdout.readline())["event"] == "ready"
        ready = time.perf_counter() - started
        warms = []
        for k in range(args.repeat + 1):
            request = {
                "id": k,
                "effect": "painting-style",
                "input": str(CLIP),
                "output": os.path.join(work, f"warm{k}.png"),
                "settings": settings_for(args.method, k),
                "options": {"frames": str(1 + k), "history": False, "overwrite": True},
            }
            sent = time.perf_counter()
            worker.stdin.write(json.dumps(request) + "\n")
            while True:
                event = json.loads(worker.stdout.readline())
                if event.get("event") == "end":
                    assert event["ok"], event
                    break
            warms.append(time.perf_counter() - sent)
        worker.stdin.write('{"op": "quit"}\n')
        worker.stdin.flush()
        worker.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cold_s, warm_s = statistics.median(colds), statistics.median(warms[1:])
    print(f"# painting-style --method {args.method}, one 640x360 frame, {os.cpu_count()} cores")
    print(f"{'':<28}{'seconds':>9}")
    print(f"{'cold: neuralfx run':<28}{cold_s:>9.2f}   median of {args.repeat}")
    print(f"{'worker start (ready)':<28}{ready:>9.2f}")
    print(f"{'warm: first request':<28}{warms[0]:>9.2f}")
    print(f"{'warm: next requests':<28}{warm_s:>9.2f}   median of {args.repeat}")
    print(f"warm / cold: {warm_s / cold_s:.2f}")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
