"""The package's declared dependencies, its conda environment and its entry points agree."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip", "cxx-compiler"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    test = [r for r in extras["test"] if _name(r) != "pp-vae"]  # "pp-vae[dask]": the test extra includes the dask extra
    included = [extra for r in extras["test"] if _name(r) == "pp-vae" for extra in re.findall(r"\[(.*)\]", r)[0].split(",")]
    assert included == ["dask"], included
    declared = {_name(r) for r in project["dependencies"] + test + extras["dask"]}
    conda = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        match = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line.split("#")[0])
        if match:
            name = _name(match.group(1))
            conda.add(CONDA_TO_PYPI.get(name, name))
    assert conda - CONDA_ONLY == declared
    assert re.search(r"^\s*-\s+python=3\.12\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_python_floor_and_console_script():
    project = _pyproject()["project"]
    assert project["requires-python"] == ">=3.12"
    assert project["scripts"]["pp-vae"] == "pp_vae.cli:main"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert commands[0].strip().endswith("make run") and commands[1].strip().endswith("make test")
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    ci = [line for line in lines if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["make test"]


def test_wheel_ships_the_stan_programs(tmp_path):
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pp_vae-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    programs = {p.name for p in (ROOT / "stan_models").glob("*.stan")}
    assert programs and {f"pp_vae/stan_models/{p}" for p in programs} <= names
