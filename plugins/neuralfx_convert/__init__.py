"""The built-in ``convert`` effect: format, bit-depth and colour-space conversion, no model.

It is registered through the ``neuralfx`` entry-point group exactly as a third-party plugin is.
It needs no torch of its own (the runner brings it), so it is registered eagerly as a class.
"""

from __future__ import annotations

import neuralfx

NEURALFX_PLUGIN_API = "1.0"


class Convert(neuralfx.Effect):
    """Copy frames through the pipeline unchanged, so that only the run's output options act.

    They are: the output format (from the output name), --depth, --channels, --input-colorspace,
    --output-colorspace and --ocio. It is also the pipeline's baseline in bench/pipeline.py.

    \b
    Examples:
      neuralfx run convert plate.####.exr proxy.####.jpg
      neuralfx run convert --ocio ocio://default --input-colorspace ACEScg \\
          plate.####.exr review.mov
    """

    name = "convert"
    summary = "Convert format, bit depth and colour space (no model)"
    working_space = None  # frames stay in the source's colour space until the output converts
    accepts_nonfinite = True  # NaN and infinity in a source EXR pass through as they are

    def passes_through(self) -> bool:
        return True  # frames skip the device: decode, then encode (converted only if need be)

    def process(self, batch: neuralfx.FrameBatch) -> neuralfx.FrameBatch:
        return batch


@neuralfx.hookimpl
def register_effects(register):
    register(Convert)
