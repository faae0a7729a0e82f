"""``neuralfx models list|fetch|import|verify`` and the ``train`` group plugins add to."""

from __future__ import annotations

import json

import click

from .. import weights
from ..errors import NeuralFXError
from .main import main


@main.group("models")
def models_group() -> None:
    """Official model weights: list, download, import and verify them.

    Files live in the weights cache (`neuralfx doctor` shows where; set NEURALFX_CACHE to
    move it). Nothing is ever downloaded except by `neuralfx models fetch`.
    """


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the known official checkpoints and whether they are in the cache."""
    rows = []
    for info in weights.catalog().weights.values():
        path = weights.cached_path(info.name)
        rows.append({"name": info.name, "model": info.model, "file": info.filename,
                     "url": info.url, "sha256": info.sha256, "licence": info.licence,
                     "cached": str(path) if path else None,
                     "shipped": bool(path) and weights.is_shipped(path)})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        state = "shipped" if r["shipped"] else "cached" if r["cached"] else "not cached"
        click.echo(f"{r['name']:<{width}}  {r['model']:<14} {state:<11} {r['licence']}")
    click.echo(f"cache: {weights.cache_dir()}")


@models_group.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--url", help="Download from this URL instead (e.g. a studio mirror); the "
                            "checksum is still checked. Only with one NAME.")
def fetch_command(names: tuple[str, ...], url: str | None) -> None:
    """Download official checkpoints into the cache (checksum checked, written atomically)."""
    from tqdm import tqdm

    if url and len(names) > 1:
        raise NeuralFXError("--url goes with a single NAME", hint="fetch one file at a time")
    for name in names:
        weights.known(name)
        with tqdm(unit="B", unit_scale=True, desc=name, leave=False,
                  disable=None) as bar:
            def progress(done: int, total: int | None) -> None:
                bar.total = total
                bar.update(done - bar.n)

            path = weights.fetch(name, url=url, progress=progress)
        click.echo(f"{name}: {path}")


@models_group.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(name: str, file: str) -> None:
    """Convert an official checkpoint FILE into NAME.safetensors in the cache.

    The file must fit the model's architecture; legacy keys are converted as the official
    code does (e.g. the old InstanceNorm statistics of the Johnson files).
    """
    from .. import models

    target = models.import_weights(name, file, weights.cache_dir() / f"{name}.safetensors")
    click.echo(f"{name}: {target}")


@models_group.command("verify")
@click.argument("names", nargs=-1)
def verify_command(names: tuple[str, ...]) -> None:
    """Check cached checkpoints: checksum (where known) and fit to the architecture."""
    from .. import models

    chosen = names or tuple(n for n in weights.catalog().weights if weights.cached_path(n))
    failed = 0
    for name in chosen:
        info = weights.known(name)
        path = weights.cached_path(name)
        if path is None:
            click.echo(f"{name}: not cached")
            failed += 1
            continue
        try:
            if path.name == f"{name}.safetensors" and path.name != info.filename:  # imported
                meta = weights.read_metadata(path)
                if info.sha256 and not meta.get("source_sha256", "").startswith(info.sha256):
                    raise NeuralFXError(f"{path} was imported from a file whose sha256 is not "
                                        f"{info.sha256}…")
            else:
                weights.check_digest(info, path)
            models.state_dict_for(info.model, path)
        except NeuralFXError as exc:
            click.echo(f"{name}: FAILED: {exc.message}")
            failed += 1
            continue
        click.echo(f"{name}: ok ({path})")
    if not chosen:
        click.echo("no cached weights to verify")
    if failed:
        raise NeuralFXError(f"{failed} checkpoint(s) failed verification",
                            hint="fetch or import them again")


@main.group("train")
def train_group() -> None:
    """Train an effect's models on your own data: neuralfx train EFFECT [OPTIONS].

    Effects add their trainers here through the register_commands hook.
    """
