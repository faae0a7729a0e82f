"""``neuralfx watermark detect``: read the invisible mark back from frames or videos."""

from __future__ import annotations

import json

import click

from .main import main


@main.group("watermark")
def watermark_group() -> None:
    """The invisible mark of `neuralfx run ... --watermark` (always on for face-swap)."""


@watermark_group.command("detect")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--frames",
    type=int,
    default=48,
    show_default=True,
    help="Frames of a video or sequence to read, folded together (more is surer; "
    "one 1080p frame is enough, eight 640x360 frames are).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per input: path, found, payload, confidence, tiles (how "
    "much picture was read), false_match (when found: the chance that an "
    "unmarked picture reads so surely) and reason (why no mark was read).",
)
@click.option(
    "--require",
    is_flag=True,
    help="Exit with 1 unless every PATH carries the mark (for scripts that must "
    "confirm a file is marked).",
)
def detect_command(paths: tuple[str, ...], frames: int, as_json: bool, require: bool) -> None:
    """Say whether each PATH (an image, a sequence pattern or a video) carries the mark, and
    its payload: the tool, the model (a hash of the effect and its weights) and the run. It
    reads pictures scaled (0.33x to 2x), cropped, turned (up to 3 degrees), letterboxed or
    re-encoded since they were marked. When no mark is read, it says why (too little
    picture, a damaged payload, no sync at all).

    \b
    Examples:
      neuralfx watermark detect out.mp4
      neuralfx watermark detect 'shot.####.png' frame.jpg --json
      neuralfx watermark detect --require delivery.mp4 || echo "not marked"
    """
    from ..errors import FrameError
    from ..frames.io import open_source
    from ..frames.samples import display_rgb
    from ..frames.video import read_frames
    from ..marks.watermark import detect

    if frames < 1:
        raise click.BadParameter("must be at least 1", param_hint="--frames")
    results = []
    for path in paths:
        source = open_source(path)
        chosen = source.frames[:frames]
        try:
            if source.video_path:
                pictures = [p for _, p in read_frames(source.video_path, set(chosen))]
            else:
                pictures = [source.read(f) for f in chosen]
        except FrameError as exc:
            raise FrameError(
                f"{path}: {exc.message}", hint="give an image, a sequence or a video"
            ) from None
        found = detect(*(display_rgb(p) for p in pictures), numbers=chosen)
        results.append({"path": path, **found.as_dict()})
    if as_json:
        for r in results:
            click.echo(json.dumps(r))
    else:
        for r in results:
            if r["found"]:
                p = r["payload"]
                click.echo(
                    f"{r['path']}: marked by NeuralFX (model {p['model']}, run "
                    f"{p['run']}; confidence {r['confidence']})"
                )
            else:
                click.echo(
                    f"{r['path']}: no mark found (confidence {r['confidence']}): {r['reason']}"
                )
    unmarked = [r["path"] for r in results if not r["found"]]
    if require and unmarked:
        click.echo(f"--require: no mark read in {', '.join(unmarked)}", err=True)
        raise SystemExit(1)
