"""The package's layout is its architecture (docs/ARCHITECTURE.md): modules import only
modules of their own layer or lower ones, at import time, and nothing imports itself back in
a cycle. (Imports inside functions are deliberate deferrals, kept out of start-up: the CLI
describes without torch; they are not checked here.)"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "core" / "neuralfx"

#: lowest first; a module belongs to the first layer one of whose prefixes it starts with
LAYERS = (
    (
        "foundation",
        (
            "errors",
            "_moved",
            "_version",
            "console",
            "openmp",
            "native_stderr",
            "colour",
            "smoothing",
            "memory",
            "devices",
        ),
    ),
    ("contract", ("params", "param_list", "options", "effect", "regions")),
    (
        "files",
        (
            "frames",
            "faces.registry",
            "host.catalog",
            "host.archives",
            "host.download",
            "marks.label",
            "marks.watermark",
        ),
    ),
    (
        "libraries",
        (
            "host",
            "hookspecs",
            "models",
            "faces",
            "warping",
            "flow",
            "temporal",
            "consistency",
            "contact_sheet",
            "training",
            "training_command",
            "marks",
        ),
    ),
    ("run", ("pipeline", "faces.scan")),
    ("front", ("serve", "cli", "testing", "__main__", "")),
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    best, length = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".") or prefix == "") and len(
                prefix
            ) > length:
                best, length = rank, len(prefix)
    return best


def _graph() -> dict[str, set[str]]:
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        deps = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # top level only
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue  # (absolute imports of neuralfx inside the package: none)
            base = package.split(".") if package else []
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            subs = [
                f"{target}.{a.name}".strip(".")
                for a in node.names
                if f"{target}.{a.name}".strip(".") in modules
            ]
            for dep in subs if len(subs) == len(node.names) else [target, *subs]:
                if dep != module:
                    deps.add(dep)
        graph[module] = deps
    return graph


def test_no_module_imports_a_higher_layer():
    wrong = [
        f"{m} ({LAYERS[_layer(m)][0]}) imports {d} ({LAYERS[_layer(d)][0]})"
        for m, deps in _graph().items()
        for d in deps
        if _layer(d) > _layer(m)
    ]
    assert not wrong


def test_no_import_cycle():
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize(
    "old, new",
    [
        ("neuralfx.stage", "neuralfx.pipeline.stage"),
        ("neuralfx.plugins", "neuralfx.host.plugins"),
        ("neuralfx.executors.local", "neuralfx.pipeline.executors.local"),
        ("neuralfx.watermark.read", "neuralfx.marks.watermark.read"),
    ],
)
def test_a_moved_module_keeps_its_old_path_for_a_minor_version(old, new):
    import importlib
    import sys

    for name in [n for n in sys.modules if n == old or n.startswith(old + ".")]:
        del sys.modules[name]  # as a plugin importing it for the first time
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        moved = importlib.import_module(old)  # (and its parent package, if that moved too)
    assert any(
        w.category is DeprecationWarning and f"{old} is {new} now" in str(w.message) for w in said
    )
    assert moved is importlib.import_module(new)  # the same module: patching one patches both
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module(new)  # the new path: no warning
