"""face-attributes with StarGAN (Choi et al. 2018): each face's own attributes, read once per
track by the discriminator's classifier and kept for the track (so the target labels do not
flicker), with the asked changes (--hair, --male, --young), at CelebA's crop (128 or 256 px).
"""

from __future__ import annotations

import os
import re

import torch

import neuralfx.models
from neuralfx.errors import NeuralFXError, ParameterError
from neuralfx.faces.align import CropTemplate
from neuralfx.host import weights

HAIR_INDEX = {"black": 0, "blond": 1, "brown": 2}
DEFAULT = "stargan-celeba-128"


class AttributeTranslator:
    """The face-attributes translator interface (see ``effect.py``) for StarGAN."""

    def __init__(self, settings) -> None:
        s = self.settings = settings
        if s.hair == "keep" and s.male == "keep" and s.young == "keep":
            raise ParameterError(
                "face-attributes: nothing to change (hair, male and young are all keep)",
                hint="pass --hair black|blond|brown, --male yes|no|flip or --young yes|no|flip "
                "(or use --model stargan-v2 with --domain and --reference or --seed)",
            )
        self.labels: dict[int, torch.Tensor] = {}  # track id -> the face's own attributes
        self._resolved: tuple[str, str, int] | None = None

    # -- weights --------------------------------------------------------------------------------
    def _names(self) -> tuple[str, str, int]:
        """(architecture, checkpoint, crop size). The checkpoint may be the official release's
        folder as unpacked (``stargan_celeba_256/models/`` with ``200000-G.ckpt`` and
        ``200000-D.ckpt``). The size: a trained file's metadata; else the discriminator beside
        the generator, whose layout differs between the 128 and 256 releases (the generators'
        do not); else 256 where the path says so; else 128. Worked out once (reading the
        discriminator's layout reads the whole file)."""
        if self._resolved is None:
            self._resolved = self._resolve_names()
        return self._resolved

    def _resolve_names(self) -> tuple[str, str, int]:
        checkpoint = str(self.settings.checkpoint or DEFAULT)
        if os.path.isdir(checkpoint):
            found = sorted(n for n in os.listdir(checkpoint) if n.endswith("-G.ckpt"))
            if found:  # the last iteration saved
                checkpoint = os.path.join(checkpoint, max(found, key=_iteration))
        size = 256 if re.search(r"256", checkpoint) else 128
        if checkpoint.endswith(".safetensors") and os.path.isfile(checkpoint):
            size = int(weights.read_metadata(checkpoint).get("image_size", size))
        elif os.path.isfile(_official_discriminator(checkpoint)):
            fits = neuralfx.models.identify(_official_discriminator(checkpoint))
            size = {"stargan-celeba-256-d": 256, "stargan-celeba-128-d": 128}.get(fits, size)
        return f"stargan-celeba-{size}", checkpoint, size

    def _discriminator(self) -> str:
        """As given; else NAME-d beside a checkpoint file (what training writes); else the
        registry's -d entry."""
        given = self.settings.discriminator
        if given:
            return str(given)
        model, checkpoint, _ = self._names()
        root, ext = os.path.splitext(checkpoint)
        for beside in (root + "-d" + ext, _official_discriminator(checkpoint)):
            if os.path.isfile(checkpoint) and os.path.isfile(beside):
                return beside
        return model + "-d"

    def files(self) -> list[tuple[str, str | None]]:
        model, checkpoint, _ = self._names()
        return [(model, checkpoint), (model + "-d", self._discriminator())]

    def template(self) -> CropTemplate:
        return CropTemplate.celeba(self._names()[2])

    def load(self, ctx, faces) -> None:
        model, checkpoint, _ = self._names()
        try:
            self.generator = ctx.load_model(model, checkpoint)
            self.classifier = ctx.load_model(model + "-d", self._discriminator())
        except NeuralFXError as exc:
            raise NeuralFXError(
                f"face-attributes: {exc.message}",
                hint=(exc.hint or "") + f"; StarGAN needs both its generator ({model}, "
                f"200000-G.ckpt) and its discriminator ({model}-d, 200000-D.ckpt): `neuralfx "
                f"models fetch {model} {model}-d`, or train your own with `neuralfx train "
                "face-attributes`",
            ) from None
        self.generator = ctx.optimise(self.generator, small=True)

    # -- per batch ------------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, crops) -> torch.Tensor:
        x = crops.images.to(self.generator.main[0].weight.dtype) * 2 - 1
        targets = torch.stack(
            [self._target(face_id, x[i : i + 1]) for i, face_id in enumerate(crops.ids)]
        )
        return ((self.generator(x, targets).float() + 1) / 2).clamp(0, 1)

    def _target(self, face_id: int, x: torch.Tensor) -> torch.Tensor:
        """The labels to ask for: the face's own (read once per track) with the changes."""
        if face_id not in self.labels:
            _, logits = self.classifier(x)
            self.labels[face_id] = (logits[0].float() > 0).float()
        own = self.labels[face_id]
        target = own.clone()
        s = self.settings
        if s.hair != "keep":
            target[:3] = 0
            target[HAIR_INDEX[s.hair]] = 1
        for index, choice in ((3, s.male), (4, s.young)):
            if choice != "keep":
                target[index] = {"yes": 1.0, "no": 0.0}.get(choice, 1.0 - float(own[index]))
        return target.to(x.dtype)

    # -- state, for exact resumes ------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"labels.{face_id}": labels for face_id, labels in self.labels.items()}

    def load_state_dict(self, state) -> None:
        self.labels = {int(k.split(".")[1]): v for k, v in state.items() if k.startswith("labels.")}

    def release(self) -> None:
        self.generator = self.classifier = None


def _official_discriminator(generator: str) -> str:
    """``200000-D.ckpt`` beside ``200000-G.ckpt``: how the official release names them."""
    folder, name = os.path.split(generator)
    return (
        os.path.join(folder, re.sub(r"-G(\.\w+)$", r"-D\1", name))
        if re.search(r"-G\.\w+$", name)
        else generator + ".no-discriminator"
    )


def _iteration(name: str) -> int:
    digits = re.match(r"(\d+)", name)
    return int(digits.group(1)) if digits else -1
