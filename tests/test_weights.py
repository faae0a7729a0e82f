"""`neuralfx models list|fetch|import|verify`, against a local HTTP server on loopback."""

from __future__ import annotations

import functools
import http.server
import io
import json
import threading
import zipfile

import pytest
import torch

from helpers import deterministic_state
from neuralfx import models
from neuralfx.host import weights


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _johnson_zip(root):
    buf = io.BytesIO()
    torch.save(deterministic_state("fast_neural_style_transformer_net"), buf)
    with zipfile.ZipFile(root / "saved_models.zip", "w") as z:
        z.writestr("saved_models/candy.pth", buf.getvalue())


def test_list_shows_registry_with_licences(cli):
    rows = json.loads(cli("models", "list", "--json").stdout)
    names = {r["name"]: r for r in rows}
    assert {
        "johnson-candy",
        "johnson-mosaic",
        "johnson-rain-princess",
        "johnson-udnie",
        "adain-encoder",
        "adain-decoder",
        "vgg19",
        "vgg16",
    } <= set(names)
    assert names["vgg19"]["url"] == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert "MIT" in names["adain-decoder"]["licence"]
    assert names["johnson-candy"]["cached"] is None


def test_fetch_extracts_from_the_archive_and_the_model_loads(cli, server):
    base, root = server
    _johnson_zip(root)
    out = cli("models", "fetch", "johnson-candy", "--url", f"{base}/saved_models.zip").stdout
    cached = weights.cache_dir() / "johnson-candy" / "candy.pth"  # a folder per entry
    assert str(cached) in out and cached.is_file()
    net = models.load("johnson", "johnson-candy")  # by registry name, from the cache
    assert isinstance(net, torch.nn.Module)
    assert "johnson-candy: ok" in cli("models", "verify").stdout


def test_fetch_refuses_a_wrong_checksum_and_leaves_nothing(cli, server):
    base, root = server
    (root / "vgg19.pth").write_bytes(b"not the official file")
    result = cli("models", "fetch", "vgg19", "--url", f"{base}/vgg19.pth", expect=1)
    assert f"{base}/vgg19.pth: sha256" in result.stderr  # the download, not a deleted copy
    assert "does not match vgg19's dcbb9e9d" in result.stderr
    assert weights.cached_files() == []


def test_fetch_reports_an_unreachable_server(cli, server):
    base, _ = server
    result = cli("models", "fetch", "adain-decoder", "--url", f"{base}/missing.pth", expect=1)
    assert "cannot download adain-decoder" in result.stderr
    # what to do, then how to import a copy under its name, each once
    assert "download the file in a browser" in result.stderr
    assert result.stderr.count("neuralfx models import") == 1
    assert "a copy imports with `neuralfx models import adain-decoder FILE`" in result.stderr


def test_import_converts_to_safetensors_with_metadata(cli, tmp_path):
    legacy = {"in1.running_mean": torch.zeros(32), "in1.running_var": torch.ones(32)}
    src = tmp_path / "udnie.pth"
    torch.save(deterministic_state("fast_neural_style_transformer_net", extra=legacy), src)
    cli("models", "import", "johnson-udnie", src)
    target = weights.cache_dir() / "johnson-udnie.safetensors"
    meta = weights.read_metadata(target)
    assert meta["model"] == "johnson" and meta["source_file"] == "udnie.pth"
    assert meta["source_sha256"] == weights.sha256_of(src)
    from safetensors.torch import load_file

    state = load_file(str(target))
    assert "in1.running_mean" not in state and len(state) == 62
    # The safetensors copy loads, and computes what the original file computes.
    x = torch.rand(1, 3, 16, 16) * 255
    with torch.no_grad():
        torch.testing.assert_close(
            models.load("johnson", "johnson-udnie")(x), models.load("johnson", src)(x)
        )
    assert "johnson-udnie: ok" in cli("models", "verify", "johnson-udnie").stdout


def test_import_refuses_the_wrong_model(cli, tmp_path):
    src = tmp_path / "decoder.pth"
    torch.save(deterministic_state("adain_decoder"), src)
    result = cli("models", "import", "johnson-candy", src, expect=1)
    assert "does not fit model 'johnson'" in result.stderr
    assert weights.cached_files() == []


def test_verify_flags_a_damaged_file(cli, tmp_path):
    cache = weights.cache_dir()
    cache.mkdir(parents=True)
    (cache / "decoder.pth").write_bytes(b"garbage")
    result = cli("models", "verify", expect=1)
    assert "adain-decoder: FAILED" in result.stdout


def test_torchvision_files_are_found_in_the_torch_hub_cache(monkeypatch, tmp_path):
    hub = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(hub))
    assert weights.cached_path("vgg19") is None
    (hub / "hub" / "checkpoints").mkdir(parents=True)
    target = hub / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    target.write_bytes(b"x")
    assert weights.cached_path("vgg19") == target


def test_checkpoints_are_as_readable_as_any_new_file(tmp_path):
    """safetensors writes its files 0600; a checkpoint or a cached file NeuralFX writes gets
    the mode the umask gives every new file (0644 under the usual 022), so the rest of a farm
    can read it."""
    import os
    import stat

    from neuralfx.frames.atomic import FILE_MODE
    from neuralfx.host.weights import save_safetensors

    path = tmp_path / "net.safetensors"
    save_safetensors(path, {"w": torch.zeros(2)}, {"model": "test"})
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(os.stat(path).st_mode) == FILE_MODE == stat.S_IMODE(os.stat(plain).st_mode)
