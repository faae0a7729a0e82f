"""face-attributes with StarGAN v2's CelebA-HQ networks (Choi et al. 2020): every face redrawn
as a domain (female, male) in one style, the style of a reference face or one drawn from a
seed, with the high-pass masks of the FAN keeping each face's own outline, eyes, nose and
mouth, as the official sampling applies them (``masks = fan.get_heatmap(x_src)``).

The style is a constant of the run (the reference's, or the seed's), so each track holds it from
its first frame to its last and a resumed run, which computes it again, gets it bit for bit.
"""

from __future__ import annotations

import torch

from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.pixels import display_rgb

NETWORKS, FAN = "stargan-v2-celeba-hq", "wing-fan"
HOW_TO_GET = (
    "StarGAN v2 also needs its FAN (`neuralfx models fetch wing-fan`, or `neuralfx models "
    "import wing-fan wing.ckpt`); both are CC BY-NC 4.0 (non-commercial); or train your own "
    "networks with `neuralfx train face-attributes --model stargan-v2`"
)


class StyleTranslator:
    """``translate(crops)``: aligned 256 px crops ``(F, 3, 256, 256)`` in [0, 1] → the same,
    redrawn."""

    def __init__(self, ctx, settings, faces) -> None:
        from neuralfx.models.stargan_v2 import latent_styles

        face = None  # the reference first: a photograph without a face fails before any loading
        if settings.reference:
            face = faces.align_still(
                reference_image(settings.reference), f"reference: {settings.reference}"
            )
        try:
            nets = ctx.load_model(NETWORKS, settings.checkpoint)
            self.fan = ctx.load_model(FAN, settings.fan)
        except NeuralFXError as exc:
            raise NeuralFXError(
                f"face-attributes: {exc.message}", hint=(exc.hint or "") + "; " + HOW_TO_GET
            ) from None
        domain = torch.tensor([nets.domains.index(settings.domain)], device=ctx.device)
        if face is not None:  # reference-guided: the style encoder on the aligned face
            face = face.to(ctx.device, ctx.dtype) * 2 - 1
            with torch.no_grad():
                self.style = nets.style_encoder(face, domain)
        else:  # latent-guided
            self.style = latent_styles(nets.mapping_network, domain, settings.seed, settings.psi)
        self.generator = ctx.optimise(nets.generator, small=True)

    @torch.no_grad()
    def translate(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops.to(self.style.dtype) * 2 - 1
        masks = tuple(m.to(x.dtype) for m in self.fan.get_heatmap(x))
        out = self.generator(x, self.style.expand(len(x), -1), masks=masks)
        return ((out.float() + 1) / 2).clamp(0, 1)


def reference_image(path):
    """The reference photograph as display RGB in [0, 1] (H, W, 3)."""
    try:
        return display_rgb(read_image(str(path), 0))
    except NeuralFXError as exc:
        raise ParameterError(
            f"reference: {path} cannot be read ({exc.message})",
            hint="give a PNG, JPEG, TIFF or EXR photograph with a face",
        ) from None
