"""The plugin contract stated once: the hooks' arguments (a ``train`` group for trainers,
plugin API 1.2), an Effect class's attributes read off EffectSpec, and a deprecated name that
still works for one more minor version."""

from __future__ import annotations

import dataclasses
import warnings

import click
import pytest
from helpers import plugin_with

import neuralfx
from neuralfx.effect import Effect, EffectSpec
from neuralfx.host.plugins import PluginHost


def _cli_with_train() -> click.Group:
    cli = click.Group("neuralfx")
    cli.add_command(click.Group("train"))
    return cli


def test_a_trainer_is_added_to_the_train_group_it_is_handed_and_the_old_way_still_works():
    @click.command("new-way")
    def new_way():
        """A trainer added through the train argument."""

    @click.command("old-way")
    def old_way():
        """A trainer added through cli.commands["train"] (plugin API 1.0)."""

    def new(train):
        train.add_command(new_way)

    def old(cli):
        cli.commands["train"].add_command(old_way)

    host = PluginHost()
    host.add_plugin(plugin_with(register_commands=new), name="new_plugin")
    host.add_plugin(plugin_with(register_commands=old), name="old_plugin")
    cli = _cli_with_train()
    host.register_commands(cli)
    assert not host.errors
    assert {"new-way", "old-way"} <= set(cli.commands["train"].commands)


def test_an_effect_class_carries_every_spec_field_with_the_specs_default():
    fields = {
        f.name: f.default
        for f in dataclasses.fields(EffectSpec)
        if f.name not in ("name", "help", "implementation")
    }
    for name, default in fields.items():
        assert getattr(Effect, name) == default, name

    class Declared(Effect):
        """An effect declared by class attributes."""

        name = "declared"
        accepts_nonfinite = True
        preferred_batch_size = 9

    spec = Declared.spec
    assert (spec.name, spec.accepts_nonfinite, spec.preferred_batch_size) == ("declared", True, 9)
    assert (
        spec.help == "An effect declared by class attributes." and spec.implementation is Declared
    )
    # a field EffectSpec gains reaches classes declared either way with no other change
    assert set(fields) | {"name"} == set(neuralfx.effect._SPEC_FIELDS)


def test_the_former_name_of_weights_warns_and_still_works():
    import neuralfx.host.catalog
    import neuralfx.host.weights

    for module in (neuralfx.host.catalog, neuralfx.host.weights):
        with pytest.warns(DeprecationWarning, match="neuralfx.Weights"):
            assert module.KnownWeights is neuralfx.Weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            neuralfx.host.catalog.NoSuchName  # noqa: B018


def test_display_rgb_moved_to_the_torch_free_samples_module_and_still_works_where_it_was():
    import numpy as np

    import neuralfx.frames.pixels
    import neuralfx.frames.samples

    with pytest.warns(DeprecationWarning, match="neuralfx.frames.samples.display_rgb"):
        assert neuralfx.frames.pixels.display_rgb is neuralfx.frames.samples.display_rgb
    with pytest.raises(AttributeError):
        neuralfx.frames.pixels.no_such_name  # noqa: B018
    gray = np.full((2, 2, 1), 65535, np.uint16)
    assert neuralfx.frames.samples.display_rgb(gray).tolist() == np.ones((2, 2, 3)).tolist()


