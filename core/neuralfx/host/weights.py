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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog import Catalog, Weights
from ..errors import NeuralFXError
from ..frames.atomic import AtomicFile, write_text_atomic

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "Weights",
    "cache_dir",
    "cached_path",
    "entry_dir",
    "catalog",
    "check_fits",
    "fetch",
    "fetch_all",
    "known",
    "read_metadata",
    "read_state_dict",
    "save_safetensors",
    "verified",
]


#: Converted weights that ship inside the distribution (package data).
SHIPPED_DIR = Path(__file__).parent.parent / "models" / "data"


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
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file() and ".neuralfx-tmp-" not in p.name
    )


def known(name: str) -> Weights:
    return catalog().known_weights(name)


def entry_dir(name: str) -> Path:
    """The cache folder of registry entry ``name``: its official file as fetched, and the record
    of what was verified (``verified.json``). One folder per entry, because official files of
    different entries share names (StarGAN's 128 and 256 releases are both ``200000-G.ckpt``)."""
    return cache_dir() / name


def cached_path(name: str) -> Path | None:
    """The cached file for registry entry ``name``: the imported safetensors if there is one,
    else the official file as fetched (in the entry's folder; or loose in the cache, as
    versions before 0.9 kept it, unless another entry's file has the same name), or, for
    torchvision's files, as torchvision itself cached it in the torch hub cache; None when
    none is there."""
    info = known(name)
    candidates = [cache_dir() / f"{name}.safetensors", entry_dir(name) / info.filename]
    if not _name_shared(info):
        candidates.append(cache_dir() / info.filename)
    if info.shipped:
        candidates.append(SHIPPED_DIR / f"{name}.safetensors")
    if info.url.startswith("https://download.pytorch.org/models/"):
        import torch

        # torchvision's own downloads land in the torch hub cache ($TORCH_HOME).
        candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / info.filename)
    return next((c for c in candidates if c.is_file()), None)


def _name_shared(info: Weights) -> bool:
    return sum(w.filename == info.filename for w in catalog().weights.values()) > 1


def verified(name: str) -> dict | None:
    """What ``fetch`` checked of entry ``name``'s file (sha256, size, url, how), or None."""
    import json

    try:
        return json.loads((entry_dir(name) / "verified.json").read_text())
    except (OSError, ValueError):
        return None


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_digest(info: Weights, path: str | os.PathLike, shown: str | None = None) -> str:
    """Compare ``path`` with the registry's checksum; return the file's sha256. ``shown``:
    what to call the file in the message (the URL of a download, not its temporary copy)."""
    digest = sha256_of(path)
    if info.sha256 and not digest.startswith(info.sha256):
        raise NeuralFXError(
            f"{shown or path}: sha256 {digest[:16]}… does not match {info.name}'s {info.sha256}…",
            hint="the download is corrupt or not the official file; fetch it again",
        )
    return digest


# -- fetching ---------------------------------------------------------------------------------
MIRROR_VARIABLE = "NEURALFX_WEIGHTS_MIRROR"


def source_of(info: Weights, url: str | None = None) -> tuple[str, str | None]:
    """``(URL, archive member or None)`` to fetch entry ``info`` from: ``url`` if given (laid out
    as the official download), else a studio mirror (``$NEURALFX_WEIGHTS_MIRROR/NAME/FILE``,
    the file itself), else the official URL."""
    mirror = os.environ.get(MIRROR_VARIABLE)
    if url is None and mirror:
        return f"{mirror.rstrip('/')}/{info.name}/{info.filename}", None
    return url or info.url, info.member


def fetch(
    name: str, *, url: str | None = None, progress: Callable[[int, int | None], None] | None = None
) -> Path:
    """Download registry entry ``name`` into the cache (see :func:`fetch_all`)."""
    return fetch_all([name], url=url, progress=progress)[name]


def fetch_all(
    names: list[str],
    *,
    url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> dict[str, Path]:
    """Download registry entries into the cache, each archive once for all its members, and
    check each file before it enters the cache: its size where known, its sha256 where known,
    else that it fits the model's architecture; the sha256 of what was checked is recorded
    (:func:`verified`). Interrupted transfers resume (:mod:`neuralfx.host.download`); nothing
    incomplete or unchecked is ever cached. Returns the cached paths."""
    from . import download

    root = cache_dir()
    partial = root / ".partial"
    partial.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[tuple[Weights, str | None]]] = {}
    for name in names:
        info = known(name)
        source, member = source_of(info, url)
        groups.setdefault(source, []).append((info, member))
    cached = {}
    for source, entries in groups.items():
        part = download.partial_path(partial, source)
        try:
            download.download(source, part, progress=progress)
        except NeuralFXError as exc:
            # What to do first, then each entry's note (where it comes from, or how to get it
            # by hand), named.
            todo = [exc.hint] if exc.hint else []
            todo.append(f"a copy imports with `neuralfx models import {entries[0][0].name} FILE`")
            notes = [f"{i.name}: {i.note}" for i, _ in entries if i.note]
            raise NeuralFXError(
                f"cannot download {', '.join(i.name for i, _ in entries)}: {exc.message}",
                hint="; ".join(todo + notes),
            ) from None
        try:
            for k, (info, member) in enumerate(entries):
                cached[info.name] = _cache_checked(
                    info, part, member, source, last=k == len(entries) - 1
                )
        except NeuralFXError:
            part.unlink(missing_ok=True)  # complete but wrong: the next try starts afresh
            raise
        part.unlink(missing_ok=True)
    return cached


