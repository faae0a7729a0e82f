"""`neuralfx models fetch` as a user with internet meets it, replayed on a loopback server
(127.0.0.1, started here; nothing leaves the machine): official layouts built in the test,
archives, error pages, cut-off transfers, resumes, redirects, Drive's confirmation page."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest
import torch

import neuralfx
from helpers import deterministic_state, plugin_with
from neuralfx.host import weights


@pytest.fixture
def decoder_entry(fresh_host):
    """An AdaIN decoder entry with no sha256 on record (the registry's own is pinned): what
    fetch must check by the file's layout."""

    def register_weights(register):
        register(
            neuralfx.Weights(
                "loopback-decoder",
                "adain-decoder",
                "http://127.0.0.1:9/decoder.pth",
                "decoder.pth",
                "test",
            )
        )

    fresh_host.add_plugin(plugin_with(register_weights=register_weights), name="loopback")
    return "loopback-decoder"


class Site:
    """Routes: path → bytes, or a callable(handler) that answers itself. Records requests."""

    def __init__(self) -> None:
        self.routes: dict = {}
        self.requests: list[tuple[str, str | None]] = []


@pytest.fixture
def site():
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            state.requests.append((self.path, self.headers.get("Range")))
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
            elif callable(route):
                route(self)
            else:
                serve(self, route)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def serve(h, body: bytes, *, ranges: bool = True, content_type="application/octet-stream"):
    start = 0
    wanted = h.headers.get("Range")
    if ranges and wanted and wanted.startswith("bytes="):
        start = int(wanted[6:].split("-")[0])
        h.send_response(206)
        h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    else:
        h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body) - start))
    h.end_headers()
    h.wfile.write(body[start:])


def cut_at(body: bytes, at: int):
    """Announce the whole body, send ``at`` bytes, hang up."""

    def answer(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:at])
        h.wfile.flush()
        h.close_connection = True

    return answer


def chunked_cut(body: bytes, at: int):
    def answer(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(f"{at:x}\r\n".encode() + body[:at] + b"\r\n")
        h.wfile.write(f"{len(body) - at:x}\r\n".encode() + body[at : at + 10])
        h.wfile.flush()
        h.close_connection = True

    return answer


def saved(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def stargan_zip(size: int, seed: int) -> tuple[bytes, bytes]:
    """celeba-SIZExSIZE-5attrs.zip as download.sh gets it, and its generator's bytes."""
    g = saved(deterministic_state("stargan_v1_celeba128_generator", seed=seed))
    d_state = deterministic_state("stargan_v1_celeba128_discriminator", seed=seed + 1)
    if size == 256:
        d_state["conv2.weight"] = torch.randn(5, 2048, 4, 4)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("200000-G.ckpt", g)
        z.writestr("200000-D.ckpt", saved(d_state))
    return buf.getvalue(), g


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_each_entry_has_its_own_folder_and_one_archive_serves_both_members(cli, site):
    z128, g128 = stargan_zip(128, seed=1)
    z256, g256 = stargan_zip(256, seed=5)
    site.routes = {"/celeba-128.zip": z128, "/celeba-256.zip": z256}
    cli(
        "models",
        "fetch",
        "stargan-celeba-128",
        "stargan-celeba-128-d",
        "--url",
        site.base + "/celeba-128.zip",
    )
    cli(
        "models",
        "fetch",
        "stargan-celeba-256",
        "stargan-celeba-256-d",
        "--url",
        site.base + "/celeba-256.zip",
    )
    assert [p for p, _ in site.requests] == ["/celeba-128.zip", "/celeba-256.zip"]  # once each
    assert weights.sha256_of(weights.cached_path("stargan-celeba-128")) == sha(g128)
    assert weights.sha256_of(weights.cached_path("stargan-celeba-256")) == sha(g256)
    record = weights.verified("stargan-celeba-128")
    assert record["sha256"] == sha(g128) and record["checked"] == "layout"
    listed = cli("models", "list").stdout
    assert f"layout checked, sha256 {sha(g128)[:12]}" in listed
    assert cli("models", "verify", "stargan-celeba-128-d", "stargan-celeba-256-d").exit_code == 0


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html><html><head><title>Error 404 (Not Found)!!1</title></head></html>",
        b'{"error": "quota exceeded"}',
    ],
)
def test_a_web_page_is_refused_with_what_it_says_and_nothing_is_cached(
    cli, site, decoder_entry, page
):
    site.routes = {"/decoder.pth": page}
    result = cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth", expect=1)
    assert "sent a web page, not the file" in result.stderr
    assert ("Error 404 (Not Found)!!1" if b"DOCTYPE" in page else "quota exceeded") in result.stderr
    assert weights.cached_path(decoder_entry) is None


