"""The browsable result of ``pp-vae course``: an index of the executed lectures with their key numbers."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

from pp_vae.course.summary import NotebookResult, format_number


def write_index(results: list[NotebookResult], out_dir: Path) -> Path:
    """Write ``index.html`` (links, status, key numbers) and ``summary.json`` for ``results``."""
    out_dir = Path(out_dir)
    summary = {
        r.notebook.stem: {
            "title": r.title,
            "ok": r.ok,
            "seconds": round(r.seconds, 2),
            "error": r.error,
            "failed_cell": r.failed_cell,
            "failed_source": r.failed_source,
            "key_numbers": r.key_numbers,
        }
        for r in results
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    sections = []
    for r in results:
        status = "ran" if r.ok else f"FAILED in cell {r.failed_cell}: {html.escape(r.error or '')}"
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(format_number(v))}</td></tr>" for k, v in r.key_numbers.items())
        table = f"<table><tr><th>key number</th><th>value</th></tr>{rows}</table>" if rows else "<p>No key numbers recorded.</p>"
        sections.append(
            f'<section class="{"ok" if r.ok else "failed"}"><h2><a href="{html.escape(r.html.name)}">'
            f"{html.escape(r.title)}</a></h2><p>{html.escape(r.notebook.name)}: {status} ({r.seconds:.1f} s)</p>{table}</section>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pp-vae course</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
section {{ border-left: 4px solid #2a7; padding: 0.2rem 1rem; margin: 1.2rem 0; }}
section.failed {{ border-color: #c33; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }}
</style></head><body>
<h1>pp-vae: the course, run</h1>
<p>{sum(r.ok for r in results)} of {len(results)} lectures ran top to bottom. Generated {time.strftime("%Y-%m-%d %H:%M")}.</p>
{"".join(sections)}
</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
