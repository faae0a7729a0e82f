"""A third party's effect with one parameter of every kind: ``mark-region`` fills a tracked
box with a colour. The Blender add-on's tests use it to check the generated panel (every kind,
soft limits, a folder path) and the boxes a tracking marker exports."""

import neuralfx
from neuralfx import params

NEURALFX_PLUGIN_API = "1.0"

MARK = neuralfx.EffectSpec(
    name="mark-region",
    summary="fill a tracked box with a colour",
    params=(
        params.Boxes("region", required=True, help="the box to fill, frame by frame"),
        params.Colour("colour", default="#ff0000", help="fill colour"),
        params.Float(
            "opacity",
            default=1.0,
            min=0.0,
            max=1.0,
            soft_min=0.25,
            soft_max=0.75,
            help="how much of the colour",
        ),
        params.Int(
            "grow",
            default=0,
            min=-64,
            max=64,
            soft_min=-8,
            soft_max=8,
            help="pixels added on every side of the box",
        ),
        params.Choice("mode", default="fill", choices=("fill", "outline"), help="what to paint"),
        params.Bool("invert", default=False, help="paint outside the box instead"),
        params.Text("note", default="", help="a note for the log"),
        params.Path(
            "reference",
            multiple=True,
            suffixes=(".png", ".jpg"),
            must_exist=False,
            help="example images (unused; a list of files)",
        ),
        params.Float("weights", multiple=True, min=0.0, help="one weight per reference"),
        params.Path("scratch", folder=True, must_exist=False, help="a folder (unused)"),
    ),
    implementation="region_plugin:MarkRegion",
)


class MarkRegion(neuralfx.Effect):
    spec = MARK

    def load(self, ctx):
        from neuralfx.regions import read_boxes

        self.track = read_boxes(self.settings.region)

    def process(self, batch):
        import torch

        s = self.settings
        n, _, h, w = batch.rgb.shape
        rgb = batch.rgb.clone()
        colour = torch.tensor(s.colour, dtype=rgb.dtype, device=rgb.device)[:, None, None]
        for i, frame in enumerate(batch.frames):
            x0, y0, x1, y1 = self.track.at(frame, (w, h))
            ys = torch.arange(h, device=rgb.device)[:, None] + 0.5
            xs = torch.arange(w, device=rgb.device)[None, :] + 0.5
            inside = (
                (xs >= x0 - s.grow) & (xs < x1 + s.grow) & (ys >= y0 - s.grow) & (ys < y1 + s.grow)
            )
            if s.mode == "outline":
                inside &= ~((xs >= x0 + 2) & (xs < x1 - 2) & (ys >= y0 + 2) & (ys < y1 - 2))
            if s.invert:
                inside = ~inside
            rgb[i] = torch.where(inside, rgb[i] + s.opacity * (colour - rgb[i]), rgb[i])
        return batch.replace(rgb=rgb)


@neuralfx.hookimpl
def register_effects(register):
    register(MARK)