def test_a_file_that_does_not_fit_the_model_is_refused_when_no_sha256_is_known(
    cli, site, decoder_entry
):
    site.routes = {"/decoder.pth": saved(deterministic_state("adain_vgg_normalised"))}
    result = cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth", expect=1)
    assert "did not give loopback-decoder's file" in result.stderr
    assert weights.cached_path(decoder_entry) is None


def test_a_transfer_cut_short_resumes_where_it_stopped(cli, site, decoder_entry):
    body = saved(deterministic_state("adain_decoder"))
    site.routes = {"/decoder.pth": cut_at(body, len(body) // 3)}
    result = cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth", expect=1)
    assert f"stopped after {len(body) // 3:,} of {len(body):,} bytes" in result.stderr
    assert weights.cached_path(decoder_entry) is None
    site.routes = {"/decoder.pth": body}
    cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth")
    assert site.requests[-1] == ("/decoder.pth", f"bytes={len(body) // 3}-")  # the rest only
    assert weights.sha256_of(weights.cached_path(decoder_entry)) == sha(body)


def test_a_server_that_ignores_range_sends_it_all_again(cli, site, decoder_entry):
    body = saved(deterministic_state("adain_decoder"))
    site.routes = {"/decoder.pth": cut_at(body, 1000)}
    cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth", expect=1)
    site.routes = {"/decoder.pth": lambda h: serve(h, body, ranges=False)}
    cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth")
    assert weights.sha256_of(weights.cached_path(decoder_entry)) == sha(body)


def test_a_chunked_body_cut_short_is_an_error_not_a_traceback(cli, site, decoder_entry):
    body = saved(deterministic_state("adain_decoder"))
    site.routes = {"/decoder.pth": chunked_cut(body, 5000)}
    result = cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth", expect=1)
    assert "stopped after" in result.stderr and "IncompleteRead" in result.stderr
    assert "Traceback" not in result.stderr
    assert weights.cached_path(decoder_entry) is None


def test_redirects_are_followed(cli, site, decoder_entry):
    body = saved(deterministic_state("adain_decoder"))

    def moved(h):
        h.send_response(302)
        h.send_header("Location", "/releases/decoder.pth")
        h.send_header("Content-Length", "0")
        h.end_headers()

    site.routes = {"/decoder.pth": moved, "/releases/decoder.pth": body}
    cli("models", "fetch", decoder_entry, "--url", site.base + "/decoder.pth")
    assert weights.sha256_of(weights.cached_path(decoder_entry)) == sha(body)


def test_drives_confirmation_page_is_followed(cli, site, decoder_entry):
    body = saved(deterministic_state("adain_decoder"))
    page = (
        b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title>"
        b'</head><body><form id="download-form" action="/download" method="get">'
        b'<input type="hidden" name="id" value="FILEID">'
        b'<input type="hidden" name="export" value="download">'
        b'<input type="hidden" name="confirm" value="t">'
        b'<input type="hidden" name="uuid" value="1234"></form></body></html>'
    )
    site.routes = {"/uc": page, "/download?id=FILEID&export=download&confirm=t&uuid=1234": body}
    cli("models", "fetch", decoder_entry, "--url", site.base + "/uc")
    assert weights.sha256_of(weights.cached_path(decoder_entry)) == sha(body)


def test_a_studio_mirror_serves_every_entry_by_name(cli, site, decoder_entry, monkeypatch):
    body = saved(deterministic_state("adain_decoder"))
    site.routes = {"/mirror/loopback-decoder/decoder.pth": body}
    monkeypatch.setenv("NEURALFX_WEIGHTS_MIRROR", site.base + "/mirror/")
    cli("models", "fetch", decoder_entry)
    assert (
        weights.verified(decoder_entry)["url"] == site.base + "/mirror/loopback-decoder/decoder.pth"
    )


def test_funits_tar_gz_with_its_file_at_the_root(cli, site):
    gen = saved(deterministic_state("funit_animals_generator"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("animal149_gen.pt")
        info.size = len(gen)
        t.addfile(info, io.BytesIO(gen))
    site.routes = {"/pretrained.tar.gz": buf.getvalue()}
    cli("models", "fetch", "funit-animals-149", "--url", site.base + "/pretrained.tar.gz")
    assert weights.sha256_of(weights.cached_path("funit-animals-149")) == sha(gen)


def test_import_takes_the_official_archive_as_downloaded(cli, tmp_path):
    archive, g = stargan_zip(128, seed=1)
    path = tmp_path / "celeba-128x128-5attrs.zip"
    path.write_bytes(archive)
    cli("models", "import", "stargan-celeba-128", path)
    meta = weights.read_metadata(weights.cache_dir() / "stargan-celeba-128.safetensors")
    assert meta["source_sha256"] == sha(g)


def test_an_old_loose_file_shared_by_two_entries_is_not_served(cli):
    # before folders per entry, fetching the 256 release replaced the 128 one's 200000-G.ckpt
    cache = weights.cache_dir()
    cache.mkdir(parents=True)
    (cache / "200000-G.ckpt").write_bytes(b"which release?")
    (cache / "decoder.pth").write_bytes(saved(deterministic_state("adain_decoder")))
    assert weights.cached_path("stargan-celeba-128") is None
    assert weights.cached_path("stargan-celeba-256") is None
    assert weights.cached_path("adain-decoder") == cache / "decoder.pth"  # still found


def test_a_funit_file_saved_with_gen_only_is_converted(cli, tmp_path):
    state = deterministic_state("funit_animals_generator")
    path = tmp_path / "animal149_gen.pt"
    torch.save({"gen": state}, path)
    cli("models", "import", "funit-animals-149", path)
    meta = weights.read_metadata(weights.cache_dir() / "funit-animals-149.safetensors")
    assert meta["model"] == "funit-animals-149"


def test_import_refuses_the_archive_of_the_other_release(cli, tmp_path):
    archive, _ = stargan_zip(256, seed=5)
    path = tmp_path / "celeba-256x256-5attrs.zip"
    path.write_bytes(archive)
    result = cli("models", "import", "stargan-celeba-128", path, expect=1)
    assert (
        "is not stargan-celeba-128's release: its 200000-D.ckpt is a "
        "'stargan-celeba-256-d' file" in result.stderr
    )
    assert "import it as stargan-celeba-256" in result.stderr
    cli("models", "import", "stargan-celeba-256", path)


def test_a_release_folder_as_extracted_is_accepted_as_the_checkpoint(tmp_path):
    from neuralfx import models

    folder = tmp_path / "pretrained"
    folder.mkdir()
    torch.save(deterministic_state("funit_animals_generator"), folder / "animal149_gen.pt")
    assert models.resolve_checkpoint("funit-animals-149", folder) == str(
        folder / "animal149_gen.pt"
    )
    models.load("funit-animals-149", folder)
    with pytest.raises(neuralfx.NeuralFXError, match="holds none of the official files"):
        models.resolve_checkpoint("adain-decoder", folder)


def test_verify_notices_a_file_changed_since_it_was_fetched(cli, site):
    z128, _ = stargan_zip(128, seed=1)
    site.routes = {"/celeba-128.zip": z128}
    cli("models", "fetch", "stargan-celeba-128", "--url", site.base + "/celeba-128.zip")
    assert "stargan-celeba-128: ok" in cli("models", "verify", "stargan-celeba-128").stdout
    path = weights.cached_path("stargan-celeba-128")
    torch.save(deterministic_state("stargan_v1_celeba128_generator", seed=9), path)  # fits, but
    result = cli("models", "verify", "stargan-celeba-128", expect=1)
    assert "changed since it was fetched" in result.stdout
