"""The plugin API as a third-party author meets it: lazy effects, weights of their own, frame
size and colours, the plugin filters, every unknown hook, load errors for programs, and fast
answers for the commands other programs call."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import neuralfx
from helpers import gradient, plugin_with
from neuralfx import params
from neuralfx.frames.images import write_image
from neuralfx.host.plugins import PluginHost
from neuralfx.pipeline.runner import RunOptions

HERE = os.path.dirname(__file__)
MODULES = os.path.join(HERE, "plugin_modules")


@pytest.fixture
def modules(monkeypatch):
    monkeypatch.syspath_prepend(MODULES)
    for name in list(sys.modules):
        if name.endswith(("_plugin", "_plugin_net")):
            sys.modules.pop(name)


def _host(monkeypatch, **env) -> PluginHost:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    host = PluginHost().load_all()
    monkeypatch.setattr(neuralfx.host.plugins, "_host", host)
    return host


# -- fast answers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["effects", "--json"],
        ["describe", "painting-style", "--json"],
        ["describe", "--all", "--json"],
        ["plugins", "--json"],
        ["run", "painting-style", "--help"],
        ["run", "lut", "--help"],
    ],
)
def test_describing_commands_import_no_torch_or_codecs(args):
    code = (
        "import sys; from neuralfx.cli import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        "heavy = [m for m in ('torch', 'cv2', 'av', 'OpenEXR', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout


def test_effects_are_imported_only_for_a_run(fresh_host, make_sequence, tmp_path):
    sys.modules.pop("neuralfx_lut.grade", None)
    spec = fresh_host.spec("lut")
    assert spec.implementation == "neuralfx_lut.grade:LUTGrade"
    assert "neuralfx_lut.grade" not in sys.modules
    assert fresh_host.effect("lut").spec is spec
    assert "neuralfx_lut.grade" in sys.modules


def test_an_implementation_that_fails_to_import_is_a_clear_error(
    fresh_host, cli, make_sequence, tmp_path
):
    spec = neuralfx.EffectSpec(name="ghost", implementation="no_such_module:Ghost")
    fresh_host.add_plugin(plugin_with(spec), name="ghosts")
    assert "ghost" in cli("effects").stdout  # describing needs no import
    r = cli("run", "ghost", make_sequence(), tmp_path / "o.####.png", expect=1)
    assert "its implementation 'no_such_module:Ghost' cannot be imported" in r.stderr
    assert "ModuleNotFoundError" in r.stderr


# -- weights of a plugin's own ------------------------------------------------------------------
def test_a_plugin_declares_weights_that_work_like_the_built_in_ones(
    cli, monkeypatch, modules, tmp_path
):
    import torch
    import weights_plugin_net

    from neuralfx import models

    _host(monkeypatch, NEURALFX_PLUGINS="weights_plugin")
    listed = {r["name"]: r for r in json.loads(cli("models", "list", "--json").stdout)}
    assert (
        listed["tiny-tint-v1"]["licence"] == "CC0-1.0"
        and listed["tiny-tint-v1"]["model"] == "tiny-tint"
        and listed["tiny-tint-v1"]["cached"] is None
    )
    published = tmp_path / "mirror" / "tiny_tint_v1.safetensors"
    published.parent.mkdir()
    weights_plugin_net.published_file(published)
    cli("models", "fetch", "tiny-tint-v1", "--url", published.as_uri())
    assert "tiny-tint-v1: ok" in cli("models", "verify", "tiny-tint-v1").stdout
    net = models.load("tiny-tint")  # default weights, from the cache
    out = net(torch.ones(1, 3, 2, 2))
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.6, 1.0, 1.0]))
    # A corrupt download is refused by its checksum.
    published.write_bytes(published.read_bytes()[:-1] + b"\x00")
    r = cli("models", "fetch", "tiny-tint-v1", "--url", published.as_uri(), expect=1)
    assert "does not match tiny-tint-v1" in r.stderr


def test_a_plugin_cannot_take_a_built_in_weights_name(monkeypatch):
    def register_weights(register):
        register(neuralfx.Weights("vgg19", "vgg19", "https://x", "x.pth", "MIT"))

    host = PluginHost()
    assert host.add_plugin(plugin_with(register_weights=register_weights), name="thief") is None
    assert "already declared by 'neuralfx'" in host.errors[0].error


# -- what an effect is told ---------------------------------------------------------------------
class Probe(neuralfx.Effect):
    """Records what the host tells it, and warns from every stage."""

    name = "probe"
    working_space = None
    needs_whole_clip = True
    params = (params.Colour("tint", default="#ff8000"),)
    seen: dict = {}

    def load(self, ctx):
        self.ctx = ctx
        Probe.seen = {
            "size": ctx.clip.size,
            "todo": ctx.clip.todo,
            "frames": ctx.clip.frames,
            "tint": ctx.colour(self.settings.tint),
        }
        ctx.warn("from load")

    def analyse(self, batch):
        self.ctx.warn("from analyse")

    def process(self, batch):
        self.ctx.warn("from process")
        return batch


def test_clip_info_carries_the_size_and_colours_arrive_in_the_working_space(fresh_host, tmp_path):
    fresh_host.add_plugin(plugin_with(Probe), name="probe")
    os.makedirs(tmp_path / "in")
    for f in (1, 2, 3):
        write_image(str(tmp_path / "in" / f"p.{f:04d}.exr"), gradient(40, 30, seed=f))
    neuralfx.run(
        "probe",
        str(tmp_path / "in" / "p.####.exr"),
        str(tmp_path / "o.####.exr"),
        options=RunOptions(frames="2-3"),
    )
    assert Probe.seen["size"] == (40, 30)
    assert Probe.seen["todo"] == (2, 3) and Probe.seen["frames"] == (1, 2, 3)
    # The frames stay scene-linear (working_space None on EXR), so sRGB #ff8000 arrives linear.
    np.testing.assert_allclose(Probe.seen["tint"], (1.0, 0.21586, 0.0), atol=1e-4)


def test_python_api_warnings_go_to_logging_from_every_stage(
    fresh_host, make_sequence, tmp_path, caplog
):
    fresh_host.add_plugin(plugin_with(Probe), name="probe")
    with caplog.at_level(logging.WARNING, logger="neuralfx"):
        neuralfx.run("probe", make_sequence(frames=[1, 2]), str(tmp_path / "o.####.png"))
    messages = [r.getMessage() for r in caplog.records if r.name == "neuralfx"]
    assert messages.count("from load") == 1 and messages.count("from analyse") == 2
    assert messages.count("from process") == 2


# -- filters and load errors --------------------------------------------------------------------
def test_a_disabled_effect_is_reported_as_disabled(cli, monkeypatch):
    _host(monkeypatch, NEURALFX_DISABLE_PLUGINS="painting-style")
    r = cli("run", "painting-style", "a", "b", expect=2)
    assert "effect 'painting-style' is disabled" in r.stderr
    assert "NEURALFX_DISABLE_PLUGINS" in r.stderr
    data = json.loads(cli("plugins", "--json").stdout)
    assert {
        "name": "painting-style",
        "module": "neuralfx_painting_style",
        "reason": "in NEURALFX_DISABLE_PLUGINS",
    } in data["disabled"]
    assert "painting-style disabled" in cli("plugins").stdout
    _host(monkeypatch, NEURALFX_DISABLE_PLUGINS="", NEURALFX_LOAD_PLUGINS="convert")
    r = cli("run", "lut", "a", "b", expect=2)
    assert "not in NEURALFX_LOAD_PLUGINS" in r.stderr


def test_unknown_names_in_the_filters_are_warned_about(cli, monkeypatch):
    host = _host(monkeypatch, NEURALFX_DISABLE_PLUGINS="painting-stlye")
    assert any(
        "'painting-stlye', which is not an installed plugin" in w
        and "did you mean 'painting-style'" in w
        for w in host.warnings
    )
    assert "not an installed plugin" in cli("effects").stderr


def test_every_unknown_hook_is_named(monkeypatch, modules):
    host = _host(monkeypatch, NEURALFX_PLUGINS="two_typos_plugin")
    error = next(e.error for e in host.errors if e.name == "two_typos_plugin")
    assert "register_effect (did you mean 'register_effects'?)" in error
    assert "register_weight (did you mean 'register_weights'?)" in error


def test_load_errors_reach_json_progress_and_doctor_fails(
    cli, monkeypatch, modules, make_sequence, tmp_path
):
    _host(monkeypatch, NEURALFX_PLUGINS="broken_plugin")
    r = cli("run", "convert", "--progress", "json", make_sequence(), tmp_path / "o.####.png")
    warnings = [e for e in cli.events(r) if e["event"] == "warning"]
    assert any("broken_plugin" in w["message"] for w in warnings)
    r = cli("doctor", expect=1)
    assert "FAILED: broken_plugin" in r.stdout


def test_describe_says_whether_a_path_must_exist_and_writes_bools_as_help_does(cli):
    info = json.loads(cli("describe", "painting-style", "--json").stdout)
    props = info["settings"]["properties"]
    assert props["style"]["items"]["x-must-exist"] is True
    assert props["checkpoint"]["x-must-exist"] is False
    text = cli("describe", "painting-style").stdout
    assert "--temporal  [bool] Stabilise video with optical flow. (default: on)" in text
    assert "(default: off)" in text and "True" not in text
