"""One parameter declaration gives validation, the JSON schema and the CLI options."""

from __future__ import annotations

import json

import pytest

import neuralfx
from helpers import plugin_with
from neuralfx import params
from neuralfx.errors import ParameterError


class Demo(neuralfx.Effect):
    """A demo effect declaring one parameter of every kind."""

    name = "demo"
    summary = "every parameter kind"
    params = (
        params.Float("strength", default=0.5, min=0.0, max=1.0, help="how much"),
        params.Int("iterations", default=10, min=1, max=500, help="how many"),
        params.Bool("preserve_color", default=False, help="keep the colours"),
        params.Choice(
            "method", default="johnson", choices=("johnson", "adain", "gatys"), help="which method"
        ),
        params.Path("style", multiple=True, suffixes=(".png", ".jpg"), help="style images"),
        params.Colour("label_colour", default="#ff8000", help="label colour"),
    )

    def process(self, batch):
        return batch


def test_defaults_fill_in_and_values_convert():
    s = Demo.validate(
        {"strength": "0.25", "iterations": "3", "preserve_color": "yes", "label_colour": "0,1,0.5"}
    )
    assert s == {
        "strength": 0.25,
        "iterations": 3,
        "preserve_color": True,
        "method": "johnson",
        "style": (),
        "label_colour": (0.0, 1.0, 0.5),
    }
    assert s.strength == 0.25
    assert Demo.validate({})["label_colour"] == pytest.approx((1.0, 128 / 255, 0.0))


@pytest.mark.parametrize(
    "values, words",
    [
        ({"strength": 1.5}, ["strength", "1.5", "0.0 to 1.0"]),
        ({"iterations": 0}, ["iterations", "1 to 500"]),
        ({"iterations": "2.5"}, ["iterations", "whole number"]),
        ({"method": "adian"}, ["method", "'adian'", "did you mean 'adain'"]),
        ({"preserve_color": "maybe"}, ["preserve_color", "true or false"]),
        ({"label_colour": "#12"}, ["label_colour", "#rrggbb"]),
        ({"strenght": 0.3}, ["no parameter 'strenght'", "did you mean 'strength'"]),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(values, words):
    with pytest.raises(ParameterError) as err:
        Demo.validate(values)
    text = str(err.value)
    for word in words:
        assert word in text


def test_path_must_exist_and_have_an_allowed_suffix(tmp_path):
    good = tmp_path / "a.png"
    good.write_bytes(b"x")
    assert Demo.validate({"style": [str(good)]})["style"] == (good,)
    with pytest.raises(ParameterError, match="does not exist"):
        Demo.validate({"style": [str(tmp_path / "missing.png")]})
    bad = tmp_path / "a.gif"
    bad.write_bytes(b"x")
    with pytest.raises(ParameterError, match="allowed: .png, .jpg"):
        Demo.validate({"style": [str(bad)]})


def test_numbers_keep_their_kind_and_floats_their_float32_value():
    assert type(params.Int("n").convert("30")) is int
    assert params.Float("x").convert("0.6000000238418579") == 0.6  # how Blender holds 0.6
    assert params.Float("x").convert(0.123456789) == 0.12345679  # float32 keeps no more


def test_required_parameter():
    p = params.Path("lut", required=True, must_exist=False)
    with pytest.raises(ParameterError, match="lut is required"):
        p.convert(None)


def test_bad_default_fails_at_declaration():
    with pytest.raises(ParameterError):
        params.Float("x", default=2.0, max=1.0)


def test_schema_lists_every_parameter():
    schema = Demo.describe()["settings"]
    props = schema["properties"]
    assert props["strength"] == {
        "type": "number",
        "minimum": 0.0,
        "maximum": 1.0,
        "description": "how much",
        "x-kind": "float",
        "x-option": "--strength",
        "x-required": False,
        "default": 0.5,
    }
    assert props["method"]["enum"] == ["johnson", "adain", "gatys"]
    assert props["style"]["type"] == "array" and props["style"]["items"]["format"] == "path"
    assert props["label_colour"]["default"] == "#ff8000"
    assert props["preserve_color"]["x-option"] == "--preserve-color"
    json.dumps(schema)  # serialisable as is


def test_cli_options_come_from_the_declaration(cli, fresh_host):
    fresh_host.add_plugin(plugin_with(Demo), name="demo-plugin")
    help_text = cli("run", "demo", "--help").output
    for option in (
        "--strength",
        "--iterations",
        "--preserve-color / --no-preserve-color",
        "--method [johnson|adain|gatys]",
        "--style",
        "--label-colour",
    ):
        assert option in help_text
    out = cli("describe", "demo", "--json").output
    assert json.loads(out)["settings"] == Demo.describe()["settings"]


def test_a_parameter_declared_for_some_settings_says_so_everywhere(cli, fresh_host):
    """``when`` declares once where a parameter applies: describe gives it as x-when (the
    Blender panel shows the parameter only then) and --help says it."""

    class Conditional(neuralfx.Effect):
        name = "conditional"
        params = (
            params.Choice("method", default="johnson", choices=("johnson", "gatys")),
            params.Bool("temporal", default=True),
            params.Int("iterations", default=10, min=1, when={"method": ("gatys",)}),
            params.Float("stability", default=0.8, when={"temporal": (True,)}),
        )

        def process(self, batch):
            return batch

    props = Conditional.describe()["settings"]["properties"]
    assert props["iterations"]["x-when"] == {"method": ["gatys"]}
    assert props["stability"]["x-when"] == {"temporal": [True]} and "x-when" not in props["method"]
    fresh_host.add_plugin(plugin_with(Conditional), name="conditional-plugin")
    help_text = " ".join(cli("run", "conditional", "--help").output.split())
    assert "(with --method gatys)" in help_text and "(with --temporal true)" in help_text


@pytest.mark.parametrize(
    "when, words",
    [({"nope": ("x",)}, "names 'nope'"), ({"method": ("sargent",)}, "'sargent' is not one of")],
)
def test_a_condition_on_a_parameter_that_cannot_hold_fails_at_declaration(when, words):
    with pytest.raises(ValueError, match=words):
        neuralfx.EffectSpec(
            name="bad",
            params=(
                params.Choice("method", default="johnson", choices=("johnson", "gatys")),
                params.Int("iterations", default=10, when=when),
            ),
        )


def test_cli_refuses_out_of_range_value(cli, fresh_host, make_sequence, tmp_path):
    fresh_host.add_plugin(plugin_with(Demo), name="demo-plugin")
    src = make_sequence()
    result = cli("run", "demo", "--strength", "3", src, tmp_path / "o.####.png", expect=2)
    assert "strength: 3.0 is out of range; allowed: 0.0 to 1.0" in result.stderr
    assert not (tmp_path / "o.1001.png").exists()


def test_the_image_suffixes_for_path_parameters_are_the_formats_the_host_reads():
    from neuralfx.frames.images import FORMATS

    assert set(params.IMAGE_SUFFIXES) == {s for f in FORMATS for s in f.suffixes}
