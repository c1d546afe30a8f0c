"""The package's shape: cheap to import, each stage a subpackage with working exports, dependencies pointing one way."""

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pp_vae"
# the course's stages in the order their dependencies point: a module may import only its own stage or those above it
STAGES = ["validation", "files", "_lazy", "data", "bayes", "models", "stan", "inference", "vae", "plots", "course", "cli"]
SUBPACKAGES = ["data", "bayes", "models", "stan", "inference", "vae", "plots", "course"]


def test_importing_the_package_and_building_the_cli_loads_no_heavy_library():
    code = (
        "import sys, pp_vae, pp_vae.cli, pp_vae.vae, pp_vae.inference; pp_vae.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'pyro', 'stan', 'httpstan', 'arviz', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_exported_name_resolves_and_is_documented(name):
    package = importlib.import_module(f"pp_vae.{name}")
    assert package.__doc__ and package.__all__
    for exported in package.__all__:
        value = getattr(package, exported)
        assert value is not None, exported
        if inspect.isfunction(value) or inspect.isclass(value):
            assert (value.__doc__ or "").strip(), f"pp_vae.{name}.{exported} has no docstring"


def _stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.index(parts[1].removesuffix(".py")) if len(parts) > 1 else -1


def test_dependencies_point_one_way():
    backwards = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        own = ".".join(relative.parts)
        if own.endswith("__init__") and own.count(".") == 1:
            continue
        own_stage = _stage(own)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pp_vae."):
                if _stage(node.module) > own_stage:
                    backwards.append(f"{own} imports {node.module}")
    assert backwards == []
