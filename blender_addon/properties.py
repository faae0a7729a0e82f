"""The add-on's properties: preferences, the scene's run settings, the live run status, and the
per-effect settings generated from NeuralFX's descriptions (schema.py).

Effect settings live in ``scene.neuralfx_effects.<effect>``: one generated PropertyGroup per
effect, so switching effects loses nothing, and the values are saved with the .blend file.
When the effect list is refreshed the classes are generated again; Blender keeps the stored
values of properties whose names did not change. The last descriptions are cached in the
extension's user folder, so a saved file shows its settings before anything is asked of NeuralFX.
"""

from __future__ import annotations

import json
import os

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import schema

DEVICES = [
    ("auto", "Auto", "CUDA, then Apple MPS, then the CPU"),
    ("cpu", "CPU", ""),
    ("cuda", "CUDA", "an NVIDIA GPU"),
    ("mps", "MPS", "Apple silicon GPU"),
]
PRECISIONS = [
    ("fp32", "fp32", "full precision"),
    ("bf16", "bf16", "faster on recent GPUs and CPUs; tiny differences"),
    ("fp16", "fp16", "fastest on NVIDIA GPUs; GPU only"),
]
# identifier → (file extension, extra run options); colour space follows the extension.
OUTPUT_FORMATS = {
    "PNG": ("png", ["--depth", "8"]),
    "PNG16": ("png", ["--depth", "16"]),
    "JPEG": ("jpg", []),
    "TIFF16": ("tif", ["--depth", "16"]),
    "EXR_HALF": ("exr", ["--depth", "half"]),
    "EXR_FLOAT": ("exr", ["--depth", "float"]),
    "MP4": ("mp4", []),
    "MOV": ("mov", []),
}
_FORMAT_ITEMS = [
    ("PNG", "PNG 8-bit", "sRGB"),
    ("PNG16", "PNG 16-bit", "sRGB"),
    ("JPEG", "JPEG", "sRGB"),
    ("TIFF16", "TIFF 16-bit", "sRGB"),
    ("EXR_HALF", "OpenEXR half", "scene-linear"),
    ("EXR_FLOAT", "OpenEXR float", "scene-linear"),
    ("MP4", "MP4 (H.264)", "a movie"),
    ("MOV", "MOV (ProRes)", "a movie"),
]


class NeuralFXPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    executable: StringProperty(
        name="NeuralFX program",
        subtype="FILE_PATH",
        description="The `neuralfx` program of your NeuralFX install, or a Python interpreter "
        "that has NeuralFX (empty: find `neuralfx` on PATH)",
    )
    device: EnumProperty(
        name="Device",
        items=DEVICES,
        default="auto",
        description="Where effects run unless the panel says otherwise",
    )
    precision: EnumProperty(
        name="Precision",
        items=PRECISIONS,
        default="fp32",
        description="Compute precision unless the panel says otherwise",
    )
    connection: StringProperty(name="Connection", description="What Test connection found")
    connection_ok: BoolProperty()

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "executable")
        row = layout.row()
        row.prop(self, "device")
        row.prop(self, "precision")
        layout.operator("neuralfx.test_connection", icon="PLUGIN")
        for line in self.connection.splitlines():
            layout.label(text=line, icon="CHECKMARK" if self.connection_ok else "ERROR")


def preferences(context=None) -> NeuralFXPreferences:
    return (context or bpy.context).preferences.addons[__package__].preferences


def _effect_items(self, context):
    items = [(e["name"], e["name"], e.get("summary", "")) for e in EFFECTS]
    _effect_items.keep = items  # Blender needs the strings kept alive
    return items or [("NONE", "(none: press Refresh)", "Ask NeuralFX for its effects")]


