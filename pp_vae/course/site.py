"""The course site: the executed lectures, their key numbers, the README and the API reference, built by Sphinx + MyST-NB.

:func:`stage_source` writes a Sphinx source folder (``conf.py`` importing :mod:`pp_vae.course.sphinx_conf`, the
notebooks, a front page, a key-numbers page, one API page per subpackage) and :func:`run_sphinx` builds it
into static HTML that needs no network. :func:`build_site` does both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pp_vae.course.summary import KEY_NUMBERS_MIME, NotebookResult, format_number, key_numbers_markdown
from pp_vae.files import WriteError, atomic_write_text, writing

API_SUBPACKAGES = ["bayes", "data", "models", "stan", "inference", "vae", "plots", "course"]
"""The subpackages documented in the API reference, in the order the course uses them."""

CONF_PY = '''"""Sphinx configuration of the pp-vae course site (written by `pp-vae course`; edit pp_vae/course/sphinx_conf.py)."""

from pp_vae.course.sphinx_conf import *  # noqa: F403
'''


def default_readme() -> Path | None:
    """``./README.md`` when run from a checkout, else the one beside the installed package, else ``None``."""
    for candidate in (Path.cwd() / "README.md", Path(__file__).resolve().parent.parent.parent / "README.md"):
        if candidate.is_file():
            return candidate
    return None


def build_site(results: list[NotebookResult], out_dir: Path, readme: Path | None = None, jobs: int = 1) -> Path:
    """Stage ``out_dir/source`` for ``results`` and build the site into ``out_dir/site``; return its ``index.html``."""
    out_dir = Path(out_dir)
    source = stage_source(results, out_dir / "source", readme)
    return run_sphinx(source, out_dir / "site", doctrees=out_dir / ".doctrees", jobs=jobs)


def stage_source(results: list[NotebookResult], source: Path, readme: Path | None = None) -> Path:
    """Write the Sphinx source folder for ``results`` (replacing any old one) and return it."""
    from pp_vae.course.sphinx_conf import copy_mathjax

    if not results:
        raise ValueError("no lectures to publish: the course site needs at least one notebook")
    source = Path(source)
    mathjax = source / "_static" / "mathjax"
    with writing(source):
        if source.exists():  # keep a copied MathJax, which never changes; everything else is rewritten
            for child in source.iterdir():
                if child.name != "_static":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        (source / "lectures").mkdir(parents=True, exist_ok=True)
        copy_mathjax(mathjax.parent)
    atomic_write_text(source / "conf.py", CONF_PY)
    for result in results:
        _stage_notebook(result, source / "lectures" / f"{result.notebook.stem}.ipynb")
    atomic_write_text(source / "index.md", front_page(results, readme))
    atomic_write_text(source / "key_numbers.md", key_numbers_page(results))
    with writing(source / "api"):
        (source / "api").mkdir()
    atomic_write_text(source / "api" / "index.md", _api_index())
    for name in API_SUBPACKAGES:
        title = f"pp_vae.{name}"  # reStructuredText: autodoc writes reST, which MyST pages would not parse
        atomic_write_text(source / "api" / f"{name}.rst", f"{title}\n{'=' * len(title)}\n\n.. automodule:: {title}\n")
    return source


def _raise_write_error(output: str) -> None:
    """Raise :class:`~pp_vae.files.WriteError` when Sphinx stopped because a file could not be written (its OSError's words)."""
    found = re.search(r"(?:OSError|Error): \[Errno (\d+)\] ([^:\n]+): '([^'\n]+)'", output)
    if found:
        raise WriteError(found[3], OSError(int(found[1]), found[2]))


def _stage_notebook(result: NotebookResult, target: Path) -> None:
    """Copy the executed notebook, its key-number tables written afresh; one that failed gets a warning naming the cell."""
    import nbformat

    notebook = nbformat.read(result.executed, as_version=4)
    for cell in notebook.cells:  # tables saved before key_numbers_markdown escaped "|" would split KL(p||q) across cells
        for output in cell.get("outputs", []):
            if KEY_NUMBERS_MIME in output.get("data", {}):
                output["data"]["text/markdown"] = key_numbers_markdown(output["data"][KEY_NUMBERS_MIME])
    if not result.ok:
        warning = f"```{{error}}\nThis lecture failed in {_failure(result)}. The outputs below stop there.\n```"
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(warning))
    atomic_write_text(target, nbformat.writes(notebook) + "\n")  # as nbformat.write ends it


