"""C2PA Content Credentials: a signed manifest embedded in each output file, written through
the ``c2pa-python`` package when the user configures a signing certificate.

The manifest says the file was made by NeuralFX with a trained model from a captured source
(IPTC ``compositeWithTrainedAlgorithmicMedia``) and carries the run's provenance facts (the
effect, its settings, the model hashes, the source, the watermark payload, the label) as the
assertion ``org.neuralfx.provenance``. Every file is signed before its atomic rename, so a file
in place always carries its manifest. C2PA has no binding for OpenEXR: EXR sequences get the
JSON provenance record only, and the run says so.

A signing identity is a PEM certificate chain (the signer's certificate first, then its
issuers, not a self-signed certificate) and its PEM private key. The algorithm follows the
key: ES256/ES384/ES512 for EC P-256/384/521, PS256 for RSA, Ed25519.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from typing import Any

from .._version import __version__
from ..errors import OutputError, ParameterError

#: The IPTC digital source type of every NeuralFX output: captured pixels transformed or
#: partly replaced by a trained model.
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
ASSERTION = "org.neuralfx.provenance"
#: C2PA MIME types of the formats NeuralFX writes (OpenEXR has none).
MIME_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}
INSTALL_HINT = "install it with: pip install 'neuralfx[c2pa]'"


def mime_type(path: str) -> str | None:
    return MIME_TYPES.get(os.path.splitext(path)[1].lower())


@dataclasses.dataclass(frozen=True)
class SigningIdentity:
    """A certificate chain and its private key, read and checked (not yet used)."""

    cert_path: str
    key_path: str
    chain: bytes
    key: bytes
    algorithm: str  # the C2paSigningAlg member name

    @classmethod
    def load(cls, cert_path: str, key_path: str | None) -> SigningIdentity:
        if not key_path:
            raise ParameterError(
                "c2pa-key: a signing certificate needs its private key",
                hint="pass --c2pa-key KEY.pem (or set NEURALFX_C2PA_KEY)",
            )
        chain, key = _read(cert_path, "c2pa-cert"), _read(key_path, "c2pa-key")
        if b"-----BEGIN CERTIFICATE-----" not in chain:
            raise ParameterError(
                f"c2pa-cert: {cert_path} holds no PEM certificate",
                hint="give the signer's certificate chain in PEM, the signer first",
            )
        algorithm = _algorithm(key, key_path)
        _check_pair(chain, cert_path, key, key_path)
        return cls(cert_path, key_path, chain, key, algorithm)


def _check_pair(chain: bytes, cert_path: str, key_pem: bytes, key_path: str) -> None:
    """The signer's certificate (the chain's first) must hold the key's public half."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        signer = x509.load_pem_x509_certificates(chain)[0]
    except ValueError as exc:
        raise ParameterError(
            f"c2pa-cert: {cert_path} is not a readable PEM chain ({exc})",
            hint="give the signer's certificate chain in PEM",
        ) from None
    if signer.issuer == signer.subject:
        raise ParameterError(
            f"c2pa-cert: {cert_path} starts with a self-signed certificate, "
            "which C2PA does not accept for signing",
            hint="sign with a certificate issued by a CA, chain first",
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    key = serialization.load_pem_private_key(key_pem, password=None)
    if signer.public_key().public_bytes(der, public) != key.public_key().public_bytes(der, public):
        raise ParameterError(
            f"c2pa-key: {key_path} cannot sign for {cert_path}: it is not the "
            "key of the chain's first certificate",
            hint="pass the private key that belongs to the signer's certificate",
        )


def _read(path: str, option: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ParameterError(
            f"{option}: cannot read {path}: {exc.strerror or exc}",
            hint=f"check the path given to --{option}",
        ) from None


def _algorithm(key_pem: bytes, path: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"c2pa-key: {path} is not an unencrypted PEM private key ({exc})",
            hint="export the key as PEM without a passphrase (PKCS#8)",
        ) from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
    elif isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519"
    raise ParameterError(
        f"c2pa-key: {path}: C2PA cannot sign with this kind of key",
        hint="use an EC P-256/P-384/P-521, RSA or Ed25519 key",
    )


class ContentCredentials:
    """Signs files of one run. ``facts`` is the provenance (see :mod:`neuralfx.marks.marking`),
    ``title`` names the output; :meth:`sign` may be called from several encode threads."""

    def __init__(self, identity: SigningIdentity, facts: dict[str, Any]) -> None:
        try:
            import c2pa
        except ImportError:
            raise ParameterError(
                "c2pa-cert: writing C2PA manifests needs the package c2pa-python", hint=INSTALL_HINT
            ) from None
        self._c2pa, self.identity, self.facts = c2pa, identity, facts
        # No thumbnail: it would embed a downscaled copy of every frame and costs 40 ms.
        self._context = c2pa.Context(
            c2pa.Settings.from_json(json.dumps({"builder": {"thumbnail": {"enabled": False}}}))
        )
        info = c2pa.C2paSignerInfo(
            getattr(c2pa.C2paSigningAlg, identity.algorithm), identity.chain, identity.key, None
        )
        try:
            self._signer = c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise ParameterError(
                f"c2pa-cert: {identity.cert_path} and {identity.key_path} cannot sign: {exc}",
                hint="check that the key belongs to the first certificate of the chain",
            ) from None
        self._lock = threading.Lock()  # one signer, used by one thread at a time

    def manifest(self, title: str, frame: int | None) -> dict[str, Any]:
        facts = dict(self.facts, **({} if frame is None else {"frame": frame}))
        agent = {"name": "NeuralFX", "version": __version__}
        return {
            "claim_generator_info": [agent],
            "title": title,
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": SOURCE_TYPE,
                                "softwareAgent": agent,
                                "description": f"NeuralFX effect {facts.get('effect')}",
                            }
                        ]
                    },
                },
                {"label": ASSERTION, "data": facts},
            ],
        }

    def sign(self, path: str, *, title: str, frame: int | None = None) -> None:
        """Embed a signed manifest into the finished file ``path`` (a temporary file of the
        output): it is signed into a sibling and renamed over ``path``."""
        mime = mime_type(path)
        if mime is None:
            raise ValueError(f"{path}: C2PA cannot embed a manifest in this format")
        c2pa = self._c2pa
        signed = path + ".c2pa" + os.path.splitext(path)[1]
        try:
            builder = c2pa.Builder(json.dumps(self.manifest(title, frame)), self._context)
            with self._lock, open(path, "rb") as src, open(signed, "w+b") as dst:
                builder.sign(self._signer, mime, src, dst)
            os.replace(signed, path)
        except c2pa.C2paError as exc:
            _remove(signed)
            raise OutputError(
                f"{title}: C2PA signing failed: {exc}",
                hint="check the certificate chain given to --c2pa-cert; "
                "frames already written are kept, so rerun to resume",
            ) from None
        except BaseException:
            _remove(signed)
            raise


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
