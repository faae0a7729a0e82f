"""The host's behaviour that plugin authors met (issue 22): a plugin listed twice, a bug in
`process` with JSON progress, an OSError from plugin code, the host a run is given, an effect
that cannot be imported, an effect of a plugin that failed, an unknown face detector, a plugin
slow to import."""

from __future__ import annotations

import json
import os
import sys

import pytest
from click.testing import CliRunner

import neuralfx
from helpers import plugin_with
from neuralfx.cli.main import main
from neuralfx.errors import ParameterError
from neuralfx.host.plugins import PluginHost

HERE = os.path.dirname(__file__)


@pytest.fixture
def modules(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(HERE, "plugin_modules"))
    for name in ("broken_plugin", "heavy_import_plugin"):
        sys.modules.pop(name, None)


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def test_an_installed_plugin_listed_in_neuralfx_plugins_too_loads_once(monkeypatch, cli):
    monkeypatch.setenv("NEURALFX_PLUGINS", "neuralfx_convert")  # installed as "convert"
    host = PluginHost().load_all()
    assert host.errors == [] and "convert" in host.effect_names
    monkeypatch.setattr(neuralfx.host.plugins, "_host", host)
    assert json.loads(cli("doctor", "--json").stdout)["plugin_errors"] == []


class Buggy(neuralfx.Effect):
    name = "buggy"
    working_space = None

    def process(self, batch):
        raise RuntimeError("the plugin's own bug")


class OpensAFile(neuralfx.Effect):
    name = "opens-a-file"
    working_space = None

    def process(self, batch):
        open("/nonexistent/plugin-data/lut.cube")  # noqa: SIM115


def test_a_bug_in_process_ends_json_progress_with_an_error_event(
    fresh_host, make_sequence, tmp_path
):
    fresh_host.add_plugin(plugin_with(Buggy), name="buggy_plugin")
    result = _invoke("run", "buggy", "--progress", "json", make_sequence(), tmp_path / "o.####.png")
    events = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert events[-1]["event"] == "error"
    assert events[-1]["message"] == "RuntimeError: the plugin's own bug"
    assert "traceback" in events[-1]["hint"]
    assert isinstance(result.exception, RuntimeError)  # and the traceback is printed


def test_an_oserror_from_plugin_code_shows_where_it_came_from(fresh_host, make_sequence, tmp_path):
    fresh_host.add_plugin(plugin_with(OpensAFile), name="lut_opener")
    result = _invoke("run", "opens-a-file", make_sequence(), tmp_path / "o.####.png")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "in process" in result.stderr
    assert "raised by plugin code" in result.stderr
    assert "/nonexistent/plugin-data/lut.cube" in result.stderr


def test_a_run_looks_up_weights_and_detectors_in_the_host_it_is_given(make_sequence, tmp_path):
    seen = {}

    class Looks(neuralfx.Effect):
        name = "looks"
        working_space = None

        def load(self, ctx):
            from neuralfx.host import weights
            from neuralfx.faces.pipeline import make_finder

            seen["weights"] = weights.known("private-net").url
            seen["detector"] = type(make_finder("private-detector")).__name__

        def process(self, batch):
            return batch

    class Finder:
        def __init__(self, **options):
            pass

    def register_weights(register):
        register(neuralfx.Architecture("private-arch", build=lambda: None))
        register(
            neuralfx.Weights(
                "private-net", "private-arch", "https://studio/net.pth", "net.pth", "studio"
            )
        )

    def register_face_detectors(register):
        from neuralfx.faces.registry import FaceDetectorEntry

        register(FaceDetectorEntry("private-detector", Finder, "a studio's detector"))

    host = PluginHost()
    host.add_plugin(
        plugin_with(
            Looks,
            register_weights=register_weights,
            register_face_detectors=register_face_detectors,
        ),
        name="studio",
    )
    neuralfx.run("looks", make_sequence(), str(tmp_path / "o.####.png"), host=host)
    assert seen == {"weights": "https://studio/net.pth", "detector": "Finder"}
    assert "private-net" not in neuralfx.host.plugins.get_host().catalog.weights  # not leaked


def test_doctor_fails_when_an_effect_cannot_be_imported(fresh_host, cli):
    spec = neuralfx.EffectSpec(
        name="ghost", summary="", help="", implementation="neuralfx_no_such_module:Ghost"
    )
    fresh_host.add_plugin(plugin_with(spec), name="ghost_plugin")
    result = cli("doctor", "--json", expect=1)
    errors = json.loads(result.stdout)["effect_errors"]
    assert errors[0]["effect"] == "ghost" and "cannot be imported" in errors[0]["error"]


def test_an_effect_of_a_plugin_that_failed_to_load_says_so(monkeypatch, modules, cli):
    monkeypatch.setenv("NEURALFX_PLUGINS", "broken_plugin")
    monkeypatch.setattr(neuralfx.host.plugins, "_host", PluginHost().load_all())
    result = cli("run", "broken-effect", "a.png", "b.png", expect=2)
    assert "plugin(s) 'broken_plugin' failed to load and may provide it" in result.stderr


def test_an_unknown_face_detector_is_refused_before_the_run(make_sequence, tmp_path, cli):
    with pytest.raises(ParameterError) as info:
        neuralfx.run(
            "face-attributes",
            make_sequence(),
            str(tmp_path / "o.####.png"),
            settings={"hair": "blond", "detector": "hgo"},
        )
    assert info.value.message == "detector: 'hgo' is not a face detector here"
    assert info.value.hint == "did you mean 'hog'?"
    assert not (tmp_path / "o.1001.png").exists()
    schema = json.loads(cli("describe", "face-swap", "--json").stdout)
    assert schema["settings"]["properties"]["detector"]["enum"] == ["cnn", "hog"]


def test_a_plugin_slow_to_import_is_named_with_the_fix(monkeypatch, modules, cli):
    monkeypatch.setenv("NEURALFX_PLUGINS", "heavy_import_plugin")
    monkeypatch.setattr(neuralfx.host.plugins, "_host", PluginHost().load_all())
    warnings = json.loads(cli("plugins", "--json").stdout)["warnings"]
    assert any(
        "'heavy_import_plugin' takes 0.5 s to import" in w and "module:Class" in w for w in warnings
    )
    assert "slow: plugin 'heavy_import_plugin'" in cli("plugins").stdout


def test_plugins_and_doctor_list_each_plugins_detectors_and_weights(fresh_host, cli):
    def register_weights(register):
        register(neuralfx.Architecture("studio-arch", build=lambda: None))
        register(
            neuralfx.Weights(
                "studio-net", "studio-arch", "https://studio/net.pth", "net.pth", "studio"
            )
        )

    def register_face_detectors(register):
        from neuralfx.faces.registry import FaceDetectorEntry

        register(FaceDetectorEntry("studio-faces", "x:y", "a studio's detector"))

    fresh_host.add_plugin(
        plugin_with(
            register_weights=register_weights, register_face_detectors=register_face_detectors
        ),
        name="studio",
    )
    listed = {p["name"]: p for p in json.loads(cli("plugins", "--json").stdout)["plugins"]}
    assert listed["studio"]["detectors"] == ["studio-faces"]
    assert listed["studio"]["weights"] == ["studio-net"]
    assert "  face detectors: studio-faces" in cli("plugins").stdout
    report = json.loads(cli("doctor", "--json").stdout)
    assert "studio-faces" in report["face_detectors"]
