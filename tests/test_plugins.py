"""The plugin host: discovery, filters, API versions, misspelt hooks, broken plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import neuralfx
from helpers import plugin_with
from neuralfx.host.plugins import PluginHost

HERE = os.path.dirname(__file__)


@pytest.fixture
def test_modules(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(HERE, "plugin_modules"))
    for name in (
        "misspelt_plugin",
        "broken_plugin",
        "future_plugin",
        "slow_plugin",
        "exiting_plugin",
    ):
        sys.modules.pop(name, None)


def _load(monkeypatch, **env) -> PluginHost:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PluginHost().load_all()


def test_builtin_effects_come_through_the_entry_point_group():
    host = PluginHost().load_all()
    convert = next(p for p in host.plugins if p.name == "convert")
    assert convert.module == "neuralfx_convert"
    assert convert.hooks == ["register_effects"]
    assert convert.effects == ["convert"]
    assert convert.version == neuralfx.__version__
    assert host.owner_of("convert") == "convert"


def test_load_and_disable_filters(monkeypatch, test_modules):
    host = _load(monkeypatch, NEURALFX_PLUGINS="slow_plugin")
    assert {"convert", "slow-invert"} <= set(host.effect_names)
    host = _load(monkeypatch, NEURALFX_LOAD_PLUGINS="slow_plugin")
    assert [p.name for p in host.plugins] == ["slow_plugin"]
    host = _load(monkeypatch, NEURALFX_LOAD_PLUGINS="", NEURALFX_DISABLE_PLUGINS="")
    assert host.plugins == [] and host.effect_names == []
    monkeypatch.delenv("NEURALFX_LOAD_PLUGINS")
    host = _load(monkeypatch, NEURALFX_DISABLE_PLUGINS="convert,slow_plugin")
    assert "convert" not in host.effect_names and "slow-invert" not in host.effect_names


def test_broken_misspelt_and_incompatible_plugins_are_reported_and_others_load(
    monkeypatch, test_modules
):
    host = _load(
        monkeypatch, NEURALFX_PLUGINS="broken_plugin,misspelt_plugin,future_plugin,slow_plugin"
    )
    errors = {e.name: e.error for e in host.errors}
    assert "ModuleNotFoundError" in errors["broken_plugin"]
    assert "register_effect" in errors["misspelt_plugin"]
    assert "unknown hook" in errors["misspelt_plugin"]
    assert "needs plugin API 2.0" in errors["future_plugin"]
    assert "this NeuralFX offers plugin API 1.2" in errors["future_plugin"]
    assert {"convert", "slow-invert"} <= set(host.effect_names)
    # The refused plugins are not left registered with pluggy.
    assert host.pm.get_plugin("misspelt_plugin") is None


def test_a_plugin_that_exits_while_imported_is_reported_and_the_command_goes_on(
    cli, monkeypatch, test_modules, fresh_host
):
    monkeypatch.setenv("NEURALFX_PLUGINS", "exiting_plugin,slow_plugin")
    monkeypatch.setattr(neuralfx.host.plugins, "_host", PluginHost().load_all())
    data = json.loads(cli("plugins", "--json").stdout)
    assert data["errors"][0]["name"] == "exiting_plugin"
    assert data["errors"][0]["error"] == "SystemExit(3) while importing"
    assert "slow-invert" in cli("effects").stdout


def test_plugins_command_lists_plugins_and_errors(cli, monkeypatch, test_modules, fresh_host):
    monkeypatch.setenv("NEURALFX_PLUGINS", "slow_plugin,broken_plugin")
    monkeypatch.setattr(neuralfx.host.plugins, "_host", PluginHost().load_all())
    data = json.loads(cli("plugins", "--json").stdout)
    slow = next(p for p in data["plugins"] if p["name"] == "slow_plugin")
    assert slow == {
        "name": "slow_plugin",
        "version": "unknown",
        "module": "slow_plugin",
        "api": "1.0",
        "hooks": ["register_effects"],
        "effects": ["slow-invert"],
        "detectors": [],
        "weights": [],
    }
    assert data["errors"][0]["name"] == "broken_plugin"
    text = cli("plugins").stdout
    assert "broken_plugin FAILED TO LOAD" in text
    assert "effects: slow-invert" in text


def test_plugin_without_api_declaration_is_refused():
    no_api = plugin_with()
    del no_api.NEURALFX_PLUGIN_API
    host = PluginHost()
    assert host.add_plugin(no_api, name="no-api") is None
    assert "does not declare the plugin API" in host.errors[0].error
    assert 'hint: add NEURALFX_PLUGIN_API = "1.2"' in host.errors[0].error


@pytest.mark.parametrize(
    "declared, ok",
    [
        ("1.0", True),
        ("1", True),
        ("1.1", True),
        ("1.2", True),
        ("1.3", False),
        ("0.9", False),
        ("2.0", False),
        (1.0, False),
    ],
)
def test_api_version_rule(declared, ok):
    module = plugin_with()
    module.NEURALFX_PLUGIN_API = declared
    host = PluginHost()
    assert (host.add_plugin(module, name="p") is not None) is ok
    if declared == 1.0:  # a float would read 1.10 as 1.1: refused with the fix
        assert "as a float, not a string" in host.errors[0].error
        assert 'NEURALFX_PLUGIN_API = "1.0"' in host.errors[0].error


def test_add_plugin_takes_a_module():
    class NotAModule:
        NEURALFX_PLUGIN_API = "1.0"

    host = PluginHost()
    assert host.add_plugin(NotAModule(), name="obj") is None
    assert "not a module" in host.errors[0].error


def test_bad_and_duplicate_effects_are_refused_with_the_plugin_named():
    class NoName(neuralfx.Effect):
        def process(self, batch):
            return batch

    class Twin(neuralfx.Effect):
        name = "convert"

        def process(self, batch):
            return batch

    host = PluginHost().load_all()
    assert host.add_plugin(plugin_with(NoName), name="a") is None
    assert host.add_plugin(plugin_with(Twin), name="b") is None
    errors = {e.name: e.error for e in host.errors}
    assert "kebab-case" in errors["a"]
    assert "already registered by plugin 'convert'" in errors["b"]
    assert host.effect("convert").__module__ == "neuralfx_convert"


def test_unknown_effect_suggests_close_names(cli, make_sequence, tmp_path):
    result = cli("run", "convrt", make_sequence(), tmp_path / "o.####.png", expect=2)
    assert "unknown effect 'convrt'" in result.stderr
    assert "did you mean 'convert'" in result.stderr
    result = cli("describe", "zzz", expect=2)
    assert "installed effects: " in result.stderr and "convert" in result.stderr


def test_plugin_command_hook(cli, fresh_host):
    import click

    def register_commands(cli):
        @cli.command("hello")
        def hello():
            click.echo("hello from a plugin")

    fresh_host.add_plugin(plugin_with(register_commands=register_commands), name="hello")
    assert cli("hello").stdout == "hello from a plugin\n"


def test_effect_parameters_cannot_shadow_run_options():
    import dataclasses

    from neuralfx import params as declare
    from neuralfx.effect import RESERVED_PARAM_NAMES
    from neuralfx.pipeline.runner import RunOptions

    run_names = {f.name for f in dataclasses.fields(RunOptions)} | {"input", "output", "progress"}
    assert RESERVED_PARAM_NAMES == run_names | {"address"}  # --address sets ray_address

    class Clash(neuralfx.Effect):
        name = "clash"
        params = (declare.Int("frames", default=3),)

        def process(self, batch):
            return batch

    host = PluginHost()
    assert host.add_plugin(plugin_with(Clash), name="clash") is None
    assert "parameter name 'frames' is taken by a run option" in host.errors[0].error


def test_a_plugin_whose_commands_fail_does_not_break_the_cli(cli, fresh_host):
    class Blur(neuralfx.Effect):
        name = "blur"

        def process(self, batch):
            return batch

    def register_commands(cli):
        raise RuntimeError("boom")

    fresh_host.add_plugin(
        plugin_with(Blur, register_commands=register_commands), name="bad-commands"
    )
    result = cli("effects")
    assert "convert" in result.stdout
    assert (
        "plugin 'bad-commands' failed to load: register_commands failed: RuntimeError: boom"
        in result.stderr
    )
    # Listed once, as failed; its effect is withdrawn with it.
    assert "blur" not in [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    data = json.loads(cli("plugins", "--json").stdout)
    assert [p["name"] for p in data["plugins"]].count("bad-commands") == 0
    assert [e["name"] for e in data["errors"]] == ["bad-commands"]


def test_a_plugin_that_raises_keyboardinterrupt_itself_is_reported_not_taken_for_ctrl_c(tmp_path):
    env = {
        **os.environ,
        "NEURALFX_PLUGINS": "interrupting_plugin",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent / "plugin_modules"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-m", "neuralfx", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout)["errors"]
    assert [(e["name"], e["error"]) for e in errors] == [
        ("interrupting_plugin", "KeyboardInterrupt: raised by the plugin, not by Ctrl-C")
    ]
