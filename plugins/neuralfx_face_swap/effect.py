"""``face-swap``: the DeepFakes autoencoder on the host's face pipeline.

Per batch: faces found in the decode workers, tracked once per frame (``FaceRun``), aligned
to the swap crop at the model's resolution, encoded and decoded by the other identity's
decoder (every face of the batch in one call), colour-transferred onto the original face
(Reinhard, with the target statistics smoothed over time per face, or histogram matching),
steadied against the face's previous frame, and blended back through the landmark hull or
the model's mask. The runner adds the visible label and the invisible watermark to every
frame (the spec declares both) and writes the provenance record.
"""

from __future__ import annotations

import torch

import neuralfx
from neuralfx.host import weights
from neuralfx.errors import ParameterError
from neuralfx.faces import composite
from neuralfx.faces.align import CropTemplate
from neuralfx.faces.pipeline import FacePipeline, FaceRun
from neuralfx.models.faceswap import SwapConfig, SwapModel

from .spec import FACE_SWAP


def load_model(path: str, device, dtype) -> SwapModel:
    """A model written by ``neuralfx train face-swap``: its sizes from the metadata, then the
    weights, checked against them."""
    meta = weights.read_metadata(path)
    if meta.get("format") != "neuralfx-face-swap":
        raise ParameterError(
            f"checkpoint: {path} is not a face-swap model",
            hint="give the .safetensors that `neuralfx train face-swap` wrote",
        )
    try:
        cfg = SwapConfig.from_metadata(meta)
        cfg.check()
    except (KeyError, ValueError) as exc:
        raise ParameterError(f"checkpoint: {path} has unreadable sizes ({exc})") from None
    with torch.device("meta"):
        model = SwapModel(cfg)
    state = weights.read_state_dict(path)
    weights.check_fits(
        model,
        state,
        source=path,
        what=f"a {cfg.resolution} px face-swap model (width {cfg.width}, latent {cfg.latent})",
    )
    model.load_state_dict(state, assign=True)
    return model.eval().requires_grad_(False).to(device=device, dtype=dtype)


class FaceSwap(neuralfx.Effect):
    spec = FACE_SWAP

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.identity = "b" if self.settings.direction == "a-to-b" else "a"

    def load(self, ctx) -> None:
        s = self.settings
        self.model = ctx.optimise(load_model(str(s.checkpoint), ctx.device, ctx.dtype), small=True)
        if s.mask == "learned" and not self.model.cfg.mask:
            raise ParameterError(
                "mask: this model was trained without a mask head",
                hint="use --mask hull, or train with --mask",
            )
        size = self.model.cfg.resolution
        self.faces = FacePipeline.from_settings(
            CropTemplate.swap(size), s, ctx.clip.fps, host=ctx.host, mask="face", colour_match=False
        )
        self.run = FaceRun(self.faces)
        self.colour: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # id -> smoothed stats
        self.warn = ctx.warn

    def inspect(self, frame, rgb):
        return self.faces.find(rgb)

    def process(self, batch):
        crops = self.run.crops(batch)
        if crops is None:
            self.run.commit(set())
            return batch  # no face (the runner still labels and watermarks the frame)
        size = self.model.cfg.resolution
        face, learned = self.model(
            crops.images.to(self.model.encoder.dense.weight.dtype), self.identity
        )
        face = face.float()
        hull = composite.masks(crops.landmarks, size, "face").to(face.device)
        mask = learned.float() * (hull > 0).float() if self.settings.mask == "learned" else hull
        face = self._colour(crops, face, mask)
        if self.settings.temporal:
            face = self.run.steady(crops, face, self.settings.stability)
        result = batch.replace(rgb=self.faces.paste(batch.rgb, crops, face, masks=mask))
        self.run.commit(set(crops.ids))  # the batch succeeded: keep what it learnt
        if self.settings.temporal and self.settings.colour == "reinhard":
            self.colour = self.pending_colour
        return result

    def _colour(self, crops, face: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        how = self.settings.colour
        if how == "histogram":
            return composite.match_histograms(face, crops.images, mask)
        if how == "none":
            return face
        target_mean, target_std = composite.colour_stats(crops.images, mask)
        if self.settings.temporal:  # the colour follows the face's lighting, not its noise
            keep, colour = self.settings.stability, dict(self.colour)
            for i in sorted(range(len(crops)), key=lambda i: int(crops.frame_index[i])):
                face_id = crops.ids[i]
                if face_id in colour:
                    mean, std = colour[face_id]
                    target_mean[i] = mean + (1 - keep) * (target_mean[i] - mean)
                    target_std[i] = std + (1 - keep) * (target_std[i] - std)
                colour[face_id] = (target_mean[i].clone(), target_std[i].clone())
            self.pending_colour = colour
        return composite.reinhard(face, (target_mean, target_std), mask)

    def state_dict(self):
        state = self.run.state_dict()
        for face_id, (mean, std) in self.colour.items():
            state[f"colour.{face_id}.mean"] = mean
            state[f"colour.{face_id}.std"] = std
        return state

    def load_state_dict(self, state) -> None:
        self.run.load_state_dict(state)
        self.colour = {
            int(k.split(".")[1]): (v, state[k.replace(".mean", ".std")])
            for k, v in state.items()
            if k.startswith("colour.") and k.endswith(".mean")
        }

    def release(self) -> None:
        message = (
            self.run.no_faces(
                "face-swap", self.settings, "which were only labelled and watermarked"
            )
            if getattr(self, "run", None)
            else None
        )
        if message:
            self.warn(message)
        self.model = None
