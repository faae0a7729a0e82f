"""Every benchmark at the sizes that matter, within a time budget: what a session lent a GPU
runs first, so that it spends minutes, not its whole device time, measuring.

    python bench/all.py --device cuda --budget-s 480      # on the lent H100/H200
    python bench/all.py --device cpu --budget-s 300 --dry-run

Each benchmark runs as its own process (a crash or a hang costs only its share), in order of
what the project's goals need most, each with a share of the budget it cannot overrun (a
benchmark cut off keeps what it printed). Written: ``bench-results/all-DATE-DEVICE.json``
(every command, its output, seconds, exit status) and a section for docs/performance.md
(``--write-docs`` appends it there, dated, with the device's name).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

#: (name, arguments after the script, share of the budget, goal the figures are read against)
PLAN = [
    (
        "painting_style",
        ["--sizes", "512,1080p", "--frames", "20"],
        0.22,
        "Johnson 1080p >= 250 frames/s, AdaIN 1080p >= 80 (H100)",
    ),
    ("faces", [], 0.12, "StarGAN >= 10,000 faces/s"),
    ("animal_transfer", [], 0.10, "FUNIT >= 6,000 crops/s"),
    ("stargan_v2", [], 0.06, "StarGAN v2 256 px images/s; faces end to end at 1080p"),
    (
        "face_swap",
        ["--precisions", "fp32,bf16,fp16", "--batches", "1,64,256"],
        0.14,
        "face-swap model throughput",
    ),
    ("pipeline", ["--workers", "8"], 0.14, "end to end >= 0.9 of the codec ceiling"),
    ("scaling", [], 0.12, "frames/s against resolution and clip length"),
    (
        "flicker",
        ["--methods", "dumoulin,ghiasi", "--clips", "street,pan", "--frames", "1-24"],
        0.10,
        "warping error and wake figure, GPU numerics",
    ),
]


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        try:
            import torch

            return torch.cuda.get_device_name(torch.device(device))
        except Exception as exc:  # noqa: BLE001 - a name for the report, whatever went wrong
            return f"{device} ({type(exc).__name__})"
    return f"CPU, {os.cpu_count()} cores"


def run_one(name: str, args: list[str], device: str, seconds: float) -> dict:
    cmd = [PY, str(ROOT / "bench" / f"{name}.py"), "--device", device, *args]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, cwd=str(ROOT))
        out, code = done.stdout + done.stderr[-2000:], done.returncode
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out, code = out + f"\n[cut off after {seconds:.0f} s: its share of the budget]", None
    return {
        "name": name,
        "command": shlex.join(cmd),
        "seconds": round(time.perf_counter() - started, 1),
        "exit": code,
        "output": out,
    }


def docs_section(results: list[dict], device: str, name: str, when: str) -> str:
    lines = [
        f"## {when}: {name} (`{device}`)",
        "",
        f"`python bench/all.py --device {device}`; each benchmark's own output follows "
        "(its command first).",
        "",
    ]
    for r in results:
        status = (
            "ok" if r["exit"] == 0 else "cut off" if r["exit"] is None else f"failed ({r['exit']})"
        )
        lines += [
            f"### {r['name']} ({status}, {r['seconds']} s; goal: {r['goal']})",
            "",
            "```",
            r["command"],
            r["output"].strip()[-6000:],
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=480.0,
        help="wall seconds for everything (default 480: 8 of a session's 15 "
        "device minutes, leaving time to start and to rerun one)",
    )
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument(
        "--write-docs", action="store_true", help="append the dated section to docs/performance.md"
    )
    args = parser.parse_args()
    plan = [p for p in PLAN if not args.only or p[0] in args.only.split(",")]
    share = sum(p[2] for p in plan)
    name, when = device_name(args.device), datetime.date.today().isoformat()
    print(f"# {when}, {name}, budget {args.budget_s:.0f} s")
    for bench, extra, part, goal in plan:
        print(
            f"{bench:<16} {args.budget_s * part / share:6.0f} s  "
            f"bench/{bench}.py --device {args.device} {' '.join(extra)}  ({goal})"
        )
    if args.dry_run:
        print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))
        return
    results, deadline = [], time.perf_counter() + args.budget_s
    for bench, extra, part, goal in plan:
        left = deadline - time.perf_counter()
        if left < 10:
            print(f"{bench}: skipped, the budget is spent", flush=True)
            continue
        result = run_one(bench, extra, args.device, min(left, args.budget_s * part / share))
        result["goal"] = goal
        results.append(result)
        print(
            f"--- {bench}: exit {result['exit']}, {result['seconds']} s\n"
            f"{result['output'].strip()[-3000:]}",
            flush=True,
        )
    folder = ROOT / "bench-results"
    folder.mkdir(exist_ok=True)
    target = folder / f"all-{when}-{args.device.replace(':', '')}.json"
    target.write_text(
        json.dumps(
            {"date": when, "device": args.device, "name": name, "results": results}, indent=1
        )
    )
    section = docs_section(results, args.device, name, when)
    if args.write_docs:
        with open(ROOT / "docs" / "performance.md", "a", encoding="utf-8") as f:
            f.write("\n" + section + "\n")
    print(f"wrote {target}" + (" and docs/performance.md" if args.write_docs else ""))
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