def _cache_checked(
    info: Weights, download: Path, member: str | None, source: str, *, last: bool
) -> Path:
    """Check one entry's file (a member of ``download``, or ``download`` itself) and put it in
    the cache with its record; ``last``: no other entry needs ``download`` (it is moved, not
    copied)."""
    import datetime
    import json

    from .archives import extract_member

    folder = entry_dir(info.name)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".download-") as tmp:
        payload = Path(tmp) / info.filename
        if member:
            extract_member(download, member, payload, what=source)
        elif last:
            shutil.move(str(download), payload)
        else:
            shutil.copyfile(download, payload)
        digest, how = verify_file(info, payload, source)
        staged = AtomicFile(str(folder / info.filename))
        shutil.move(str(payload), staged.tmp)
        staged.commit()
    record = {
        "sha256": digest,
        "size": (folder / info.filename).stat().st_size,
        "url": source,
        "member": member,
        "checked": how,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write_text_atomic(str(folder / "verified.json"), json.dumps(record, indent=1) + "\n")
    return folder / info.filename


def verify_file(info: Weights, path: Path, source: str) -> tuple[str, str]:
    """Check ``path`` against entry ``info``: size, then sha256 where the registry knows it,
    else the layout (every key and shape of the architecture). Returns ``(sha256, how)``."""
    size = path.stat().st_size
    if info.size is not None and size != info.size:
        raise NeuralFXError(
            f"{source}: {info.name}'s file should be {info.size:,} bytes; {size:,} arrived",
            hint="fetch it again, or from a mirror (--url)",
        )
    if info.sha256:
        return check_digest(info, path, shown=source), "sha256"
    from .. import models

    try:
        models.state_dict_for(info.model, path)
    except NeuralFXError as exc:
        raise NeuralFXError(
            f"{source} did not give {info.name}'s file: {exc.message}",
            hint="check the URL (a mirror's file may be another one), or "
            "download it by hand and `neuralfx models import "
            f"{info.name} FILE`",
        ) from None
    return sha256_of(path), "layout"


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
        from ..models.onnx_weights import read_onnx_state

        return read_onnx_state(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        if not _torch_is_safe():
            raise NeuralFXError(
                f"refusing to unpickle {path} with torch {torch.__version__}",
                hint="torch.load is unsafe before torch 2.10; upgrade torch or "
                "convert the file with `neuralfx models import`",
            )
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except NeuralFXError:
        raise
    except Exception as exc:
        raise NeuralFXError(
            f"{path} is not a readable checkpoint: {unreadable_reason(exc)}",
            hint="give a .pth state dict or a .safetensors file",
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if isinstance(state, dict):
        state = _flatten(state)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NeuralFXError(
            f"{path} does not hold a state dict of tensors", hint="give the model's weights file"
        )
    return state


def unreadable_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a line: never torch's advice
    to load it with ``weights_only=False``, which would run the code a hostile file holds."""
    text = str(exc)
    refused = re.search(r"WeightsUnpickler error: (.*?)(\. |\.?$)", text, re.MULTILINE)
    if refused:
        return (
            f"it holds more than tensors ({refused.group(1).strip()}), and neuralfx never "
            "unpickles such a file"
        )
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


def check_fits(model: nn.Module, state: dict[str, torch.Tensor], *, source: str, what: str) -> None:
    """Refuse ``state`` unless its keys and shapes are exactly the model's; the message lists
    the keys that differ."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", shapes),
        ):
            if keys:
                shown = ", ".join(keys[:6]) + (
                    f" and {len(keys) - 6} more" if len(keys) > 6 else ""
                )
                parts.append(f"{label}: {shown}")
        raise NeuralFXError(
            f"{source} does not fit {what}; " + "; ".join(parts),
            hint=f"give a {what} checkpoint (see `neuralfx models list`)",
        )


def save_safetensors(
    path: str | os.PathLike, state: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Write ``state`` atomically as safetensors with string ``metadata``."""
    from safetensors.torch import save_file

    target = AtomicFile(str(path))
    try:
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in state.items()},
            target.tmp,
            metadata=metadata,
        )
        target.commit()
    except BaseException:
        target.discard()
        raise


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def __getattr__(name: str):
    if name == "KnownWeights":  # the former name of Weights (see neuralfx.host.catalog)
        from . import catalog

        return catalog.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
