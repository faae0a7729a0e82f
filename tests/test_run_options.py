"""Run options are declared once (the fields of ``neuralfx.options.RunOptions``): a new one
reaches the Python API, every ``neuralfx run`` command, the reserved names, ``describe
--run-options`` and the Blender panel's option file with no other change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import neuralfx

PACKAGE = Path(neuralfx.__file__).parent
ROOT = Path(__file__).resolve().parent.parent
NEW_OPTION = """    shimmer: bool = option(params.Bool, False, panel=True,
                           help="A test option that exists only in this copy.")
"""


def test_one_new_field_shows_up_everywhere(tmp_path):
    copy = tmp_path / "neuralfx"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    source = (copy / "options.py").read_text(encoding="utf-8")
    anchor = "    #: Not an option: set by the Ray executor"
    assert anchor in source
    (copy / "options.py").write_text(source.replace(anchor, NEW_OPTION + anchor), encoding="utf-8")
    addon = tmp_path / "addon"
    addon.mkdir()
    script = f"""
import json, sys
sys.path.insert(0, {str(tmp_path)!r})
import neuralfx
assert neuralfx.__file__.startswith({str(tmp_path)!r}), neuralfx.__file__
from click.testing import CliRunner
from neuralfx.cli.main import main
from neuralfx.effect import RESERVED_PARAM_NAMES
from neuralfx.options import RunOptions
assert RunOptions(shimmer=True).shimmer and RunOptions().shimmer is False
RunOptions(shimmer=True).check()
helped = CliRunner().invoke(main, ["run", "convert", "--help"]).output
described = json.loads(CliRunner().invoke(main, ["describe", "--run-options", "--json"]).output)
everything = json.loads(CliRunner().invoke(main, ["describe", "--all", "--json"]).output)
print(json.dumps({{"help": "--shimmer / --no-shimmer" in helped,
                  "reserved": "shimmer" in RESERVED_PARAM_NAMES,
                  "described": [d for d in described if d["name"] == "shimmer"],
                  "all": any(d["name"] == "shimmer" for d in everything["run_options"])}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["help"] and found["reserved"] and found["all"]
    (shimmer,) = found["described"]
    assert shimmer["x-panel"] is True and shimmer["x-kind"] == "bool"
    assert shimmer["default"] is False and shimmer["x-option"] == "--shimmer"


def test_the_cli_takes_what_the_python_api_takes(cli, make_sequence, tmp_path):
    """Converted by the declaration: --workers 2 reaches RunOptions as a number, and a bad
    value is refused with the option's name before any frame is read."""
    from neuralfx.options import RUN_PARAMS, RunOptions

    given = {"workers": "2", "label_opacity": "0.5", "overwrite": "true", "batch_size": "3"}
    opts = RunOptions.from_text(given)
    assert (opts.workers, opts.label_opacity, opts.overwrite, opts.batch_size) == (
        2,
        0.5,
        True,
        "3",
    )
    assert [p.name for p in RUN_PARAMS][:3] == ["frames", "missing", "layer"]
    r = cli(
        "run", "convert", "--batch-size", "0", make_sequence(), tmp_path / "o.####.png", expect=2
    )
    assert "batch_size: '0' is not valid" in r.stderr and "auto or 4" in r.stderr


def test_a_trainer_config_field_is_its_option_default_and_check():
    """A trainer's settings are declared once, as its config's fields: each one is an option
    of the command with the config's default, converted and checked by its declaration."""
    import dataclasses

    import click
    from click.testing import CliRunner

    from neuralfx import params, training

    @dataclasses.dataclass(kw_only=True)
    class Config:
        images: Path = params.field(params.Path, required=True, folder=True, help="Pictures.")
        steps: int = params.field(params.Int, 7, min=1, help="How many.")
        sharpen: bool = params.field(params.Bool, False, help="A new setting.")
        internal: float = 0.5  # not an option
        seed: int = training.seed()

    made = []

    @click.command("toy")
    @training.command(Config)
    def toy(device, fresh, progress, **given):
        made.append(params.from_text(Config, given))

    runner = CliRunner()
    helped = runner.invoke(toy, ["--help"]).output
    assert "--steps" in helped and "(default: 7)" in helped and "--sharpen / --no-sharpen" in helped
    assert "--internal" not in helped and "--seed" in helped and "(required)" in helped
    assert runner.invoke(toy, ["--images", str(ROOT), "--sharpen"]).exit_code == 0
    assert (made[-1].steps, made[-1].sharpen, made[-1].seed) == (7, True, 42)
    refused = runner.invoke(toy, ["--images", str(ROOT), "--steps", "0"])
    assert refused.exit_code != 0 and "steps: 0 must be at least 1" in str(refused.exception)


def test_every_trainer_offers_exactly_its_configs_declared_fields(cli):
    import importlib

    from neuralfx import params

    for name, module in (
        ("painting-style", "neuralfx_painting_style"),
        ("face-attributes", "neuralfx_face_attributes"),
        ("animal-transfer", "neuralfx_animal_transfer"),
        ("face-swap", "neuralfx_face_swap"),
    ):
        cli_module = importlib.import_module(f"{module}.train_cli")
        configs = getattr(cli_module, "CONFIGS", (cli_module.TrainConfig,))
        helped = " ".join(cli("train", name, "--help").stdout.split())
        for config in configs:  # (several: one per model, chosen with --model)
            for p in params.fields_of(config):
                assert p.option in helped, (name, p.option)
                if p.default is not None and p.kind != "bool":
                    default = p._json_default()
                    assert (
                        f"(default: {default})" in helped
                        or f"{default} with --model {config.MODEL}" in helped
                    ), (name, p.name)
