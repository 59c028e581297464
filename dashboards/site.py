"""Build the static dashboard site from the gold tables: offline HTML, French labels, plotly.js written once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import plotly

from dashboards.audiences import PAGES
from dashboards.page import PLOTLY_JS, render


def build_site(gold: dict[str, pd.DataFrame], out_dir: Path, *, threshold: int, year: int) -> list[Path]:
    """Write the index, one page per audience (figures of ``year`` where a page shows one year) and the
    single copy of plotly.js; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_plotly(out_dir)
    written = [out_dir / PLOTLY_JS]
    for build in PAGES:
        page = build(gold, threshold, year)
        path = out_dir / page.file
        path.write_text(render(page.title, page.intro, page.sections, questions=page.questions, data=page.data),
                        encoding="utf-8")
        written.append(path)
    return written


def copy_plotly(out_dir: Path) -> Path:
    """plotly.js once per folder of pages (the pages are offline: no CDN)."""
    target = out_dir / PLOTLY_JS
    js = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not target.exists() or target.stat().st_size != js.stat().st_size:
        shutil.copyfile(js, target)
    return target