def _failure(result: NotebookResult) -> str:
    """Where and how a lecture failed, as literal Markdown: ``cell N (its source): the error``."""
    where = f"cell {result.failed_cell}" + (f" ({_escape(result.failed_source)})" if result.failed_source else "")
    return f"{where}: {_escape(result.error or '')}"


def _escape(text: str) -> str:
    """``text`` as literal Markdown: punctuation that Markdown or MyST's dollar math would read is backslash-escaped."""
    return re.sub(r"([\\`*_\[\]<>$|#~{}])", r"\\\1", " ".join(text.split()))


def front_page(results: list[NotebookResult], readme: Path | None = None) -> str:
    """The front page: the README (lecture names in its table linked to their pages) and the site's tables of contents."""
    readme = readme if readme is not None else default_readme()
    if readme is not None and Path(readme).is_file():
        text = Path(readme).read_text(encoding="utf-8")
    else:
        text = "# pp-vae\n\nA probabilistic-programming course: from the simplest Bayesian update to an amortised VAE.\n"
    for result in results:
        stem = result.notebook.stem
        text = re.sub(rf"^\| `{re.escape(stem)}` \|", f"| [{stem}](lectures/{stem}.ipynb) |", text, flags=re.M)
    lectures = "\n".join(f"lectures/{r.notebook.stem}" for r in results)
    return (
        f"{text.rstrip()}\n\n"
        f"```{{toctree}}\n:caption: Lectures\n:hidden:\n\n{lectures}\n```\n\n"
        "```{toctree}\n:caption: Reference\n:hidden:\n\nkey_numbers\napi/index\n```\n"
    )


def key_numbers_page(results: list[NotebookResult]) -> str:
    """A page with each lecture's status and the key numbers it established (as in ``summary.json``)."""
    ran = sum(r.ok for r in results)
    lines = [
        "# Key numbers",
        "",
        "What each lecture established: the numbers its last cells computed and asserted, collected by `pp-vae course`. "
        f"{ran} of {len(results)} lectures ran top to bottom.",
        "",
    ]
    for r in results:
        lines += [f"## [{_escape(r.title)}](lectures/{r.notebook.stem}.ipynb)", ""]
        if not r.ok:
            lines += ["```{error}", f"{r.notebook.name} failed in {_failure(r)}", "```", ""]
        else:
            when = f"ran in {r.seconds:.1f} s" if r.seconds is not None else "outputs as saved in the notebook"
            lines += [f"`{r.notebook.name}`: {when}.", ""]
        if r.key_numbers:
            lines += ["| key number | value |", "| --- | --- |"]
            lines += [f"| {_escape(k)} | {_escape(format_number(v))} |" for k, v in r.key_numbers.items()]
        else:
            lines.append("No key numbers recorded.")
        lines.append("")
    return "\n".join(lines)


def _api_index() -> str:
    pages = "\n".join(API_SUBPACKAGES)
    return (
        "# API reference\n\n"
        "The helper package `pp_vae`, one subpackage per stage of the course, from its docstrings. "
        "Every name below is importable from its subpackage (`from pp_vae.bayes import BetaBernoulli`).\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{pages}\n```\n"
    )


def run_sphinx(source: Path, out: Path, doctrees: Path | None = None, jobs: int = 1) -> Path:
    """Build ``source`` into HTML in ``out`` with Sphinx (in a subprocess); return ``out/index.html``."""
    source, out = Path(source), Path(out)
    if not (source / "conf.py").is_file():
        raise FileNotFoundError(f"no conf.py in {source}: stage the site with stage_source first")
    out.mkdir(parents=True, exist_ok=True)
    warnings = out.parent / "sphinx-warnings.log"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", str(jobs), "-w", str(warnings)]
    command += ["-d", str(doctrees or out.parent / ".doctrees"), str(source), str(out)]
    env = dict(os.environ, MPLBACKEND="Agg")
    package_root = str(Path(__file__).resolve().parent.parent.parent)  # this copy of pp_vae, for conf.py and autodoc
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        _raise_write_error(result.stderr + result.stdout)
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"Sphinx could not build the course site from {source} (exit status {result.returncode}):\n{tail}")
    index = out / "index.html"
    if not index.is_file():
        raise RuntimeError(f"Sphinx finished but wrote no {index}; see {warnings}")
    return index