def test_built_in_effects_and_examples_use_only_the_public_modules():
    """The built-in effects are written as any plugin is: against neuralfx.PUBLIC_MODULES."""
    import ast
    from pathlib import Path

    from neuralfx._moved import new_name

    root = Path(__file__).resolve().parent.parent
    public = neuralfx.PUBLIC_MODULES
    found = []
    for path in [*root.glob("plugins/*/*.py"), *root.glob("examples/*/neuralfx_*/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            if names == ["neuralfx"] and isinstance(node, ast.ImportFrom):  # its submodules
                names = [f"neuralfx.{a.name}" for a in node.names]
            for name in names:
                if new_name(name) != name:  # an old path, kept only for a minor version
                    found.append(f"{path.relative_to(root)}: {name} (now {new_name(name)})")
                    continue
                if name.split(".")[0] == "neuralfx" and not any(
                    name == m or name.startswith(m + ".") for m in public
                ):
                    found.append(f"{path.relative_to(root)}: {name}")
    assert not found
    for name in public:  # and they exist
        __import__(name)


def test_models_and_detectors_reach_an_effect_through_its_run_context(make_sequence, tmp_path):
    """``ctx.host`` is the host the run was given; ``ctx.load_model`` and
    ``FacePipeline.from_settings(..., host=ctx.host)`` look up its architectures, weights and
    detectors through it, not through a process-wide host (here used after the run, when no
    run's host is current any more)."""
    import torch

    from neuralfx.errors import ParameterError
    from neuralfx.faces.pipeline import make_finder
    from neuralfx.host.plugins import PluginHost, get_host

    kept = {}
    path = tmp_path / "tiny.pth"
    torch.save({"weight": torch.full((2, 2), 3.0)}, path)

    class Looks(neuralfx.Effect):
        name = "looks-ctx"
        working_space = None

        def load(self, ctx):
            kept["ctx"] = ctx

        def process(self, batch):
            return batch

    class Finder:
        def __init__(self, **options):
            pass

    def register_weights(register):
        register(neuralfx.Architecture("studio-arch", build=lambda: torch.nn.Linear(2, 2, False)))

    def register_face_detectors(register):
        from neuralfx.faces.registry import FaceDetectorEntry

        register(FaceDetectorEntry("studio-detector", Finder, "a studio's detector"))

    host = PluginHost()
    host.add_plugin(
        plugin_with(
            Looks,
            register_weights=register_weights,
            register_face_detectors=register_face_detectors,
        ),
        name="studio",
    )
    neuralfx.run("looks-ctx", make_sequence(), str(tmp_path / "o.####.png"), host=host)
    ctx = kept["ctx"]
    assert ctx.host is host
    assert type(make_finder("studio-detector", ctx.host)).__name__ == "Finder"
    model = ctx.load_model("studio-arch", path)
    assert torch.equal(model.weight, torch.full((2, 2), 3.0)) and not model.training
    # the process-wide host knows neither (nothing leaked out of the run)
    assert "studio-arch" not in get_host().catalog.architectures
    with pytest.raises(ParameterError, match="studio-detector"):
        make_finder("studio-detector")


@pytest.mark.parametrize(
    "workers, free, frames, at_once",
    [
        (2, None, 4, 2),
        (1, None, 4, 1),
        (2, 1.5e9, 4, 1),
        (2, 0.5e9, 4, 0),
        (2, None, 1, None),
    ],
    ids=["two-workers", "one-worker", "memory-for-one-frame", "memory-for-none", "one-picture"],
)
def test_an_effect_may_do_its_model_work_in_inspect_several_frames_at_once(
    make_sequence, tmp_path, monkeypatch, workers, free, frames, at_once
):
    """``parallel_inspect``: on the CPU the host calls ``inspect`` in its decode workers, as
    many frames at once as there are workers and memory for (torch and OpenCV single-threaded
    meanwhile, as before afterwards), and ``process`` finds the results in ``batch.notes``;
    the frames come out the same. Where not even one frame fits, nothing is painted before the first
    frame's memory check refuses the run; a clip of one picture is processed on torch's
    threads (nothing to paint beside it)."""
    import threading
    import time

    import cv2
    import numpy as np
    import torch

    from neuralfx import memory
    from neuralfx.errors import ParameterError
    from neuralfx.frames.pixels import to_tensor

    if free is not None:
        monkeypatch.setattr(memory, "free_bytes", lambda device: free)
    seen = {"threads": set(), "inspected": [], "ahead": [], "busy": 0, "most": 0}
    lock = threading.Lock()

    class Inverts(neuralfx.Effect):
        name = "inverts-ahead"
        working_space = None
        parallel_inspect = True

        def memory_needed(self, width, height):
            return 10**9  # one frame fits in 1.5 GB, two do not

        def inspect(self, frame, rgb):
            with lock:
                seen["busy"] += 1
                seen["most"] = max(seen["most"], seen["busy"])
            seen["threads"].add((torch.get_num_threads(), cv2.getNumThreads()))
            seen["inspected"].append(frame)
            time.sleep(0.05)  # long enough for the workers' calls to overlap
            with lock:
                seen["busy"] -= 1
            return 1 - to_tensor([rgb], torch.device("cpu"), torch.float32)

        def process(self, batch):
            seen["ahead"].append(batch.notes is not None)
            if batch.notes is not None:
                return batch.replace(rgb=torch.cat(batch.notes))
            return batch.replace(rgb=1 - batch.rgb.float())

    host = PluginHost()
    host.add_plugin(plugin_with(Inverts), name="studio")
    threads = torch.get_num_threads(), cv2.getNumThreads()
    numbers = list(range(1001, 1001 + frames))
    source = make_sequence(width=96, height=64, frames=numbers)
    out = str(tmp_path / "o.####.png")
    options = neuralfx.RunOptions(workers=workers)
    if at_once == 0:
        with pytest.raises(ParameterError, match="processing it takes about 1.0 GB"):
            neuralfx.run("inverts-ahead", source, out, options=options, host=host)
        assert seen["inspected"] == []
        assert (torch.get_num_threads(), cv2.getNumThreads()) == threads
        return
    neuralfx.run("inverts-ahead", source, out, options=options, host=host)
    assert (torch.get_num_threads(), cv2.getNumThreads()) == threads
    if at_once is None:
        assert seen["inspected"] == [] and seen["ahead"] == [False] * frames
    else:
        assert seen["threads"] == {(1, 1)} and sorted(seen["inspected"]) == numbers
        assert seen["most"] == at_once and seen["ahead"] == [True] * frames
    for f in numbers:
        given = cv2.imread(source.replace("####", f"{f:04d}"))
        got = cv2.imread(out.replace("####", f"{f:04d}"))
        assert np.array_equal(got, 255 - given)
