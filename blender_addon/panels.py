"""One panel layout, made for three editors' sidebars (Video Sequencer, Compositor, Image
Editor) by :func:`make_panel`. The effect's parameters are drawn from its description, so a
new effect needs no change here."""

from __future__ import annotations

import bpy

from . import jobs, properties, schema


def draw_effect_settings(layout, scene) -> None:
    settings = scene.neuralfx
    effect = settings.effect
    group = properties.effect_settings(scene, effect) if effect else None
    if group is None:
        layout.label(text="Press Refresh to read the effects from NeuralFX", icon="INFO")
        return
    for param, spec in group.neuralfx_params.items():
        if not schema.applies(group, spec):
            continue  # e.g. Gatys' iterations under another method
        attr = schema.attribute(param)
        text = schema.label(param) + (" (required)" if spec.get("x-required") else "")
        if spec.get("type") == "array":
            box = layout.box()
            row = box.row()
            row.label(text=text)
            add = row.operator("neuralfx.item_add", text="", icon="ADD")
            add.effect, add.param = effect, param
            for index, item in enumerate(getattr(group, attr)):
                row = box.row(align=True)
                row.prop(item, "value", text="")
                remove = row.operator("neuralfx.item_remove", text="", icon="X")
                remove.effect, remove.param, remove.index = effect, param, index
        elif spec.get("x-kind") == "boxes":
            row = layout.row(align=True)
            row.prop(group, attr, text=text)
            export = row.operator("neuralfx.boxes_from_marker", text="", icon="TRACKER")
            export.effect, export.param = effect, param
        else:
            layout.prop(group, attr, text=text)


def draw_run_status(layout, context) -> None:
    status = context.window_manager.neuralfx_status
    if status.running:
        layout.label(text=f"{status.label}: {status.done}/{status.total} frames", icon="TIME")
        layout.prop(status, "progress", slider=True)
        layout.label(text=f"{status.fps:.1f} frames/s, ETA {status.eta}")
        if status.queued:
            layout.label(text=f"{status.queued} more queued")
        row = layout.row()
        row.operator("neuralfx.cancel", icon="CANCEL")
        row.operator("neuralfx.cancel", text="Cancel all").all_queued = True
    if status.error:
        box = layout.box()
        wrapped(box, context, status.error, "ERROR")
        if status.hint:
            wrapped(box, context, status.hint, "QUESTION")
    elif status.message:
        wrapped(layout, context, status.message, "CHECKMARK")
    for warning in status.warnings.splitlines():
        wrapped(layout, context, warning, "ERROR")
    if status.command:
        layout.prop(status, "command", text="", icon="CONSOLE")  # selectable, copyable


def wrapped(layout, context, text: str, icon: str) -> None:
    """``text`` as labels no wider than the sidebar (a label does not wrap by itself)."""
    import textwrap

    region = getattr(context, "region", None)
    width = max(24, int((region.width if region else 300) / 7))
    column = layout.column(align=True)
    for index, line in enumerate(textwrap.wrap(text, width) or [""]):
        column.label(text=line, icon=icon if index == 0 else "BLANK1")


def draw(panel, context) -> None:
    layout = panel.layout
    scene = context.scene
    settings = scene.neuralfx
    row = layout.row(align=True)
    row.prop(settings, "effect")
    row.operator("neuralfx.refresh_effects", text="", icon="FILE_REFRESH")
    draw_effect_settings(layout.box(), scene)

    box = layout.box()
    box.prop(settings, "source")
    if settings.source == "PATH":
        box.prop(settings, "source_path")
    box.prop(settings, "output_folder")
    row = box.row()
    row.prop(settings, "output_format")
    row.prop(settings, "destination")

    box = layout.box()
    box.prop(settings, "frames")
    row = box.row()
    row.prop(settings, "device")
    row.prop(settings, "precision")
    for name in schema.RUN_OPTIONS:  # declared in NeuralFX (neuralfx.options)
        box.prop(settings, schema.attribute(name), text=schema.label(name))

    row = layout.row(align=True)
    row.operator("neuralfx.run", icon="PLAY", text="Queue run" if jobs.QUEUE.busy else "Run")
    row.operator("neuralfx.preview", text="", icon="HIDE_OFF")
    row.operator("neuralfx.copy_command", text="", icon="COPYDOWN")
    draw_run_status(layout, context)


def make_panel(space_type: str, poll=None) -> type:
    """A sidebar panel "NeuralFX" for ``space_type``; ``poll`` narrows where it shows."""
    attrs = {
        "bl_idname": f"NEURALFX_PT_{space_type.lower()}",
        "bl_label": "NeuralFX",
        "bl_space_type": space_type,
        "bl_region_type": "UI",
        "bl_category": "NeuralFX",
        "draw": draw,
    }
    if poll is not None:
        attrs["poll"] = classmethod(lambda cls, context: poll(context))
    return type(attrs["bl_idname"], (bpy.types.Panel,), attrs)


CLASSES = (
    make_panel("SEQUENCE_EDITOR"),
    make_panel(
        "NODE_EDITOR",
        poll=lambda context: getattr(context.space_data, "tree_type", "") == "CompositorNodeTree",
    ),
    make_panel("IMAGE_EDITOR"),
)
