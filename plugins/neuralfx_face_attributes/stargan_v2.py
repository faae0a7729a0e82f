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
from neuralfx.faces.align import CropTemplate
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb

NETWORKS, FAN = "stargan-v2-celeba-hq", "wing-fan"
IMAGE_SIZE = 256
HOW_TO_GET = (
    "StarGAN v2 also needs its FAN (`neuralfx models fetch wing-fan`, or `neuralfx models "
    "import wing-fan wing.ckpt`); both are CC BY-NC 4.0 (non-commercial); or train your own "
    "networks with `neuralfx train face-attributes --model stargan-v2`"
)


class StyleTranslator:
    """The face-attributes translator interface (see ``effect.py``) for StarGAN v2."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def files(self) -> list[tuple[str, str | None]]:
        return [(NETWORKS, self.settings.checkpoint), (FAN, self.settings.fan)]

    def template(self) -> CropTemplate:
        return CropTemplate.celeba_hq(IMAGE_SIZE)

    def load(self, ctx, faces) -> None:
        from neuralfx.models.stargan_v2 import latent_styles

        s = self.settings
        face = None  # the reference first: a photograph without a face fails before any loading
        if s.reference:
            face = faces.align_still(reference_image(s.reference), f"reference: {s.reference}")
        try:
            nets = ctx.load_model(NETWORKS, s.checkpoint)
            self.fan = ctx.load_model(FAN, s.fan)
        except NeuralFXError as exc:
            raise NeuralFXError(
                f"face-attributes: {exc.message}", hint=(exc.hint or "") + "; " + HOW_TO_GET
            ) from None
        domain = torch.tensor([nets.domains.index(s.domain)], device=ctx.device)
        if face is not None:  # reference-guided: the style encoder on the aligned face
            with torch.no_grad():
                self.style = nets.style_encoder(face.to(ctx.device, ctx.dtype) * 2 - 1, domain)
        else:  # latent-guided
            self.style = latent_styles(nets.mapping_network, domain, s.seed, s.psi)
        self.generator = ctx.optimise(nets.generator, small=True)

    @torch.no_grad()
    def translate(self, crops) -> torch.Tensor:
        """Aligned 256 px crops ``(F, 3, 256, 256)`` in [0, 1] → the same, redrawn."""
        x = crops.images.to(self.style.dtype) * 2 - 1
        masks = tuple(m.to(x.dtype) for m in self.fan.get_heatmap(x))
        out = self.generator(x, self.style.expand(len(x), -1), masks=masks)
        return ((out.float() + 1) / 2).clamp(0, 1)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}  # the style is a constant of the run: a resumed run computes it again

    def load_state_dict(self, state) -> None:
        pass

    def release(self) -> None:
        self.generator = self.fan = None


def reference_image(path):
    """The reference photograph as display RGB in [0, 1] (H, W, 3)."""
    try:
        return display_rgb(read_image(str(path), 0))
    except NeuralFXError as exc:
        raise ParameterError(
            f"reference: {path} cannot be read ({exc.message})",
            hint="give a PNG, JPEG, TIFF or EXR photograph with a face",
        ) from None
