"""The networks animal-transfer can run on its region, behind one interface: ``size`` (the
crop's side in pixels), ``translate(x)`` (crops ``(N, 3, size, size)`` in [-1, 1] to the
same, in the chosen animal).

* ``funit``: FUNIT's few-shot generator (Liu et al. 2019) with the mean class code of the
  example images, at 128 px.
* ``stargan-v2``: StarGAN v2's AFHQ networks (Choi et al. 2020) at 256 px: the style of the
  example images (the style encoder, their mean, for ``--domain``), or without examples a
  style drawn for ``--domain`` from ``--seed``, truncated by ``--psi``.
"""

from __future__ import annotations

import torch

from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.frames.images import read_image
from neuralfx.frames.samples import display_rgb
from neuralfx.host.catalog import FUNIT_LICENCE

#: the architecture each network loads (its registry entry is also the default weights), and
#: the licence of those official weights (said once per run)
ARCHITECTURE = {"funit": "funit-animals-149", "stargan-v2": "stargan-v2-afhq"}
LICENCES = {"funit": FUNIT_LICENCE, "stargan-v2": "CC BY-NC 4.0 (clovaai/stargan-v2)"}
HOW_TO_GET = {
    "funit": "FUNIT's official weights (CC BY-NC-SA 4.0) are in pretrained.tar.gz from the "
    "FUNIT README: `neuralfx models import funit-animals-149 animal149_gen.pt`; or train your "
    "own with `neuralfx train animal-transfer`",
    "stargan-v2": "StarGAN v2's AFHQ networks (CC BY-NC 4.0): `neuralfx models fetch "
    "stargan-v2-afhq`, or `neuralfx models import stargan-v2-afhq 100000_nets_ema.ckpt`",
}


def example_image(path, size: int, finder=None) -> torch.Tensor:
    """An example image as the official tests read them: resized to ``size`` square, RGB in
    [-1, 1]. With a face ``finder``, a photograph of a person is refused: the networks know
    animals only (AFHQ's domains; which animal a photograph shows is the user's --domain, as
    the release has no classifier to tell a cat from a dog)."""
    import cv2

    try:
        rgb = display_rgb(read_image(str(path), 0))
    except NeuralFXError as exc:
        raise ParameterError(
            f"examples: {path} cannot be read ({exc.message})",
            hint="give PNG, JPEG, TIFF or EXR images of the animal",
        ) from None
    if finder is not None and finder.find(rgb):
        raise ParameterError(
            f"examples: {path} shows a person's face, not an animal",
            hint="give photographs of a cat, a dog or a wild animal (AFHQ's domains); for faces "
            "use face-attributes --model stargan-v2 --reference",
        )
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(rgb).permute(2, 0, 1) * 2 - 1


class FUNIT:
    size = 128

    def __init__(self, ctx, checkpoint, settings) -> None:
        generator = ctx.load_model(ARCHITECTURE["funit"], checkpoint)
        examples = torch.stack([example_image(p, self.size) for p in settings.examples])
        self.code = generator.class_code(examples.to(ctx.device, ctx.dtype))
        self._translate = ctx.optimise(generator.translate, small=True)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return self._translate(x.to(self.code.dtype), self.code)


class StarGANv2:
    size = 256

    def __init__(self, ctx, checkpoint, settings) -> None:
        from neuralfx.models.stargan_v2 import latent_styles

        nets = ctx.load_model(ARCHITECTURE["stargan-v2"], checkpoint)
        domain = nets.domains.index(settings.domain)
        if settings.examples:  # reference-guided: the examples' style, in the target domain
            from neuralfx.faces.pipeline import make_finder

            finder = make_finder("hog", ctx.host)
            images = torch.stack([example_image(p, self.size, finder) for p in settings.examples])
            y = torch.full((len(images),), domain, dtype=torch.long, device=ctx.device)
            with torch.no_grad():
                style = nets.style_encoder(images.to(ctx.device, ctx.dtype), y)
            self.style = style.mean(0, keepdim=True)
        else:  # latent-guided: one style for the clip, from the seed
            y = torch.tensor([domain], device=ctx.device)
            self.style = latent_styles(nets.mapping_network, y, settings.seed, settings.psi)
        self.generator = ctx.optimise(nets.generator, small=True)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        s = self.style.expand(len(x), -1)
        return self.generator(x.to(s.dtype), s)


TRANSLATORS = {"funit": FUNIT, "stargan-v2": StarGANv2}
