"""HTML pages -> PDF with a real engine: headless Chromium driven by Playwright (one browser for all pages).

Charts are drawn by plotly.js in the page, so the engine must run JavaScript and wait until every chart is
drawn before printing; the pages load nothing from the network, and any request that would leave the local
files is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
CHARTS_DRAWN = """() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"""


def chromium_path(configured: str) -> str:
    """The Chromium to use: the configured path, else one on the PATH; a clear error when none exists."""
    for candidate in (configured, shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("no Chromium found to render PDFs: install Debian's `chromium` package "
                       "(infra/bootstrap.sh does) or set OBS_CHROMIUM to its path")


def render_pdfs(pages: list[Path], chromium: str, timeout_ms: int = 60_000) -> list[Path]:
    """Print each HTML page to a PDF beside it (A4, backgrounds); returns the PDFs written."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(chromium), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                          else route.abort())
            page = context.new_page()
            for html in pages:
                page.goto(html.resolve().as_uri(), wait_until="load")
                page.wait_for_function(CHARTS_DRAWN, timeout=timeout_ms)
                page.emulate_media(media="print")
                pdf = html.with_suffix(".pdf")
                tmp = pdf.with_suffix(".pdf.part")
                page.pdf(path=str(tmp), format="A4", print_background=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
                tmp.replace(pdf)  # a PDF is either whole or absent
                out.append(pdf)
        finally:
            browser.close()
    return out
