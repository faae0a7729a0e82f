"""The blur-faces effect: find (decode workers), track, crop, blur, paste back."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import neuralfx
from neuralfx.faces.align import CropTemplate
from neuralfx.faces.pipeline import FacePipeline, FaceRun

from . import BLUR_FACES


class BlurFaces(neuralfx.Effect):
    spec = BLUR_FACES

    def load(self, ctx: neuralfx.RunContext) -> None:
        s = self.settings
        self.faces = FacePipeline.from_settings(
            CropTemplate.celeba(128), s, ctx.clip.fps, host=ctx.host, mask="head"
        )
        self.run = FaceRun(self.faces)
        sigma = s.radius / 2
        x = torch.arange(-int(3 * sigma), int(3 * sigma) + 1, dtype=torch.float32)
        kernel = torch.exp(-(x**2) / (2 * sigma**2))
        self.kernel = (kernel / kernel.sum()).to(ctx.device)

    def inspect(self, frame: int, rgb):
        return self.faces.find(rgb)

    def process(self, batch: neuralfx.FrameBatch) -> neuralfx.FrameBatch:
        with self.run.batch(batch) as crops:  # kept only if the batch succeeds
            if crops is None:  # no face in these frames
                return batch
            out = self.faces.paste(batch.rgb, crops, self._blur(crops.images.float()))
        return batch.replace(rgb=out)

    def _blur(self, images: torch.Tensor) -> torch.Tensor:
        """A separable Gaussian blur, edges replicated."""
        k, pad = self.kernel, len(self.kernel) // 2
        c = images.shape[1]
        x = F.pad(images, (pad, pad, 0, 0), mode="replicate")
        x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
        x = F.pad(x, (0, 0, pad, pad), mode="replicate")
        return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.run.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.run.load_state_dict(state)
