"""Listing and inspection commands: effects, describe, doctor, --help."""

from __future__ import annotations

import json

from neuralfx.host.plugins import PLUGIN_API_VERSION


def test_effects_listing(cli):
    rows = json.loads(cli("effects", "--json").stdout)
    convert = next(r for r in rows if r["name"] == "convert")
    assert convert == {"name": "convert", "summary": convert["summary"], "plugin": "convert"}
    assert "convert" in cli("effects").stdout


def test_describe_all_answers_in_one_call(cli):
    """What the Blender panel reads on a refresh: the version, every effect, each schema (the
    same as describing it alone) and the plugins that failed to load."""
    import neuralfx

    everything = json.loads(cli("describe", "--all", "--json").stdout)
    assert everything["version"] == neuralfx.__version__
    names = [e["name"] for e in everything["effects"]]
    assert names == [e["name"] for e in json.loads(cli("effects", "--json").stdout)]
    assert list(everything["descriptions"]) == names and everything["plugin_errors"] == []
    assert everything["descriptions"]["painting-style"] == json.loads(
        cli("describe", "painting-style", "--json").stdout
    )
    assert "give an EFFECT or --all" in cli("describe", "lut", "--all", expect=2).output


def test_describe_convert(cli):
    info = json.loads(cli("describe", "convert", "--json").stdout)
    assert info["name"] == "convert" and info["working_space"] is None
    assert info["settings"] == {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
        "required": [],
    }
    assert "parameters: none" in cli("describe", "convert").stdout


def test_run_help_teaches(cli):
    text = cli("run", "convert", "--help").stdout
    for words in (
        "INPUT OUTPUT",
        "shot.####.exr",
        "--frames RANGE",
        "--overwrite",
        "--ocio",
        "--progress",
        "neuralfx run convert plate.####.exr proxy.####.jpg",
    ):
        assert words in text
    assert "convert" in cli("run", "--help").stdout


def test_doctor_reports_versions_devices_plugins_and_cache(cli, tmp_path):
    cache = tmp_path / "cache"
    (cache / "painting-style").mkdir(parents=True)
    (cache / "painting-style" / "candy.safetensors").write_bytes(b"x" * 2048)
    report = json.loads(cli("doctor", "--json").stdout)
    assert report["versions"]["torch"] and report["versions"]["OpenEXR"]
    assert {"device": "cpu"} in report["devices"]
    assert report["plugin_api"] == PLUGIN_API_VERSION
    assert any(p["name"] == "convert" for p in report["plugins"])
    assert report["cache"]["path"] == str(cache)
    assert report["cache"]["files"] == [{"path": "painting-style/candy.safetensors", "bytes": 2048}]
    # what --precision bf16 does here (refused without the CPU's bf16 instructions)
    import torch

    mkldnn = torch.backends.mkldnn.is_available()
    assert report["cpu"]["bf16"] is (mkldnn and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    text = cli("doctor", "--ocio", "ocio://default").stdout
    assert "painting-style/candy.safetensors  2.0 KB" in text
    assert ("no bf16 instructions" in text) is not report["cpu"]["bf16"]
    assert "ACEScg" in text


def test_version(cli):
    assert cli("--version").stdout.startswith("neuralfx, version ")


def test_contact_sheet(cli, make_sequence, tmp_path):
    import numpy as np

    from neuralfx.frames.images import read_image

    src = make_sequence(frames=range(1, 8))
    out = cli("contact-sheet", "--columns", 3, "--width", 300, src, tmp_path / "sheet.png")
    assert "7 frame(s)" in out.stdout
    sheet = read_image(str(tmp_path / "sheet.png"))
    assert sheet.shape == (3 * (75 + 18), 300, 3)  # 3 rows of 100x75 cells plus labels
    first = sheet[2:73, 2:98].astype(float)
    assert first.std() > 10  # a real thumbnail, not the background
    last_row_empty = sheet[2 * 93 + 2 : 2 * 93 + 73, 102:198]
    assert np.all(last_row_empty == 24)  # cells past the last frame stay empty


def test_a_contact_sheet_is_made_without_importing_torch(make_sequence, tmp_path):
    """The README's main job ends with a contact sheet: importing torch for it took 0.9 of
    its 1.5 s."""
    import subprocess
    import sys

    code = (
        "import sys; from neuralfx.cli import main\n"
        f"main(['contact-sheet', {str(make_sequence())!r}, {str(tmp_path / 's.png')!r}],"
        " standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.png").stat().st_size > 0


def test_the_command_makes_openmp_threads_wait_passively_beside_other_work():
    """Spinning OpenMP threads collapse when another process shares the cores (the README's
    main job: 41 s beside one busy process against 12 s with passive waiting): the console
    script looks at the machine before torch loads, waits passively when other work runs,
    and keeps a value the user set."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "neuralfx"

    def waiting(**env) -> str:
        environ = {
            k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
        }
        out = subprocess.run(
            [str(script), "doctor", "--json"],
            env=environ | env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(out)["cpu"]["openmp_waiting"]

    spin = [sys.executable, "-c", "while True: pass"]
    busy = [subprocess.Popen(spin) for _ in range(2)]
    try:
        assert waiting() == "PASSIVE"
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert waiting(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert waiting(GOMP_SPINCOUNT="5") == "spin 5"


def test_openmp_waiting_is_a_short_spin_only_on_an_idle_machine(tmp_path):
    from neuralfx import openmp

    def chosen(others, **env):
        environ = dict(env)
        openmp.choose_waiting(environ, others)
        return environ

    assert chosen(0) == {"GOMP_SPINCOUNT": "1000"}
    passive = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0"}
    assert chosen(1) == chosen(None) == passive
    assert chosen(0, OMP_WAIT_POLICY="ACTIVE") == {"OMP_WAIT_POLICY": "ACTIVE"}
    assert chosen(3, GOMP_SPINCOUNT="7") == {"GOMP_SPINCOUNT": "7"}

    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.58 0.59 1/467 1234\n")  # only the reader runs
    assert openmp.others_running(loadavg=str(loadavg)) == 0
    loadavg.write_text("2.01 1.10 0.70 3/467 1234\n")
    assert openmp.others_running(loadavg=str(loadavg)) == 2
    assert openmp.others_running(loadavg=str(tmp_path / "missing")) is None

    # Ray actors get the user's settings, else passive waiting
    assert openmp.waiting_for_actors({}) == passive
    user = {"GOMP_SPINCOUNT": "100", "PATH": "/bin"}
    assert openmp.waiting_for_actors(user) == {"GOMP_SPINCOUNT": "100"}
