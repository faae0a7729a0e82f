"""NeuralFX for Blender: every NeuralFX effect from a sidebar panel in the Video Sequencer, the
Compositor and the Image Editor, with results back on the timeline.

The add-on never imports torch or NeuralFX: it runs the ``neuralfx`` command line in a
subprocess (bridge.py). Layout: properties.py (preferences, settings, status, generated effect
settings), schema.py (describe JSON → properties → options), sources.py (inputs, tracking
boxes), jobs.py (queue and timer), results.py (strips, nodes, images), preview.py (Preview
frame, from a warm `neuralfx serve`), operators.py,
panels.py (one panel factory for the three editors). docs/blender.md is the artist's guide.
"""

from __future__ import annotations

import bpy

from . import jobs, operators, panels, properties


def register() -> None:
    properties.register()
    for cls in operators.CLASSES + panels.CLASSES:
        bpy.utils.register_class(cls)
    bpy.app.handlers.load_post.append(jobs.after_file_load)


def unregister() -> None:
    from . import preview

    preview.stop()
    jobs.QUEUE.cancel(all_queued=True)
    if jobs.after_file_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(jobs.after_file_load)
    for timer in (jobs.pump, operators.take_answer, preview.pump):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    for cls in reversed(operators.CLASSES + panels.CLASSES):
        bpy.utils.unregister_class(cls)
    properties.unregister()
