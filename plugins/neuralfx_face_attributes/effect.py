"""``face-attributes``: StarGAN (``stargan.py``) or StarGAN v2 (``stargan_v2.py``) on the host's
face pipeline (neuralfx.faces).

Per batch: the faces found in the decode workers (``inspect``) are tracked in frame order,
aligned to the model's crop, translated all at once (every face of every frame of the batch in
one call), steadied against the same face's previous frame, and pasted back.

A translator is one model behind one interface: ``files()`` (the (architecture, checkpoint)
pairs it loads), ``template()`` (its crop), ``load(ctx, faces)``, ``translate(crops)``
(:class:`~neuralfx.faces.pipeline.FaceCrops` → the crops redrawn, in [0, 1]),
``state_dict()``/``load_state_dict()`` (what a resumed run needs besides the face tracks) and
``release()``.
"""

from __future__ import annotations

import neuralfx
import neuralfx.models
from neuralfx.errors import NeuralFXError
from neuralfx.faces.pipeline import FacePipeline, FaceRun

from .spec import FACE_ATTRIBUTES
from .stargan import AttributeTranslator
from .stargan_v2 import StyleTranslator

TRANSLATORS = {"stargan": AttributeTranslator, "stargan-v2": StyleTranslator}


class FaceAttributes(neuralfx.Effect):
    spec = FACE_ATTRIBUTES

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.translator = TRANSLATORS[self.settings.model](self.settings)

    def files(self) -> list[str]:
        found = super().files()  # the reference image, when there is one
        for name, value in self.translator.files():
            try:
                found.append(neuralfx.models.resolve_checkpoint(name, value))
            except NeuralFXError:
                pass  # reported by load() with what to do
        return list(dict.fromkeys(found))

    def load(self, ctx) -> None:
        self.faces = FacePipeline.from_settings(
            self.translator.template(),
            self.settings,
            ctx.clip.fps,
            host=ctx.host,
            colour_match=self.settings.colour_match,
            mask="crop",
        )  # both models redraw the whole crop: side hair too
        self.translator.load(ctx, self.faces)
        self.run = FaceRun(self.faces)
        self.warn = ctx.warn

    def inspect(self, frame, rgb):
        return self.faces.find(rgb)

    def process(self, batch):
        crops = self.run.crops(batch)
        if crops is None:
            self.run.commit(set())
            return batch  # no face: the frames pass through untouched
        original = crops.images.float()
        translated = self.translator.translate(crops)
        translated = original + self.settings.strength * (translated - original)
        if self.settings.temporal:
            translated = self.run.steady(crops, translated, self.settings.stability)
        result = batch.replace(rgb=self.faces.paste(batch.rgb, crops, translated))
        self.run.commit(set(crops.ids))
        return result

    # -- state, for exact resumes ------------------------------------------------------------------
    def state_dict(self):
        return {**self.run.state_dict(), **self.translator.state_dict()}

    def load_state_dict(self, state) -> None:
        self.run.load_state_dict(state)
        self.translator.load_state_dict(state)

    def release(self) -> None:
        message = (
            self.run.no_faces("face-attributes", self.settings, "which pass through unchanged")
            if getattr(self, "run", None)
            else None
        )
        if message:
            self.warn(message)
        self.translator.release()
