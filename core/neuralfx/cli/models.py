"""``neuralfx models list|fetch|import|verify`` and the ``train`` group plugins add to."""

from __future__ import annotations

import json

import click

from ..host import weights
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
        record = (
            weights.verified(info.name)
            if path and path.parent == weights.entry_dir(info.name)
            else None
        )
        rows.append(
            {
                "name": info.name,
                "model": info.model,
                "file": info.filename,
                "url": info.url,
                "sha256": info.sha256,
                "size": info.size,
                "licence": info.licence,
                "cached": str(path) if path else None,
                "shipped": bool(path) and weights.is_shipped(path),
                "verified": record,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        state = "shipped" if r["shipped"] else "cached" if r["cached"] else "not cached"
        check = (
            f" ({r['verified']['checked']} checked, sha256 {r['verified']['sha256'][:12]})"
            if r["verified"]
            else ""
        )
        click.echo(f"{r['name']:<{width}}  {r['model']:<18} {state:<10} {r['licence'][:40]}{check}")
    click.echo(f"cache: {weights.cache_dir()}")


@models_group.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--url",
    help="Download from this URL instead, laid out as the official download "
    "(an archive when the official one is); NAMES then all come from "
    "it. For a studio mirror of every file, set "
    f"{weights.MIRROR_VARIABLE}=BASE (files at BASE/NAME/FILE).",
)
def fetch_command(names: tuple[str, ...], url: str | None) -> None:
    """Download official checkpoints into the cache.

    \b
    Each file is checked before it enters the cache: its size and sha256 where the registry
    knows them, else that it fits the model's architecture; the sha256 of what was checked is
    recorded (`models list`). An archive is downloaded once for all the entries in it; an
    interrupted download resumes where it stopped. Entries that cannot be fetched by a
    program (a host that wants a browser) say how to get the file and import it.
    """
    from tqdm import tqdm

    for name in names:
        weights.known(name)
    with tqdm(unit="B", unit_scale=True, desc=", ".join(names), leave=False, disable=None) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        paths = weights.fetch_all(list(names), url=url, progress=progress)
    for name in names:
        record = weights.verified(name) or {}
        click.echo(
            f"{name}: {paths[name]} ({record.get('checked', '?')} checked, sha256 "
            f"{record.get('sha256', '?')})"
        )


@models_group.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(name: str, file: str) -> None:
    """Convert an official checkpoint FILE into NAME.safetensors in the cache.

    FILE is the official file, or the official archive as downloaded (zip or tar.gz: the
    entry's file is taken from it). It must fit the model's architecture; legacy keys are
    converted as the official code does (e.g. the old InstanceNorm statistics of the Johnson
    files).
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
                    raise NeuralFXError(
                        f"{path} was imported from a file whose sha256 is not {info.sha256}…"
                    )
            else:
                digest = weights.check_digest(info, path)
                record = weights.verified(name) if path.parent == weights.entry_dir(name) else None
                if record and record.get("sha256") != digest:
                    raise NeuralFXError(
                        f"{path} changed since it was fetched and checked "
                        f"(sha256 {digest[:12]}, was {record['sha256'][:12]})"
                    )
            models.state_dict_for(info.model, path)
        except NeuralFXError as exc:
            click.echo(f"{name}: FAILED: {exc.message}")
            failed += 1
            continue
        click.echo(f"{name}: ok ({path})")
    if not chosen:
        click.echo("no cached weights to verify")
    if failed:
        raise NeuralFXError(
            f"{failed} checkpoint(s) failed verification", hint="fetch or import them again"
        )


@main.group("train")
def train_group() -> None:
    """Train an effect's models on your own data: neuralfx train EFFECT [OPTIONS].

    Effects add their trainers here through the register_commands hook.
    """
