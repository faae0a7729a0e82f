"""C2PA Content Credentials (neuralfx.marks.credentials): with a signing certificate configured,
every output file carries a signed manifest that a C2PA reader validates against the issuing CA.
The tests make their own CA and signer certificate; nothing is fetched."""

from __future__ import annotations

import datetime
import json

import pytest

c2pa = pytest.importorskip("c2pa")
x509 = pytest.importorskip("cryptography.x509")


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool):
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.timezone.utc)
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(
            x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
    )
    if not ca:  # C2PA wants a signer certificate with an allowed extended key usage
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), False
        )
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def signing(tmp_path_factory):
    """A test CA and a signer it issued: (chain.pem, key.pem, ca.pem)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NeuralFX tests"),
            ]
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(name("Test CA"), name("Test CA"), ca_key.public_key(), ca_key, ca=True)
    leaf = _certificate(name("Test signer"), ca.subject, key.public_key(), ca_key, ca=False)
    root = tmp_path_factory.mktemp("signing")
    pem = serialization.Encoding.PEM
    (root / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (root / "ca.pem").write_bytes(ca.public_bytes(pem))
    (root / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    other = ec.generate_private_key(ec.SECP256R1())
    (root / "other-key.pem").write_bytes(
        other.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return root


def read_manifest(path, ca_pem) -> dict:
    """The active manifest and the validation state, trusting only the test CA."""
    settings = c2pa.Settings.from_json(json.dumps({"trust": {"trust_anchors": ca_pem}}))
    store = json.loads(c2pa.Reader(str(path), context=c2pa.Context(settings)).json())
    active = store["manifests"][store["active_manifest"]]
    return {
        "state": store.get("validation_state"),
        "status": store.get("validation_status"),
        "assertions": {a["label"]: a["data"] for a in active["assertions"]},
        "signer": active["signature_info"]["common_name"],
    }


def test_every_frame_carries_a_trusted_manifest(cli, make_sequence, signing, tmp_path):
    src = make_sequence(frames=range(1, 4))
    out = tmp_path / "o" / "f.####.png"
    result = cli(
        "run",
        "convert",
        src,
        str(out),
        "--watermark",
        "--c2pa-cert",
        signing / "chain.pem",
        "--c2pa-key",
        signing / "key.pem",
        "--progress",
        "json",
    )
    events = cli.events(result)
    ca = (signing / "ca.pem").read_text()
    for frame in (1, 2, 3):
        got = read_manifest(str(out).replace("####", f"{frame:04d}"), ca)
        assert got["state"] == "Trusted", got["status"]
        assert got["signer"] == "Test signer"
        action = got["assertions"]["c2pa.actions.v2"]["actions"][0]
        assert action["digitalSourceType"].endswith("compositeWithTrainedAlgorithmicMedia")
        facts = got["assertions"]["org.neuralfx.provenance"]
        assert facts["effect"] == "convert" and facts["frame"] == frame
        assert facts["watermark"] == events[0]["watermark"]
    with open(events[-1]["provenance"]) as f:
        assert json.load(f)["c2pa"]["signed"] is True


def test_an_edited_frame_no_longer_validates(cli, make_sequence, signing, tmp_path):
    src = make_sequence(frames=[1])
    out = tmp_path / "f.png"
    cli(
        "run",
        "convert",
        src,
        str(out),
        "--c2pa-cert",
        signing / "chain.pem",
        "--c2pa-key",
        signing / "key.pem",
        "--progress",
        "none",
    )
    ca = (signing / "ca.pem").read_text()
    assert read_manifest(out, ca)["state"] == "Trusted"
    # A pixel changed, the manifest kept: the hard binding no longer matches.
    data = bytearray(out.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 12] ^= 0xFF
    out.write_bytes(bytes(data))
    got = read_manifest(out, ca)
    assert got["state"] == "Invalid", got
    # The same file checked against no trust anchor is valid but untrusted.
    other = tmp_path / "g.png"
    cli(
        "run",
        "convert",
        src,
        str(other),
        "--c2pa-cert",
        signing / "chain.pem",
        "--c2pa-key",
        signing / "key.pem",
        "--progress",
        "none",
    )
    store = json.loads(c2pa.Reader(str(other)).json())
    assert store["validation_state"] == "Valid"


def test_a_video_is_signed_once_it_is_whole(cli, make_sequence, signing, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALFX_C2PA_CERT", str(signing / "chain.pem"))
    monkeypatch.setenv("NEURALFX_C2PA_KEY", str(signing / "key.pem"))
    src = make_sequence(frames=range(1, 6))
    out = tmp_path / "clip.mp4"
    cli("run", "convert", src, str(out), "--progress", "none")
    got = read_manifest(out, (signing / "ca.pem").read_text())
    assert got["state"] == "Trusted", got["status"]
    assert "frame" not in got["assertions"]["org.neuralfx.provenance"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_exr_keeps_only_the_json_record_and_says_so(cli, make_sequence, signing, tmp_path):
    src = make_sequence(frames=[1])
    out = tmp_path / "o" / "f.####.exr"
    result = cli(
        "run",
        "convert",
        src,
        str(out),
        "--c2pa-cert",
        signing / "chain.pem",
        "--c2pa-key",
        signing / "key.pem",
        "--progress",
        "json",
    )
    events = cli.events(result)
    assert any("C2PA has no way to embed" in e.get("message", "") for e in events), events
    with open(events[-1]["provenance"]) as f:
        assert json.load(f)["c2pa"]["signed"] is False


def test_signed_and_unsigned_frames_do_not_mix(cli, make_sequence, signing, tmp_path):
    src = make_sequence(frames=[1, 2])
    out = tmp_path / "o" / "f.####.png"
    cli(
        "run",
        "convert",
        src,
        str(out),
        "--frames",
        "1",
        "--c2pa-cert",
        signing / "chain.pem",
        "--c2pa-key",
        signing / "key.pem",
        "--progress",
        "none",
    )
    result = cli("run", "convert", src, str(out), "--progress", "json", expect=1)
    assert "c2pa" in result.stdout and "made differently" in result.stdout


@pytest.mark.parametrize(
    "case, message",
    [
        ("no key", "c2pa-key: a signing certificate needs its private key"),
        ("key only", "c2pa-key: a private key without its certificate"),
        ("missing cert", "c2pa-cert: cannot read"),
        ("not a cert", "holds no PEM certificate"),
        ("not a key", "is not an unencrypted PEM private key"),
        ("wrong key", "cannot sign"),
    ],
)
def test_bad_signing_settings_are_refused_by_name(
    cli, make_sequence, signing, tmp_path, case, message
):
    src = make_sequence(frames=[1])
    chain, key = str(signing / "chain.pem"), str(signing / "key.pem")
    args = {
        "no key": ["--c2pa-cert", chain],
        "key only": ["--c2pa-key", key],
        "missing cert": ["--c2pa-cert", str(tmp_path / "nope.pem"), "--c2pa-key", key],
        "not a cert": ["--c2pa-cert", key, "--c2pa-key", key],
        "not a key": ["--c2pa-cert", chain, "--c2pa-key", chain],
        "wrong key": ["--c2pa-cert", chain, "--c2pa-key", str(signing / "other-key.pem")],
    }[case]
    out = tmp_path / "o" / "f.####.png"
    result = cli("run", "convert", src, str(out), *args, "--progress", "none", expect=2)
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.parent.exists() or not list(out.parent.glob("f.*.png"))
