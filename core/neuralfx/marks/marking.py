"""What a run adds to its outputs so they can be recognised as synthetic: the invisible
watermark (:mod:`neuralfx.marks.watermark`), the visible label (:mod:`neuralfx.marks.label`) and the
provenance record beside the output, signed into each file as a C2PA manifest
(:mod:`neuralfx.marks.credentials`) when a certificate is configured. Runs ask for them with
``--watermark``, ``--label`` and ``--c2pa-cert``; effects that must always carry them
(face-swap) declare ``always_watermark`` and ``always_label``, and the run refuses to go
without."""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from .._version import __version__
from ..errors import ParameterError
from ..frames.atomic import AtomicFile
from .label import CORNERS, DEFAULT_TEXT
from .watermark import Payload


class OutputMarks:
    """The marks of one run: ``apply(rgb)`` on every frame written (label, then the invisible
    mark, on the device), ``sign(tmp)`` on every file before its rename (C2PA), ``info()``
    for the start event, ``write_provenance()`` at the end."""

    def __init__(self, spec, opts, plan) -> None:
        self.spec, self.plan = spec, plan
        label = opts.label
        if spec.always_label:
            if label is not None and not label.strip():
                raise ParameterError(
                    f"{spec.name} always labels its frames; the label cannot be empty",
                    hint=f"leave --label out (it says {DEFAULT_TEXT!r}) or give a text",
                )
            if opts.label_opacity < 0.5:
                raise ParameterError(
                    f"label-opacity: {spec.name} needs a readable label (0.5 or more)",
                    hint="pass --label-opacity 0.5 to 1",
                )
            label = label or DEFAULT_TEXT
        self.label = label.strip() if label and label.strip() else None
        self.corner, self.opacity = opts.label_corner, opts.label_opacity
        self.payload = None
        if opts.watermark or spec.always_watermark:
            # The model: the effect and its files; the run: the recipe. A resumed run writes
            # the same payload as the run it continues.
            recipe = plan.recipe
            self.payload = Payload.for_run(
                f"{spec.name} {sorted(recipe['files'].values())}", plan.recipe_id
            )
        self.started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.credentials = None
        if opts.c2pa_cert:
            from .credentials import ContentCredentials, SigningIdentity

            identity = SigningIdentity.load(opts.c2pa_cert, opts.c2pa_key)
            self.credentials = ContentCredentials(identity, self.facts())
        elif opts.c2pa_key:
            raise ParameterError(
                "c2pa-key: a private key without its certificate",
                hint="pass --c2pa-cert CHAIN.pem as well (or set NEURALFX_C2PA_CERT)",
            )

    @property
    def any(self) -> bool:
        return self.payload is not None or self.label is not None or self.credentials is not None

    @property
    def changes_pixels(self) -> bool:
        return self.payload is not None or self.label is not None

    def can_sign(self, path: str) -> bool:
        """Whether files like ``path`` get a C2PA manifest (EXR cannot hold one)."""
        from .credentials import mime_type

        return self.credentials is not None and mime_type(path) is not None

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.payload is not None:
            out["watermark"] = self.payload.as_dict()
        if self.label is not None:
            out["label"] = self.label
        if self.credentials is not None:
            out["c2pa"] = self.credentials.identity.cert_path
        return out

    def apply(self, rgb, frames):
        """The label, then the invisible mark, on a device batch ``(N, 3, H, W)`` of the
        frames numbered ``frames`` (the mark's sign alternates with the frame number)."""
        if self.label is not None:
            from .label import draw

            rgb = draw(rgb, self.label, self.corner, self.opacity)
        if self.payload is not None:
            from .watermark import embed

            rgb = embed(rgb, self.payload, frames)
        return rgb

    def sign(self, tmp: str, frame: int | None) -> None:
        """Sign the finished temporary file of an output (frame ``frame`` of a sequence, or a
        whole video) when a certificate is configured and the format can hold a manifest."""
        if self.plan.opts.shard is not None and frame is None:
            return  # a shard's video segment: the driver signs the joined video
        if self.can_sign(tmp):
            output = self.plan.sink.path(frame) if frame is not None else self.plan.output
            self.credentials.sign(tmp, title=os.path.basename(output), frame=frame)

    def facts(self) -> dict[str, Any]:
        """What the provenance record and the C2PA manifest say about the run."""
        recipe = self.plan.recipe
        return {
            "generator": f"NeuralFX {__version__}",
            "synthetic": True,
            "effect": self.spec.name,
            "settings": recipe["settings"],
            "models": recipe["files"],
            "source": recipe["input"],
            "output": os.path.abspath(self.plan.output),
            "time": self.started,
            "watermark": self.payload.as_dict() if self.payload else None,
            "label": self.label,
        }

    def provenance_path(self) -> str:
        return self.plan.output + ".provenance.json"

    def write_provenance(self, written: int) -> str | None:
        """A JSON record beside the output: effect, settings, model files and their hashes,
        sources, time, frames, the mark's payload and the label."""
        if not self.any:
            return None
        record = self.facts()
        record["frames"] = {"written": written, "todo": len(self.plan.todo)}
        if self.credentials is not None:
            record["c2pa"] = {
                "signed": self.can_sign(self.plan.output),
                "certificate": os.path.abspath(self.credentials.identity.cert_path),
            }
        target = AtomicFile(self.provenance_path())
        with open(target.tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        target.commit()
        return self.provenance_path()


def check_label_options(corner: str, opacity: float) -> None:
    if corner not in CORNERS:
        raise ParameterError(f"label-corner: {corner!r} is not one of " + ", ".join(CORNERS))
    if not 0.0 < opacity <= 1.0:
        raise ParameterError(f"label-opacity: {opacity} is out of range; allowed: above 0 to 1")
