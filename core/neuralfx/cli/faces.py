"""``neuralfx faces list|extract``: the faces of a clip, as the face effects see them."""

from __future__ import annotations

import json

import click

from .main import main

_SOURCE_OPTIONS = [
    click.option("--frames", metavar="RANGE", help="Frames to look at (default: all)."),
    click.option(
        "--detector",
        default="hog",
        show_default=True,
        help="hog (fast), cnn (turned and small faces), or one a plugin adds.",
    ),
    click.option(
        "--hold",
        type=int,
        default=5,
        show_default=True,
        help="Frames a lost face is kept for (as the effects do).",
    ),
]


def _source_options(fn):
    for option in reversed(_SOURCE_OPTIONS):
        fn = option(fn)
    return fn


@main.group("faces")
def faces_group() -> None:
    """The faces in a clip: their track ids (for --faces) and aligned crops (for training)."""


@faces_group.command("list")
@click.argument("input")
@_source_options
@click.option(
    "--min-face",
    type=int,
    default=64,
    show_default=True,
    help="Smallest face to find, in pixels (wide).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(
    input: str, frames: str | None, detector: str, hold: int, min_face: int, as_json: bool
) -> None:
    """List the faces of INPUT with the track ids effects use (face-attributes --faces 2).

    \b
    Example:
      neuralfx faces list interview.mp4
    """
    from ..faces.scan import list_tracks

    tracks = [
        t.as_dict()
        for t in list_tracks(input, frames=frames, detector=detector, hold=hold, min_face=min_face)
    ]
    if as_json:
        click.echo(json.dumps(tracks, indent=2))
        return
    if not tracks:
        from ..faces.params import no_face_hint

        click.echo(f"no faces found in {input}: {no_face_hint(detector, min_face)}")
        return
    click.echo(f"{'id':>4}  {'frames':<15} {'seen':>5}  {'width':>6}  first box")
    for t in tracks:
        click.echo(
            f"{t['id']:>4}  {str(t['first']) + '-' + str(t['last']):<15} "
            f"{t['frames']:>5}  {t['width']:>6}  {t['box']}"
        )


@faces_group.command("extract")
@click.argument("input")
@click.argument("out_dir")
@_source_options
@click.option(
    "--min-face",
    type=int,
    default=64,
    show_default=True,
    help="Skip faces narrower than this (pixels in the source).",
)
@click.option(
    "--min-sharpness",
    type=float,
    default=30.0,
    show_default=True,
    help="Skip blurred faces: variance of the Laplacian of the aligned crop.",
)
@click.option(
    "--every",
    type=int,
    default=1,
    show_default=True,
    help="Keep every Nth frame of each face (neighbouring frames are near copies).",
)
@click.option(
    "--layout",
    type=click.Choice(["celeba", "celeba-hq", "swap"]),
    default="celeba",
    show_default=True,
    help="celeba: 178x218 aligned faces (face-attributes); celeba-hq: 256x256 CelebA-HQ "
    "crops (face-attributes --model stargan-v2); swap: square face crops with masks "
    "(face-swap).",
)
@click.option(
    "--size",
    type=click.Choice(["64", "128", "256"]),
    default="128",
    show_default=True,
    help="swap: the crop's side (the swap model's resolution).",
)
def extract_command(
    input: str,
    out_dir: str,
    frames: str | None,
    detector: str,
    hold: int,
    min_face: int,
    min_sharpness: float,
    every: int,
    layout: str,
    size: str,
) -> None:
    """Write the faces of INPUT (video, sequence or images) as aligned crops for training.

    Each face goes to OUT_DIR/images/fFRAME_tTRACK.png: in CelebA's aligned 178x218 layout
    (what `neuralfx train face-attributes --images` reads, as StarGAN reads CelebA; label the
    attributes in a list_attr_celeba.txt-style file), with --layout celeba-hq as CelebA-HQ's
    256x256 crop (sort them into female/ and male/ folders for `neuralfx train
    face-attributes --model stargan-v2 --images`), or with --layout swap as a square face
    crop of --size pixels with its mask in OUT_DIR/masks (what `neuralfx train face-swap`
    reads). OUT_DIR/faces.csv records each face's source frame, track id, box, sharpness and
    68 landmarks.

    \b
    Examples:
      neuralfx faces extract interview.mp4 faces/ --every 5
      neuralfx faces extract interview.mp4 hq/ --layout celeba-hq --every 5
      neuralfx faces extract actor_a.mp4 a/ --layout swap --size 128
    """
    from ..errors import ParameterError
    from ..faces.scan import extract

    if every < 1 or min_face < 16:
        raise ParameterError("--every must be at least 1 and --min-face at least 16")
    counts = extract(
        input,
        out_dir,
        frames=frames,
        detector=detector,
        hold=hold,
        min_face=min_face,
        min_sharpness=min_sharpness,
        every=every,
        layout=layout,
        size=int(size),
    )
    click.echo(
        f"{out_dir}: {counts['written']} face(s) written; skipped {counts['tiny']} "
        f"tiny, {counts['blurry']} blurred, {counts['skipped']} by --every"
    )
