"""Bringing a finished run back into Blender: a sequencer strip, a compositor Image node, or an
image in the Image Editor. Blender 4.2 to 5.0 differ in names (``sequences`` became ``strips``;
5.0 keeps the compositor in ``scene.compositing_node_group`` instead of ``scene.node_tree``);
the differences are handled here and nowhere else."""

from __future__ import annotations

import os

import bpy

from .sources import Source, strips

LINEAR, SRGB = "Linear Rec.709", "sRGB"


def colour_space(path: str) -> str:
    """EXR holds scene-linear light; 8- and 16-bit files and movies hold sRGB."""
    return LINEAR if path.lower().endswith(".exr") else SRGB


def _free_channel(editor, start: int, end: int, lowest: int) -> int:
    channel = lowest
    while any(
        s.channel == channel and s.frame_final_start < end and s.frame_final_end > start
        for s in strips(editor)
    ):
        channel += 1
    return channel


def _shows(strip, paths: list[str]) -> bool:
    """Whether ``strip`` is a result strip of the files ``paths`` (a rerun's outputs)."""
    if strip.type == "MOVIE":
        return os.path.normpath(bpy.path.abspath(strip.filepath)) == os.path.normpath(paths[0])
    if strip.type != "IMAGE" or not len(strip.elements):
        return False
    first = os.path.join(bpy.path.abspath(strip.directory), strip.elements[0].filename)
    return os.path.normpath(first) == os.path.normpath(paths[0])


def to_sequencer(scene, source: Source, paths: list[str], name: str):
    """A strip of ``paths`` (frames in order, or one movie) at the source's frames, in the
    first free channel above the source. A rerun's result replaces the strip of the same files
    (in its channel) rather than adding another."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    movie = paths[0].lower().endswith((".mp4", ".mov"))
    collection = strips(editor)
    channel = None
    for old in [s for s in collection if _shows(s, paths)]:
        channel = old.channel
        collection.remove(old)
    duration = 10**6 if movie else len(paths)
    if channel is None:
        channel = _free_channel(
            editor, source.frame_start, source.frame_start + duration, source.channel + 1
        )
    if movie:
        strip = collection.new_movie(name, paths[0], channel, source.frame_start)
    else:
        strip = collection.new_image(name, paths[0], channel, source.frame_start)
        for path in paths[1:]:
            strip.elements.append(os.path.basename(path))
    strip.colorspace_settings.name = colour_space(paths[0])
    return strip


def compositor_tree(scene):
    if hasattr(scene, "compositing_node_group"):  # Blender 5.0
        if scene.compositing_node_group is None:
            # A new compositor renders what reaches its group output: give it one, so that
            # the result placed in it is what F12 renders.
            tree = bpy.data.node_groups.new("NeuralFX compositing", "CompositorNodeTree")
            tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            tree.nodes.new("NodeGroupOutput").location = (400, 0)
            scene.compositing_node_group = tree
        return scene.compositing_node_group
    scene.use_nodes = True
    return scene.node_tree


def _to_an_unlinked_output(tree, node) -> None:
    """Link the result to the compositor's group output when nothing reaches it yet (a
    compositor the add-on made); an artist's own wiring is left alone."""
    for output in tree.nodes:
        if (
            output.bl_idname == "NodeGroupOutput"
            and output.inputs
            and not output.inputs[0].is_linked
        ):
            tree.links.new(node.outputs["Image"], output.inputs[0])
            return


def load_image(source: Source, paths: list[str], name: str):
    """The result as an image datablock: a sequence when there are several frames."""
    image = bpy.data.images.load(paths[0], check_existing=False)
    image.name = name
    if paths[0].lower().endswith((".mp4", ".mov")):
        image.source = "MOVIE"
    elif len(paths) > 1:
        image.source = "SEQUENCE"
    image.colorspace_settings.name = colour_space(paths[0])
    return image


def _frame_user(user, source: Source, count: int) -> None:
    """Show frame ``first_number + k`` of the files at scene frame ``frame_start + k``."""
    user.frame_duration = count
    user.frame_start = source.frame_start
    user.frame_offset = source.first_number - 1


def to_compositor(scene, source: Source, paths: list[str], name: str):
    """An Image node of the result; a rerun's result reuses the node of the same files."""
    tree = compositor_tree(scene)
    node = next(
        (
            n
            for n in tree.nodes
            if n.bl_idname == "CompositorNodeImage"
            and n.image
            and os.path.normpath(bpy.path.abspath(n.image.filepath)) == os.path.normpath(paths[0])
        ),
        None,
    )
    if node is None:
        node = tree.nodes.new("CompositorNodeImage")
        node.image = load_image(source, paths, name)
        node.label = name
        _to_an_unlinked_output(tree, node)
    else:
        node.image.reload()
    if node.image.source in ("SEQUENCE", "MOVIE"):
        _frame_user(
            node,
            source,
            len(paths) if node.image.source == "SEQUENCE" else node.image.frame_duration,
        )
    for other in tree.nodes:
        other.select = False
    node.select, tree.nodes.active = True, node
    return node


def to_image_editor(context, source: Source, paths: list[str], name: str):
    image = load_image(source, paths, name)
    screen = getattr(context, "screen", None) or (context.window.screen if context.window else None)
    for area in screen.areas if screen else ():
        if area.type == "IMAGE_EDITOR":
            space = area.spaces.active
            space.image = image
            if image.source in ("SEQUENCE", "MOVIE"):
                _frame_user(space.image_user, source, len(paths))
                space.image_user.use_auto_refresh = True
    return image


def place(context, destination: str, source: Source, paths: list[str], name: str):
    """Put the result where the artist asked; returns the strip, node or image."""
    if not paths:
        return None
    if destination == "SEQUENCER":
        return to_sequencer(context.scene, source, paths, name)
    if destination == "COMPOSITOR":
        return to_compositor(context.scene, source, paths, name)
    if destination == "IMAGE_EDITOR":
        return to_image_editor(context, source, paths, name)
    return None