class NeuralFXSettings(bpy.types.PropertyGroup):
    """What to run, on what, and where the result goes: ``scene.neuralfx``."""

    effect: EnumProperty(
        name="Effect", items=_effect_items, description="The NeuralFX effect to run"
    )
    source: EnumProperty(
        name="Input",
        default="STRIP",
        items=[
            ("STRIP", "Active strip", "The active image or movie strip of the Video Sequencer"),
            ("RENDER", "Render output", "The scene's rendered frames (Output properties)"),
            (
                "PATH",
                "File or pattern",
                "A movie, an image, a folder of frames, or a sequence such as shot.####.exr",
            ),
        ],
    )
    source_path: StringProperty(
        name="Path",
        subtype="FILE_PATH",
        options=schema.BLEND_RELATIVE,
        description="A movie, an image, a folder of frames, or a "
        "sequence pattern (####, %04d, or a glob such as "
        "shot.*.png)",
    )
    output_folder: StringProperty(
        name="Folder",
        subtype="DIR_PATH",
        default="//neuralfx/",
        options=schema.BLEND_RELATIVE,
        description="Where results are written (// is the .blend's folder)",
    )
    output_format: EnumProperty(name="Format", items=_FORMAT_ITEMS, default="PNG")
    destination: EnumProperty(
        name="Result to",
        default="SEQUENCER",
        items=[
            ("SEQUENCER", "Sequencer strip", "A new strip in the channel above the source"),
            ("COMPOSITOR", "Compositor node", "A new Image node in the compositor"),
            ("IMAGE_EDITOR", "Image Editor", "Show the result in the Image Editor"),
            ("NONE", "Files only", "Only write the files"),
        ],
    )
    frames: StringProperty(
        name="Frames",
        description="Frames to do, e.g. 1001-1100 or 1-10x2 (empty: the input's own range)",
    )
    device: EnumProperty(
        name="Device",
        items=[("PREFS", "Default", "From the preferences"), *DEVICES],
        default="PREFS",
    )
    precision: EnumProperty(
        name="Precision",
        items=[("PREFS", "Default", "From the preferences"), *PRECISIONS],
        default="PREFS",
    )
    # ... and the run options NeuralFX marks for the panel (overwrite, missing, ...), added
    # below from their declaration (schema.RUN_OPTIONS)


NeuralFXSettings.__annotations__.update(schema.run_option_properties())


class NeuralFXStatus(bpy.types.PropertyGroup):
    """The queue and the current run, for the UI: ``window_manager.neuralfx_status``. Written
    only by the timer on Blender's main thread."""

    running: BoolProperty()
    label: StringProperty()
    done: IntProperty()
    total: IntProperty()
    fps: FloatProperty()
    eta: StringProperty()
    progress: FloatProperty(subtype="PERCENTAGE", min=0, max=100, name="Progress")
    queued: IntProperty()
    message: StringProperty()
    error: StringProperty()
    hint: StringProperty()
    output: StringProperty()
    warnings: StringProperty(description="The last run's warnings, one a line")
    command: StringProperty(
        name="Command",
        description="The NeuralFX command of the last run queued or copied, as a terminal takes it",
    )


STATIC_CLASSES = (NeuralFXPreferences, NeuralFXSettings, NeuralFXStatus)

# -- effect settings generated from the descriptions -----------------------------------------------
EFFECTS: list[dict] = []  # from `neuralfx effects --json`
_generated: list[type] = []


def _cache_path() -> str:
    return os.path.join(bpy.utils.extension_path_user(__package__, create=True), "effects.json")


def install_effects(effects: list[dict], descriptions: dict[str, dict], *, save: bool = True):
    """(Re)generate the effect settings classes for ``descriptions`` (effect → describe JSON)."""
    if hasattr(bpy.types.Scene, "neuralfx_effects"):
        del bpy.types.Scene.neuralfx_effects
    for cls in reversed(_generated):
        bpy.utils.unregister_class(cls)
    _generated.clear()
    pointers = {}
    for name, description in descriptions.items():
        classes = schema.effect_group(name, description)
        for cls in classes:
            bpy.utils.register_class(cls)
        _generated.extend(classes)
        pointers[schema.attribute(name.replace("-", "_"))] = PointerProperty(type=classes[-1])
    container = type(
        "NEURALFX_PG_effects", (bpy.types.PropertyGroup,), {"__annotations__": pointers}
    )
    bpy.utils.register_class(container)
    _generated.append(container)
    bpy.types.Scene.neuralfx_effects = PointerProperty(type=container)
    EFFECTS[:] = effects
    if save:
        with open(_cache_path() + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"effects": effects, "descriptions": descriptions}, f)
        os.replace(_cache_path() + ".tmp", _cache_path())


def effect_settings(scene, effect: str):
    """The generated PropertyGroup holding ``effect``'s settings in ``scene``, or None."""
    container = getattr(scene, "neuralfx_effects", None)
    return (
        getattr(container, schema.attribute(effect.replace("-", "_")), None) if container else None
    )


def load_cached_effects() -> None:
    try:
        with open(_cache_path(), encoding="utf-8") as f:
            cached = json.load(f)
        install_effects(cached["effects"], cached["descriptions"], save=False)
    except (OSError, ValueError, KeyError):
        install_effects([], {}, save=False)


def register() -> None:
    for cls in STATIC_CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.neuralfx = PointerProperty(type=NeuralFXSettings)
    bpy.types.WindowManager.neuralfx_status = PointerProperty(type=NeuralFXStatus)
    load_cached_effects()


def unregister() -> None:
    install_effects([], {}, save=False)
    del bpy.types.Scene.neuralfx_effects
    for cls in reversed(_generated):
        bpy.utils.unregister_class(cls)
    _generated.clear()
    del bpy.types.WindowManager.neuralfx_status
    del bpy.types.Scene.neuralfx
    for cls in reversed(STATIC_CLASSES):
        bpy.utils.unregister_class(cls)
