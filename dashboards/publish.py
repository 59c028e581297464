"""Everything people read, built from the gold tables: the site, the periodic sheets and the annual report
(HTML, then PDF). Pure with respect to storage: the caller passes the gold frames in."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from dashboards.page import PLOTLY_JS
from dashboards.render import render_pdfs
from dashboards.report import build_report
from dashboards.sheets import Period, buyer_sheets, department_sheets
from dashboards.site import build_site, copy_plotly


def publish_pages(gold: dict[str, pd.DataFrame], output_dir: Path, *, threshold: int, as_of: pd.Timestamp,
                  sheet_period: str = "", report_year: int = 0, chromium: str = "", pdf: bool = True) -> dict:
    """Write ``dashboards/``, ``sheets/`` and ``reports/`` under ``output_dir``; returns what was written."""
    period = Period.parse(sheet_period) if sheet_period else Period.last_complete(as_of)
    year = report_year or as_of.year - 1
    seconds, started = {}, time.perf_counter()

    def lap(part: str) -> None:  # where publishing time goes (the benchmark reports the site on its own)
        nonlocal started
        seconds[part] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    site = build_site(gold, output_dir / "dashboards", threshold=threshold, year=year)
    lap("site")
    sheets_dir, reports_dir = output_dir / "sheets", output_dir / "reports"
    sheets_dir.mkdir(parents=True, exist_ok=True)  # sheets draw their one chart in SVG: no plotly.js
    reports_dir.mkdir(parents=True, exist_ok=True)
    copy_plotly(reports_dir)
    sheets = department_sheets(gold, period, sheets_dir) + buyer_sheets(gold, period, sheets_dir)
    report = build_report(gold, year, reports_dir, output_dir / "quality")
    lap("sheets_and_report_html")
    pdfs = render_pdfs([*sheets, report], chromium) if pdf else []
    lap("pdf")
    return {"site": [str(p) for p in site if p.name != PLOTLY_JS], "sheets": len(sheets), "sheet_period": period.label,
            "report": str(report), "report_year": year, "pdfs": len(pdfs),
            "pdf_bytes": sum(p.stat().st_size for p in pdfs), "seconds_by_part": seconds}
