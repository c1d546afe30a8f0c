"""The course site: built from the committed notebooks (no execution) and read in headless Chromium with the network off.

The browser tests need Debian's ``chromium`` (``make test`` installs it through ``scripts/ensure-chromium``
where it can) and the ``playwright`` package; without them they are skipped, saying which is missing.
"""

import html
import json
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from pp_vae.course import list_notebooks, run_course
from pp_vae.course.summary import format_number

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# MathJax 2 reads a preset window.MathJax: record every TeX parse error and processing error on the page
MATHJAX_ERRORS = """
window.__mathjax_errors = [];
window.MathJax = {AuthorInit: function () {
  MathJax.Hub.Register.MessageHook("TeX Jax - parse error", function (m) { window.__mathjax_errors.push(String(m[1])); });
  MathJax.Hub.Register.MessageHook("Math Processing Error", function (m) { window.__mathjax_errors.push(String(m[2] || m[1])); });
}};
"""
# queued behind MathJax's start-up typesetting, so the flag is set once every formula on the page is done
MATHJAX_QUEUE_FLAG = "() => { window.__typeset = false; MathJax.Hub.Queue(() => { window.__typeset = true; }); }"
SPHINX_MATH = "span.math.notranslate, div.math.notranslate"  # Sphinx's math containers (MathJax's own spans are class "math" too)
UNTYPESET = f"() => [...document.querySelectorAll('{SPHINX_MATH}')].filter(e => !e.querySelector('script[type^=\"math/tex\"]')).length"
# MathJax 2's HTML-CSS output probes a blank font at about:blank, which Chromium refuses from a file:// page; no network involved
EXPECTED_FAILURES = ("about:blank",)
# visible text outside code, scripts and MathJax's own markup, where untypeset TeX would show
PROSE_TEXT = """() => {
  const skip = "PRE, CODE, SCRIPT, STYLE, NOSCRIPT, .MathJax, .MathJax_Display, .MathJax_Preview, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && !parent.closest(skip)) parts.push(walker.currentNode.textContent);
  }
  return parts.join(" ");
}"""
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$]*?\$|\\begin\{|\\frac|\\mathbb|\\mathrm")


def _text(html_text: str) -> str:
    """What a reader sees of ``html_text``: tags dropped, entities decoded, Sphinx's curly quotes made straight, spaces collapsed."""
    plain = html.unescape(re.sub(r"<[^>]+>", " ", html_text)).translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'})
    return " ".join(plain.split())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The course site built from the notebooks as committed (with their outputs), and how long that took."""
    out = tmp_path_factory.mktemp("course")
    start = time.perf_counter()
    results = run_course(ROOT / "notebooks", out, execute=False, readme=ROOT / "README.md")
    seconds = time.perf_counter() - start
    print(f"\nsite built from {len(results)} notebooks in {seconds:.1f} s: {out / 'site' / 'index.html'}")
    return out, results


def test_site_has_every_lecture_in_order_with_the_key_numbers_and_the_api(site):
    out, results = site
    site_dir = out / "site"
    stems = [p.stem for p in list_notebooks(ROOT / "notebooks")]
    assert [r.notebook.stem for r in results] == stems and all(r.ok for r in results)
    for stem in stems:
        assert (site_dir / "lectures" / f"{stem}.html").is_file()
    index = (site_dir / "index.html").read_text()
    positions = [index.index(f'href="lectures/{stem}.html"') for stem in stems]  # the sidebar's table of contents, in order
    assert positions == sorted(positions)
    assert "The two commands" in index  # the README is the front page
    # previous/next: each lecture links to its neighbours
    for before, page, after in zip(["index"] + stems, stems, stems[1:] + ["key_numbers"]):
        text = (site_dir / "lectures" / f"{page}.html").read_text()
        assert re.search(rf'class="prev-page" href="(\.\./)?(lectures/)?{before}\.html"', text), page
        assert re.search(rf'class="next-page" href="(\.\./)?(lectures/)?{after}\.html"', text), page
    summary = json.loads((out / "summary.json").read_text())
    numbers = _text((site_dir / "key_numbers.html").read_text())
    for stem in stems:
        assert summary[stem]["ok"] and summary[stem]["key_numbers"]
        for name, value in summary[stem]["key_numbers"].items():
            assert f"{_text(name)} {_text(format_number(value))}" in numbers, (stem, name)
    api = (site_dir / "api" / "bayes.html").read_text()
    assert 'id="pp_vae.bayes.BetaBernoulli"' in api and "posterior_predictive" in api
    assert 'id="pp_vae.vae.VAE"' in (site_dir / "api" / "vae.html").read_text()  # torch-backed modules documented too
    assert (site_dir / "searchindex.js").is_file()


def test_site_pages_load_nothing_from_the_network(site):
    out, _ = site
    resource = re.compile(r"""<(?:script|img|link|iframe|source|embed)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
    css_import = re.compile(r"""url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""", re.I)
    offenders = []
    for page in (out / "site").rglob("*.html"):
        offenders += [f"{page.name}: {m.group(0)}" for m in resource.finditer(page.read_text())]
    for sheet in (out / "site" / "_static").rglob("*.css"):
        offenders += [f"{sheet.name}: {m.group(0)}" for m in css_import.finditer(sheet.read_text(errors="replace"))]
    assert offenders == []
    assert (out / "site" / "_static" / "mathjax" / "MathJax.js").is_file()


def _browser():
    """Playwright's sync API and the Chromium executable, or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed: pip install -e '.[test]'")
    chromium = os.environ.get("PP_VAE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium executable: run scripts/ensure-chromium (apt-get install -y chromium) or set PP_VAE_CHROMIUM")
    return sync_playwright, chromium


@pytest.mark.browser
def test_site_renders_offline_in_chromium(site):
    sync_playwright, chromium = _browser()
    out, results = site
    site_dir = out / "site"
    shots = out / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = ["index.html", "key_numbers.html", "api/index.html", "api/vae.html"]
    pages += [f"lectures/{r.notebook.stem}.html" for r in results]
    problems: list[str] = []
    start = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_offline(True)

        def only_local(route):
            host = urlparse(route.request.url).hostname
            if route.request.url.startswith(("file:", "data:", "blob:")) or host in ("localhost", "127.0.0.1"):
                route.continue_()
            else:
                problems.append(f"blocked request to {route.request.url}")
                route.abort()

        context.route("**/*", only_local)
        context.add_init_script(MATHJAX_ERRORS)
        page = context.new_page()
        page.on(
            "requestfailed",
            lambda r: r.url in EXPECTED_FAILURES or problems.append(f"{page.url}: request failed: {r.url} ({r.failure})"),
        )
        page.on("pageerror", lambda e: problems.append(f"{page.url}: script error: {e}"))
        for name in pages:
            page.goto((site_dir / name).as_uri(), wait_until="load")
            formulas = page.evaluate(f"() => document.querySelectorAll('{SPHINX_MATH}').length")
            if formulas:
                assert page.evaluate("() => !!(window.MathJax && window.MathJax.Hub)"), f"{name}: has math but MathJax did not load"
                page.evaluate(MATHJAX_QUEUE_FLAG)
                page.wait_for_function("() => window.__typeset === true", timeout=60_000)
                typeset = page.evaluate("() => document.querySelectorAll('.MathJax, .MathJax_Display').length")
                untypeset = page.evaluate(UNTYPESET)
                errors = page.evaluate("() => window.__mathjax_errors")
                assert typeset > 0 and untypeset == 0 and errors == [], (
                    f"{name}: {typeset} typeset, {untypeset} left as TeX, errors {errors}"
                )
            raw = RAW_TEX.findall(page.evaluate(PROSE_TEXT))
            assert raw == [], f"{name}: raw TeX left in the rendered text: {raw[:5]}"
            images = page.evaluate("() => [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
            assert all(ok for _, ok in images), f"{name}: images that did not load: {[s for s, ok in images if not ok]}"
            if name.startswith("lectures/"):
                assert images, f"{name}: a lecture with no figure"
            page.screenshot(path=str(shots / f"{name.replace('/', '_').removesuffix('.html')}.png"), full_page=True)
        # search works from disk: the index loads and finds a word every lecture uses
        page.goto((site_dir / "search.html").as_uri() + "?q=posterior", wait_until="load")
        # Sphinx appends one result every 5 ms, then writes "Search finished": count only after that
        page.wait_for_function(
            "() => /Search finished/.test(document.querySelector('#search-results .search-summary')?.innerText || '')",
            timeout=20_000,
        )
        found = page.evaluate("() => document.querySelectorAll('#search-results li').length")
        page.screenshot(path=str(shots / "search.png"))
        browser.close()
    seconds = time.perf_counter() - start
    print(f"\n{len(pages)} pages and the search read in Chromium in {seconds:.1f} s; screenshots in {shots}")
    assert problems == []
    assert found >= len(results)


def test_a_site_or_summary_file_that_cannot_be_written_is_one_line_naming_it(tmp_path):
    from pp_vae.course.site import _raise_write_error, stage_source
    from pp_vae.course.summary import NotebookResult, write_summary
    from pp_vae.files import WriteError

    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match=f"^cannot write {tmp_path / 'file' / 'sub' / 'summary.json'}: Not a directory$"):
        write_summary([], tmp_path / "file" / "sub" / "summary.json")
    lecture = NotebookResult(notebook=Path("01_x.ipynb"), executed=Path("01_x.ipynb"), title="x", seconds=None)
    with pytest.raises(WriteError, match=f"^cannot write {tmp_path / 'file' / 'source'}: Not a directory$"):
        stage_source([lecture], tmp_path / "file" / "source")
    # Sphinx runs in a subprocess: a write it could not make is read back from its output
    with pytest.raises(WriteError, match="^cannot write /out/site/index.html: No space left on device$"):
        _raise_write_error("Exception occurred:\n  ...\nOSError: [Errno 28] No space left on device: '/out/site/index.html'\n")
    _raise_write_error("WARNING: nothing about files")
