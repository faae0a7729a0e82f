"""What a run reads (the active strip, the render output, or a path), where its frames sit on
the timeline, and boxes exported from a tracking marker."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import bpy

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
BOXES_FORMAT = {"neuralfx": "boxes", "version": 1}  # neuralfx.regions reads this layout


class SourceError(Exception):
    """The chosen input cannot be used; the message says what to do."""


@dataclass
class Source:
    """An input for ``neuralfx run``, and where its result goes on the timeline."""

    input: str  # a path or pattern the CLI reads
    frames: str | None  # a --frames range, or None for all
    stem: str  # names the outputs
    frame_start: int  # scene frame of the first frame done
    channel: int  # the sequencer channel of the source (0: none)
    first_number: int  # the first source frame number done (output names follow it)


def absolute(path: str, field: str) -> str:
    """``path`` made absolute; a ``//`` path (relative to the .blend file) is refused while
    the file is unsaved, rather than landing in Blender's working folder."""
    if path.startswith("//") and not bpy.data.filepath:
        raise SourceError(
            f"{field} {path} is relative to the .blend file, which is not saved "
            f"yet: save the file first, or choose a full path for {field}"
        )
    return bpy.path.abspath(path)


def strips(editor):
    """The top-level strips: ``strips`` since Blender 4.4, ``sequences`` before."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def sequence_pattern(filename: str) -> tuple[str, int] | None:
    """``shot.1001.png`` → (``shot.####.png``, 1001); None without a frame number."""
    m = _LAST_NUMBER.search(os.path.basename(filename))
    if not m:
        return None
    base = os.path.basename(filename)
    pattern = base[: m.start()] + "#" * len(m.group(1)) + base[m.end() :]
    return os.path.join(os.path.dirname(filename), pattern), int(m.group(1))


def _stem(path: str) -> str:
    name = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[._-]*[#\d%*@]+[d]?$", "", name) or "frames"


def from_strip(scene) -> Source:
    editor = scene.sequence_editor
    strip = editor.active_strip if editor else None
    if strip is None or strip.type not in ("IMAGE", "MOVIE"):
        raise SourceError(
            "select an image or movie strip in the Video Sequencer, or choose another Input"
        )
    first = int(strip.frame_final_start - strip.frame_start)  # frames trimmed off the start
    count = int(strip.frame_final_duration)
    if strip.type == "MOVIE":
        path = bpy.path.abspath(strip.filepath)
        return Source(
            path,
            f"{first + 1}-{first + count}",
            _stem(path),
            int(strip.frame_final_start),
            strip.channel,
            first + 1,
        )
    directory = bpy.path.abspath(strip.directory)
    names = [e.filename for e in strip.elements][first : first + count]
    if len(names) == 1:
        path = os.path.join(directory, names[0])
        return Source(path, None, _stem(path), int(strip.frame_final_start), strip.channel, 1)
    found = sequence_pattern(os.path.join(directory, names[0]))
    if found is None:
        raise SourceError(
            f"the strip's files ({names[0]}, ...) have no frame numbers; "
            "choose Input: File or pattern"
        )
    pattern, number = found
    last = sequence_pattern(names[-1])[1]
    return Source(
        pattern,
        f"{number}-{last}",
        _stem(names[0]),
        int(strip.frame_final_start),
        strip.channel,
        number,
    )


def from_render_output(scene) -> Source:
    one = bpy.path.abspath(scene.render.frame_path(frame=1))
    two = bpy.path.abspath(scene.render.frame_path(frame=2))
    cut = next((i for i, (a, b) in enumerate(zip(one, two, strict=False)) if a != b), None)
    if cut is None:
        raise SourceError("the render output path has no frame number")
    start = cut
    while start > 0 and one[start - 1].isdigit():
        start -= 1
    end = cut
    while end < len(one) and one[end].isdigit():
        end += 1
    pattern = one[:start] + "#" * (end - start) + one[end:]
    return Source(
        pattern,
        f"{scene.frame_start}-{scene.frame_end}",
        _stem(pattern),
        scene.frame_start,
        0,
        scene.frame_start,
    )


IMAGE_TYPES = (".exr", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp")
#: The video files the CLI reads (neuralfx.frames.video.VIDEO_SUFFIXES; tests check they agree).
MOVIE_SUFFIXES = (
    ".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm", ".mxf", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg"
)  # fmt: skip


def folder_pattern(folder: str) -> str:
    """A glob over the frames in ``folder``: the image type most of its files have."""
    counts: dict[str, int] = {}
    for name in os.listdir(folder):
        ext = os.path.splitext(name)[1].lower()
        if ext in IMAGE_TYPES and not name.startswith("."):
            counts[ext] = counts.get(ext, 0) + 1
    if not counts:
        raise SourceError(f"{folder} has no frames ({', '.join(IMAGE_TYPES)})")
    return os.path.join(folder, "*" + max(counts, key=counts.get))


def from_path(scene, path: str) -> Source:
    if not path:
        raise SourceError("choose a file, folder or pattern for the Input")
    path = absolute(path, "Input")
    if os.path.isdir(path):
        pattern = folder_pattern(path)
        ext = pattern.rsplit("*", 1)[1]
        first = min(n for n in os.listdir(path) if n.lower().endswith(ext))
        numbered = sequence_pattern(first)
        return Source(
            pattern,
            None,
            os.path.basename(os.path.normpath(path)) or "frames",
            scene.frame_start,
            0,
            numbered[1] if numbered else 1,
        )
    numbered = sequence_pattern(path) if "#" not in path else None
    movie = os.path.splitext(path)[1].lower() in MOVIE_SUFFIXES
    number = numbered[1] if numbered and not movie else 1
    return Source(path, None, _stem(path), scene.frame_start, 0, number)


def resolve(scene) -> Source:
    settings = scene.neuralfx
    if settings.source == "STRIP":
        source = from_strip(scene)
    elif settings.source == "RENDER":
        source = from_render_output(scene)
    else:
        source = from_path(scene, settings.source_path)
    frames = settings.frames.strip()
    if frames:
        first = first_frame_of(frames)
        if first is not None:
            # The results of Frames start at source frame `first`, which sits on the timeline
            # as far from the source's first frame as their numbers are apart.
            source.frame_start += first - source.first_number
            source.first_number = first
        source.frames = frames
    return source


def first_frame_of(frames: str) -> int | None:
    """The first frame of a ``--frames`` range (``1001-1100``, ``1-10x2``, ``1,5,9-12``), or
    None when it is not one (NeuralFX then says what is wrong with it)."""
    firsts = [re.match(r"\s*(-?\d+)", part) for part in frames.split(",")]
    if not firsts or not all(firsts):
        return None
    return min(int(m.group(1)) for m in firsts)


# -- boxes from a tracking marker ------------------------------------------------------------------
def first_frame_number(clip) -> int:
    """The source frame number of clip frame 1: a sequence's first file number, 1 for a movie."""
    if clip.source == "SEQUENCE":
        found = sequence_pattern(bpy.path.abspath(clip.filepath))
        return found[1] if found else 1
    return 1


def marker_boxes(clip, track) -> dict:
    """The boxes document (neuralfx.regions) for ``track``'s enabled markers: each marker's
    pattern area, in pixels of the clip, origin top left. Clip frame 1 is the first frame of
    the clip's file, so frame numbers are the source's own."""
    width, height = clip.size
    first = first_frame_number(clip)
    boxes = {}
    for marker in track.markers:
        if marker.mute:
            continue
        xs = [marker.co[0] + c[0] for c in marker.pattern_corners]
        ys = [marker.co[1] + c[1] for c in marker.pattern_corners]
        boxes[str(marker.frame - 1 + first)] = [
            round(min(xs) * width, 3),
            round((1.0 - max(ys)) * height, 3),
            round(max(xs) * width, 3),
            round((1.0 - min(ys)) * height, 3),
        ]
    if not boxes:
        raise SourceError(f"track {track.name!r} has no enabled markers")
    return {**BOXES_FORMAT, "frame_size": [int(width), int(height)], "boxes": boxes}


def write_boxes(document: dict, path: str) -> None:
    """Write atomically, so NeuralFX never reads half a file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1)
    os.replace(path + ".tmp", path)
