"""Model weights: the registry of official files, the cache, safe loading.

The cache folder is ``$NEURALFX_CACHE`` if set, else ``$XDG_CACHE_HOME/neuralfx``, else
``~/.cache/neuralfx``. ``neuralfx models fetch`` downloads official files there (checksum
checked), ``neuralfx models import`` converts an official file into ``NAME.safetensors`` with
metadata, and loading prefers safetensors and otherwise uses ``torch.load(weights_only=True)``
(safe only from torch 2.10 on: CVE-2025-32434 and CVE-2026-24747 hit older loaders).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog import Catalog, KnownWeights, Weights
from .errors import NeuralFXError
from .frames.atomic import AtomicFile

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "KnownWeights",
    "Weights",
    "cache_dir",
    "cached_path",
    "catalog",
    "check_fits",
    "fetch",
    "known",
    "read_metadata",
    "read_state_dict",
    "save_safetensors",
]


#: Converted weights that ship inside the distribution (package data).
SHIPPED_DIR = Path(__file__).parent / "models" / "data"


def is_shipped(path: str | os.PathLike) -> bool:
    return Path(path).parent == SHIPPED_DIR


def catalog() -> Catalog:
    """The catalog of the process-wide plugin host: built-in and plugin-declared entries."""
    from .plugins import get_host

    return get_host().catalog


def cache_dir() -> Path:
    if os.environ.get("NEURALFX_CACHE"):
        return Path(os.environ["NEURALFX_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "neuralfx"


def cached_files() -> list[tuple[str, int]]:
    """``(relative path, size in bytes)`` of every file in the cache, sorted."""
    root = cache_dir()
    if not root.is_dir():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size)
                  for p in root.rglob("*") if p.is_file() and ".neuralfx-tmp-" not in p.name)


def known(name: str) -> Weights:
    return catalog().known_weights(name)


def cached_path(name: str) -> Path | None:
    """The cached file for registry entry ``name``: the imported safetensors if there is one,
    else the official file as fetched (or, for torchvision's files, as torchvision itself
    cached it in the torch hub cache); None when none is there."""
    info = known(name)
    candidates = [cache_dir() / f"{name}.safetensors", cache_dir() / info.filename]
    if info.shipped:
        candidates.append(SHIPPED_DIR / f"{name}.safetensors")
    if info.url.startswith("https://download.pytorch.org/models/"):
        import torch

        # torchvision's own downloads land in the torch hub cache ($TORCH_HOME).
        candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / info.filename)
    return next((c for c in candidates if c.is_file()), None)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_digest(info: Weights, path: str | os.PathLike) -> str:
    """Compare ``path`` with the registry's checksum; return the file's sha256."""
    digest = sha256_of(path)
    if info.sha256 and not digest.startswith(info.sha256):
        raise NeuralFXError(f"{path}: sha256 {digest[:16]}… does not match {info.name}'s "
                            f"{info.sha256}…", hint="the download is corrupt or not the official "
                                                     "file; fetch it again")
    return digest


# -- fetching ---------------------------------------------------------------------------------
def fetch(name: str, *, url: str | None = None,
          progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download registry entry ``name`` (from ``url`` if given, e.g. a studio mirror) into the
    cache, check its checksum, and return the cached path. Writes are atomic."""
    info = known(name)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / info.filename
    source = url or info.url
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        download = Path(tmp) / "download"
        try:
            with urllib.request.urlopen(source, timeout=60) as response, \
                    open(download, "wb") as out:
                total = response.headers.get("Content-Length")
                total = int(total) if total else None
                done = 0
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except OSError as exc:
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # it holds the connection
            raise NeuralFXError(f"cannot download {name} from {source}: {exc}",
                                hint="check the network, or download the file yourself and run "
                                     f"`neuralfx models import {name} FILE`") from None
        payload = download
        if info.member:
            payload = Path(tmp) / "member"
            try:
                with zipfile.ZipFile(download) as z, z.open(info.member) as src, \
                        open(payload, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, KeyError) as exc:
                raise NeuralFXError(f"{source} is not the expected archive ({exc})",
                                    hint="check the URL") from None
        check_digest(info, payload)
        staged = AtomicFile(str(target))
        shutil.move(str(payload), staged.tmp)
        staged.commit()
    return target


# -- loading ----------------------------------------------------------------------------------
def _torch_is_safe() -> bool:
    import torch

    major, minor = (int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
    return (major, minor) >= (2, 10)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a checkpoint as a flat ``{key: tensor}`` dict: safetensors, or a pickled state
    dict through ``torch.load(weights_only=True)``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise NeuralFXError(f"checkpoint {path} does not exist", hint="check the path")
    if path.suffix == ".onnx":
        from .models.onnx_weights import read_onnx_state

        return read_onnx_state(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        if not _torch_is_safe():
            raise NeuralFXError(f"refusing to unpickle {path} with torch {torch.__version__}",
                                hint="torch.load is unsafe before torch 2.10; upgrade torch or "
                                     "convert the file with `neuralfx models import`")
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except NeuralFXError:
        raise
    except Exception as exc:
        raise NeuralFXError(f"{path} is not a readable checkpoint: {unreadable_reason(exc)}",
                            hint="give a .pth state dict or a .safetensors file") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if isinstance(state, dict):
        state = _flatten(state)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NeuralFXError(f"{path} does not hold a state dict of tensors",
                            hint="give the model's weights file")
    return state


def unreadable_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a line: never torch's advice
    to load it with ``weights_only=False``, which would run the code a hostile file holds."""
    text = str(exc)
    refused = re.search(r"WeightsUnpickler error: (.*?)(\. |\.?$)", text, re.MULTILINE)
    if refused:
        return (f"it holds more than tensors ({refused.group(1).strip()}), and neuralfx never "
                "unpickles such a file")
    return text.strip().split("\n")[0].split(". ")[0][:200] or type(exc).__name__


def _flatten(state: dict, prefix: str = "") -> dict:
    """Nested dicts of tensors as one flat dict with dotted keys: FUNIT's file holds
    ``{'gen': {...}, 'gen_test': {...}}``, which becomes ``gen.…`` and ``gen_test.…`` keys for
    the architecture's converter to choose from."""
    flat = {}
    for key, value in state.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_fits(model: nn.Module, state: dict[str, torch.Tensor], *, source: str,
               what: str) -> None:
    """Refuse ``state`` unless its keys and shapes are exactly the model's; the message lists
    the keys that differ."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("wrong shape", shapes)):
            if keys:
                shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
                parts.append(f"{label}: {shown}")
        raise NeuralFXError(f"{source} does not fit {what}; " + "; ".join(parts),
                            hint=f"give a {what} checkpoint (see `neuralfx models list`)")


def save_safetensors(path: str | os.PathLike, state: dict[str, torch.Tensor],
                     metadata: dict[str, str]) -> None:
    """Write ``state`` atomically as safetensors with string ``metadata``."""
    from safetensors.torch import save_file

    target = AtomicFile(str(path))
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, target.tmp,
                  metadata=metadata)
        target.commit()
    except BaseException:
        target.discard()
        raise


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})
