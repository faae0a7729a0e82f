"""The NeuralFX panel as text: what it draws for an effect, recorded through a stand-in for
Blender's layout (Blender draws panels only in a window), for docs/blender-panel.md."""

from __future__ import annotations

import types

import bpy

#: The effects that ship with NeuralFX (the tests' own plugins are left out of the doc).
SHIPPED = ("painting-style", "face-attributes", "animal-transfer", "face-swap", "convert", "lut")


class TextLayout:
    """Records labels, properties (label: value) and buttons, boxes indented."""

    def __init__(self, lines: list[str], depth: int = 0) -> None:
        self.lines, self.depth = lines, depth

    def _add(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def row(self, **_):
        return TextLayout(self.lines, self.depth)

    column = row

    def box(self):
        self._add("┌")
        return TextLayout(self.lines, self.depth + 1)

    def label(self, text: str = "", **_) -> None:
        self._add(text)

    def prop(self, data, attr: str, text: str | None = None, **_) -> None:
        rna = data.bl_rna.properties[attr]
        label = rna.name if text is None else text
        value = getattr(data, attr)
        if rna.type == "FLOAT" and getattr(rna, "array_length", 0):
            value = "(" + ", ".join(f"{v:g}" for v in value) + ")"
        elif rna.type == "FLOAT":
            value = f"{value:g}"
        elif rna.type == "BOOLEAN":
            value = "[x]" if value else "[ ]"
        elif rna.type == "ENUM" and value in rna.enum_items:
            value = rna.enum_items[value].name
        self._add(f"{label}: {value}" if label else f"{value}")

    def operator(self, idname: str, text: str | None = None, **_):
        category, name = idname.split(".")
        title = getattr(getattr(bpy.ops, category), name).get_rna_type().name
        self._add(f"[{text or title}]")
        return types.SimpleNamespace()


def panel_text(module, scene) -> str:
    """docs/blender-panel.md for the add-on ``module``: the panel for each shipped effect."""
    parts = [
        "# The NeuralFX panel, as it draws\n",
        "What the sidebar panel (Video Sequencer, Compositor and Image Editor alike) shows "
        "for each effect that ships with NeuralFX, with its default settings, as text: "
        "a `┌` opens a box, `[...]` is a button. Recorded by the add-on's tests "
        "(`tests/blender/test_addon.py`, which fail when this file is out of date; "
        "`NEURALFX_WRITE_DOCS=1` rewrites it). Parameters that apply only to some "
        "settings (`x-when`) are shown only then: painting-style's Gatys iterations "
        "appear with Method: gatys.\n",
    ]
    for effect in SHIPPED:
        if effect not in {e["name"] for e in module.properties.EFFECTS}:
            continue
        scene.neuralfx.effect = effect
        lines: list[str] = []
        module.panels.draw(types.SimpleNamespace(layout=TextLayout(lines)), bpy.context)
        parts.append(f"## {effect}\n\n```\n" + "\n".join(lines) + "\n```\n")
    return "\n".join(parts)
