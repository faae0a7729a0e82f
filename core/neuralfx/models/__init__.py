"""Model ports that load the official released checkpoints.

    >>> net = neuralfx.models.load("johnson", "candy.pth")      # doctest: +SKIP
    >>> y = net(x * 255)               # the official signature  # doctest: +SKIP

Names: ``johnson`` (fast_neural_style TransformerNet; input and output in [0, 255]),
``adain-encoder`` (normalised VGG-19 ``[:31]``, RGB [0, 1] → relu4_1), ``adain-decoder``
(relu4_1 → RGB), ``vgg19`` and ``vgg16`` (torchvision's networks), and any architecture a
plugin declares through the ``register_weights`` hook. ``checkpoint`` is a path
(.pth or .safetensors), a registry name such as ``johnson-candy`` (taken from the weights
cache), or None for the model's default registry entry.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import torch
from torch import nn

from ..host import weights
from ..host.catalog import Architecture, resolve
from ..errors import NeuralFXError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """An :class:`~neuralfx.host.catalog.Architecture` with its callables imported."""

    build: Callable[[], nn.Module]
    convert: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
    finish: Callable[[nn.Module], nn.Module]
    default_weights: str | None
    description: str


def _same(x):
    return x


def resolve_checkpoint(name: str, checkpoint: str | os.PathLike | None) -> str:
    """A checkpoint argument (path, registry name or None) → a file path. A folder (an
    official release as unpacked) gives the official file of model ``name`` inside it."""
    spec = spec_of(name)
    if checkpoint is not None and os.path.isdir(checkpoint):
        return _official_file_in(name, str(checkpoint))
    if checkpoint is not None and (
        os.path.exists(checkpoint) or str(checkpoint) not in weights.catalog().weights
    ):
        return str(checkpoint)
    entry = str(checkpoint) if checkpoint is not None else spec.default_weights
    if entry is None:
        raise NeuralFXError(f"model {name!r} needs a checkpoint path")
    path = weights.cached_path(entry)
    if path is None:
        raise NeuralFXError(
            f"the weights {entry!r} are not in the cache ({weights.cache_dir()})",
            hint=f"run `neuralfx models fetch {entry}`, or `neuralfx models "
            f"import {entry} FILE` with a copy of "
            f"{weights.known(entry).filename}",
        )
    return str(path)


def _official_file_in(name: str, folder: str) -> str:
    names = sorted({w.filename for w in weights.catalog().weights.values() if w.model == name})
    found = [os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n))]
    if len(found) != 1:
        raise NeuralFXError(
            f"{folder} is a folder, and it holds "
            + ("several" if found else "none")
            + f" of the official files of {name} "
            f"({', '.join(names) or 'none known'})",
            hint="give the checkpoint file itself",
        )
    return found[0]


def spec_of(name: str) -> ModelSpec:
    """The architecture called ``name`` (built in or declared by a plugin), ready to build."""
    arch: Architecture = weights.catalog().architecture(name)
    return ModelSpec(
        resolve(arch.build),
        resolve(arch.convert) or _same,
        resolve(arch.finish) or _same,
        arch.default_weights,
        arch.description,
    )


def state_dict_for(name: str, checkpoint: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read ``checkpoint`` and convert it to model ``name``'s layout, refusing misfits."""
    spec = spec_of(name)
    raw = weights.read_state_dict(checkpoint)
    state = spec.convert(raw)
    with torch.device("meta"):
        reference = spec.build()
    try:
        weights.check_fits(reference, state, source=str(checkpoint), what=f"model {name!r}")
    except NeuralFXError as exc:
        fits = _fitting_model(raw)
        if fits is None or fits == name:
            raise
        raise NeuralFXError(
            f"{checkpoint} is a {fits!r} checkpoint, not a {name!r} one: "
            + exc.message.replace(f"{checkpoint} ", "it ", 1),
            hint=f"give a {name} checkpoint (`neuralfx models list` shows the "
            "weights of each model)",
        ) from None
    return state


def load(
    name: str,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> nn.Module:
    """Build model ``name``, load its weights, and return it in eval mode on ``device``."""
    spec = spec_of(name)
    path = resolve_checkpoint(name, checkpoint)
    state = state_dict_for(name, path)
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        model = spec.build()
    model.load_state_dict(state, assign=True)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:  # a tensor the file does not hold (a bug in the model definition)
        raise RuntimeError(f"model {name!r}: {leftover} not loaded from the checkpoint")
    return spec.finish(model).eval().requires_grad_(False).to(device=device, dtype=dtype)


def identify(checkpoint: str | os.PathLike) -> str | None:
    """The name of the model whose layout ``checkpoint`` fits, or None (for error hints)."""
    try:
        state = weights.read_state_dict(checkpoint)
    except NeuralFXError:
        return None
    return _fitting_model(state)


def _fitting_model(state: dict[str, torch.Tensor]) -> str | None:
    for name in weights.catalog().architectures:
        spec = spec_of(name)
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            expected = spec.build().state_dict()
        converted = spec.convert(state)
        if converted.keys() == expected.keys() and all(
            converted[k].shape == v.shape for k, v in expected.items()
        ):
            return name
    return None


def import_weights(name: str, file: str | os.PathLike, target: str | os.PathLike) -> str:
    """Convert the official ``file`` of registry entry ``name`` into safetensors at
    ``target`` (checksum checked, layout checked, licence and provenance in the metadata):
    what ``neuralfx models import`` and ``scripts/convert_magenta.py`` do."""
    import tempfile
    from pathlib import Path

    from ..host.archives import extract_member, is_archive

    info = weights.known(name)
    if is_archive(file) and not str(file).endswith((".pth", ".pt", ".ckpt")):
        # the official archive as downloaded: take the entry's file from it
        with tempfile.TemporaryDirectory() as tmp:
            _check_release(info, file, Path(tmp))
            inner = Path(tmp) / info.filename
            extract_member(file, info.member or info.filename, inner, what=str(file))
            return import_weights(name, inner, target)
    digest = weights.check_digest(info, file)
    state = state_dict_for(info.model, file)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "name": name,
        "model": info.model,
        "source_file": Path(file).name,
        "source_sha256": digest,
        "url": info.url,
        "licence": info.licence,
    }
    if info.member:
        metadata["source_member"] = info.member
    weights.save_safetensors(target, dict(sorted(state.items())), metadata)
    return str(target)


def _check_release(info, archive, tmp) -> None:
    """Refuse an archive of another release: the entries that come from the same official
    archive as ``info`` (StarGAN's generator and discriminator) must each fit their model.
    The 128 and 256 generators have the same layout; their discriminators do not, so the
    archive of the 256 release is not taken as the 128 one's."""
    from ..host.archives import extract_member, find_member

    for other in weights.catalog().weights.values():
        if other.name == info.name or other.url != info.url or not other.member:
            continue
        try:
            find_member(archive, other.member, str(archive))
        except NeuralFXError:
            continue  # not in this archive: nothing to compare
        path = tmp / ("sibling-" + other.filename)
        extract_member(archive, other.member, path, what=str(archive))
        fits = _fitting_model(weights.read_state_dict(path))
        if fits is None or fits == other.model:
            continue
        release = next((w for w in weights.catalog().weights.values() if w.model == fits), None)
        same = next(
            (
                w.name
                for w in weights.catalog().weights.values()
                if release and w.url == release.url and w.model != fits
            ),
            None,
        )
        raise NeuralFXError(
            f"{archive} is not {info.name}'s release: its {other.member} is a {fits!r} file",
            hint=f"import it as {same}" if same else "check which release this archive is",
        )
