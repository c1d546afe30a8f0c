"""Sphinx configuration of the course site; the staged ``conf.py`` imports it, so ``sphinx-build`` works by hand too.

The builder is Sphinx with MyST-NB: it renders the notebooks as the course left them (execution is off:
``pp-vae course`` has run them already) and the Furo theme gives the table of contents, previous/next links
and search. Nothing is fetched from the network when the pages are read: MathJax 2.7 is copied into the
build from the ``jupyter-server-mathjax`` package, and its HTML-CSS output uses the STIX web fonts shipped there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

__all__ = [  # what the staged conf.py takes with `import *`: Sphinx settings and its setup hook
    "project",
    "author",
    "copyright",
    "html_title",
    "extensions",
    "exclude_patterns",
    "templates_path",
    "html_static_path",
    "html_theme",
    "html_copy_source",
    "html_show_sourcelink",
    "html_show_search_summary",
    "suppress_warnings",
    "nb_execution_mode",
    "nb_merge_streams",
    "nb_render_markdown_format",
    "myst_enable_extensions",
    "myst_heading_anchors",
    "myst_update_mathjax",
    "autodoc_member_order",
    "autodoc_inherit_docstrings",
    "autodoc_typehints",
    "autodoc_default_options",
    "mathjax_path",
    "mathjax2_config",
    "setup",
]

MATHJAX_DIR = "mathjax"
"""Folder under ``_static`` that receives MathJax (``MathJax.js``, its configs, jax, extensions and fonts)."""

project = "pp-vae"
author = "the pp-vae authors"
copyright = "the pp-vae authors, BSD-3-Clause"
html_title = "pp-vae course"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_theme = "furo"
html_copy_source = False  # the notebooks are large; the rendered pages carry everything a reader needs
html_show_sourcelink = False
# search results without snippets: a snippet is fetched from the page, which browsers refuse for a site opened from disk
html_show_search_summary = False
suppress_warnings = ["mystnb.unknown_mime_type"]  # the key-number tables are also there as markdown

# the notebooks were executed by `pp-vae course` (or saved with their outputs); never run them again here
nb_execution_mode = "off"
nb_merge_streams = True
nb_render_markdown_format = "myst"  # markdown outputs (the key-number tables) with MyST's tables and math, not bare CommonMark
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# MyST would write a MathJax 3/4 configuration; ours is MathJax 2, configured below
myst_update_mathjax = False

autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # torch's own docstrings (nn.Module.forward, ...) are not this course's API
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

# MathJax 2.7 from the build itself (relative paths are taken under _static); the combined TeX + MathML config and
# HTML-CSS output with the STIX web fonts, the only fonts the package ships. Sphinx writes math as \( \) and \[ \];
# $...$ and $$...$$ (left in raw HTML outputs) are typeset too, outside <pre> and <code>.
mathjax_path = f"{MATHJAX_DIR}/MathJax.js"
_NATIVE_MML_FONTS = {
    f"@font-face /*{i}*/": {
        "font-family": f"MathJax_{name}-WEB",
        **({"font-weight": "bold"} if bold else {}),
        "src": f"local('MathJax_{name}')",
    }
    for i, (name, bold) in enumerate(
        [("Caligraphic", False), ("Caligraphic", True), ("AMS", False), ("Script", False), ("Fraktur", False), ("Fraktur", True)], start=1
    )
}
mathjax2_config: dict[str, Any] = {
    "config": ["TeX-AMS-MML_HTMLorMML-full.js"],
    "tex2jax": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
    },
    "HTML-CSS": {"availableFonts": [], "imageFont": None, "preferredFont": None, "webFont": "STIX-Web"},
    # the fast preview (PreviewHTML) declares MathJax's TeX fonts, which the package does not ship: typeset directly
    "fast-preview": {"disabled": True},
    # the hidden MathML for screen readers (AssistiveMML, through the NativeMML output) declares MathJax's TeX fonts as
    # web fonts, which the package does not ship: point them at locally installed fonts only, so nothing is requested
    "NativeMML": {"styles": _NATIVE_MML_FONTS},
    "showMathMenu": False,
    "messageStyle": "none",
}


# Run by MathJax 2 before it starts: mathtools' small bracketed matrices, which the lectures use and MathJax 2 lacks
MATHJAX_STARTUP = """MathJax.Hub.Register.StartupHook("TeX AMSmath Ready", function () {
  var env = MathJax.InputJax.TeX.Definitions.environment;
  env.psmallmatrix = ["Array", null, "(", ")", "c", "0.333em", ".2em", "S", 1];
  env.bsmallmatrix = ["Array", null, "[", "]", "c", "0.333em", ".2em", "S", 1];
});"""


def setup(app: Any) -> dict[str, bool]:
    """Sphinx hook: add the MathJax start-up script (MathJax reads ``text/x-mathjax-config`` scripts as it starts)."""
    app.add_js_file(None, type="text/x-mathjax-config", body=MATHJAX_STARTUP)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def mathjax_source() -> Path:
    """The MathJax 2.7 folder shipped inside the ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise RuntimeError(
            "the course site needs MathJax from the jupyter-server-mathjax package: pip install jupyter-server-mathjax"
        ) from exc
    static = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
    if not (static / "MathJax.js").is_file():
        raise RuntimeError(f"jupyter-server-mathjax has no MathJax.js in {static}; reinstall it")
    return static


def copy_mathjax(static_dir: Path) -> Path:
    """Copy MathJax into ``static_dir/mathjax`` (once: an existing copy is kept) and return that folder."""
    target = Path(static_dir) / MATHJAX_DIR
    if not (target / "MathJax.js").is_file():
        shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)
    return target
