"""The HTML frame shared by every published page: site pages, periodic sheets and the annual report.

A page is offline (plotly.js is a sibling file, written once per folder), in French, and carries its
figures twice: shown (``data-key`` elements, charts) and as a JSON island (``figures-data``) that tests
compare with the gold tables.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import yaml

import schemas

PLOTLY_JS = "plotly.min.js"
SECRET = "s"  # shown instead of a suppressed figure (secret statistique)
LEGEND = ("« s » : donnée couverte par le secret statistique — trop peu de personnes concernées, une personne ou "
          "un employeur représentant l'essentiel des heures, ou donnée masquée pour qu'elle ne puisse pas être "
          "recalculée à partir des autres chiffres publiés. « n » : effectif sur lequel un taux est calculé.")
CELLS = "cellules"  # figures-data key of the sensitive figures a page shows (audited against the open data)

NAV = (
    ("index.html", "Accueil"),
    ("acheteurs.html", "Acheteurs publics"),
    ("grand_paris.html", "Grand Paris"),
    ("elus.html", "Élus"),
    ("coordinations.html", "Coordinations départementales"),
    ("partenaires.html", "Partenaires de l'insertion"),
    ("prescripteurs.html", "Prescripteurs"),
    ("qualite.html", "Qualité des données"),
    ("ops.html", "Exploitation"),
)

STYLE = """
body{font-family:system-ui,"DejaVu Sans",sans-serif;margin:1.5rem auto;max-width:1150px;padding:0 1rem;color:#222}
nav{font-size:.9rem;border-bottom:1px solid #ccc;padding-bottom:.5rem}nav a{margin-right:.8rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #386cb0}
.questions{background:#f3f6fb;padding:.6rem 1rem;border-left:4px solid #386cb0}
.kpis{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.kpi{flex:1 1 180px;border:1px solid #ddd;border-radius:6px;padding:.7rem}
.kpi .value{display:block;font-size:1.5rem;font-weight:600;color:#1b4f8c}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem}
td.num{text-align:right}.note{font-size:.85rem;color:#555}.rate .n{font-size:.8em;color:#555;white-space:nowrap}
@media print{nav{display:none}body{margin:0;max-width:none}section{break-inside:avoid}h2{break-after:avoid}}
"""


def missing(value) -> bool:
    """None, NaN or pandas' NA: a figure the page does not have (hidden by the secret, or not computable)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or (
        not isinstance(value, str) and bool(pd.isna(value)))


def number(value) -> float | None:
    """A figure as a float, or None when missing (never NaN or NA, which would print as text)."""
    return None if missing(value) else float(value)


def fmt(value: float | int | None, *, decimals: int = 0, percent: bool = False) -> str:
    """French number format (narrow no-break space for thousands, decimal comma); missing = « s »."""
    if missing(value):
        return SECRET
    if percent:
        return fmt(value * 100, decimals=1) + "\u202f%"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


class Html(str):
    """Text already in HTML (``table`` does not escape it)."""


def rate(value: float | None, n: float | None, unit: str = "") -> Html:
    """A rate with the count it is computed on: ``68,2 % (n = 88)``; « s » when either is secret."""
    shown = fmt(value, percent=True)
    base = fmt(n) + (f" {unit}" if unit and not missing(n) else "")
    return Html(f'<span class="rate">{html.escape(shown)} <span class="n">(n = {html.escape(base)})</span></span>')


@dataclass
class Kpi:
    key: str
    label: str
    value: float | int | None
    decimals: int = 0
    percent: bool = False
    n: float | int | None = None  # a rate's denominator, shown beside it
    n_unit: str = ""

    def html(self) -> str:
        if self.percent:
            shown = rate(number(self.value), self.n, self.n_unit)
        else:
            shown = html.escape(fmt(self.value, decimals=self.decimals))
        return (f'<div class="kpi"><span class="value" data-key="{html.escape(self.key)}">{shown}</span>'
                f"{html.escape(self.label)}</div>")


@dataclass
class Section:
    title: str
    text: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    table_html: str = ""

    def html(self) -> str:
        parts = [f"<section><h2>{html.escape(self.title)}</h2>"]
        if self.text:
            parts.append(f"<p>{html.escape(self.text)}</p>")
        if self.kpis:
            parts.append('<div class="kpis">' + "".join(k.html() for k in self.kpis) + "</div>")
        parts += [f'<div class="chart">{fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG)}</div>'
                  for fig in self.figures]
        parts.append(self.table_html)
        parts.append("</section>")
        return "\n".join(parts)


# No "send to Plotly cloud" / remote links: the pages work and stay offline.
CONFIG = {"displaylogo": False}


def svg_bars(title: str, labels: list[str], values: list[float | None], unit: str = "") -> str:
    """A small static bar chart (inline SVG): sheets print fast and need no JavaScript. Suppressed values
    (None) are drawn as « s » with no bar."""
    width, height, left, bottom, top = 560, 230, 60, 30, 42
    shown = [v for v in values if v is not None]
    peak = max(shown, default=0.0) or 1.0
    step = (width - left) / max(len(values), 1)
    parts = [f'<svg class="svgchart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="0" y="16" font-size="14">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#888"/>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step + step * 0.15
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - 10}" font-size="12" text-anchor="middle">'
                     f"{html.escape(label)}</text>")
        if value is None:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - bottom - 6}" font-size="12" '
                         f'text-anchor="middle">{SECRET}</text>')
            continue
        h = (height - bottom - top) * value / peak
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="#386cb0"><title>{html.escape(label)} : {fmt(value)} {html.escape(unit)}</title></rect>')
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - bottom - h - 4:.1f}" font-size="11" '
                     f'text-anchor="middle">{fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(value) -> str:
    if isinstance(value, Html):
        return value
    return html.escape("" if missing(value) else str(value))


def table(headers: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    """A plain HTML table; cells are escaped, numbers formatted by the caller."""
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_cell(c)}</td>' if i in numeric else f"<td>{_cell(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _json_safe(value):
    """JSON has no NaN: a missing figure (NaN, e.g. a rate without denominator) is written as null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(title: str, intro: str, sections: list[Section], *, questions: list[str] = (),
           data: dict | None = None, nav: bool = True, root: str = "", footer: str = "") -> str:
    """A whole HTML page; ``root`` is the path from the page to the folder holding plotly.js."""
    data = {**(data or {}), **{k.key: number(k.value) for s in sections for k in s.kpis}}
    payload = html.escape(json.dumps(_json_safe(data), ensure_ascii=False, default=str, allow_nan=False),
                          quote=False)
    menu = ""
    if nav:
        menu = "<nav>" + " ".join(f'<a href="{root}{href}">{html.escape(label)}</a>' for href, label in NAV) + "</nav>"
    asked = ""
    if questions:
        asked = ('<div class="questions"><strong>Questions traitées</strong><ul>'
                 + "".join(f"<li>{html.escape(q)}</li>" for q in questions) + "</ul></div>")
    body = "\n".join(s.html() for s in sections)
    script = f'<script src="{root}{PLOTLY_JS}"></script>' if any(s.figures for s in sections) else ""
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{script}
<style>{STYLE}</style>
</head><body>
{menu}
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
{asked}
{body}
<p class="note legend">{html.escape(LEGEND)} {html.escape(footer)}</p>
<script type="application/json" id="figures-data">{payload}</script>
</body></html>
"""


@cache
def published_keys() -> dict[str, tuple[str, ...]]:
    """The key columns of each published table (``schemas/disclosure.yaml``): a page names a figure by them."""
    policy = yaml.safe_load((Path(schemas.__file__).parent / "disclosure.yaml").read_text(encoding="utf-8"))
    return {name.split("/", 1)[-1]: tuple(t.get("keys") or ()) for name, t in policy["tables"].items()}


def _plain(value):
    if missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return value.item() if hasattr(value, "item") else value


@dataclass
class Figures:
    """The sensitive figures a page shows, each named by its table, key and measure, so that the disclosure
    audit (``jobs/publish/audit.py``) can check them against the open data: ``data[CELLS]``."""

    cells: list[dict] = field(default_factory=list)

    def take(self, df: pd.DataFrame, table: str, measures: Iterable[str]) -> pd.DataFrame:
        """Record every row's ``measures`` (the page shows them); returns ``df`` unchanged."""
        keys = published_keys()[table]
        for row in df.to_dict("records"):
            key = {k: _plain(row[k]) for k in keys}
            self.cells += [{"table": f"gold/{table}" if table != "decp_etendu" else table, "cle": key,
                            "mesure": m, "valeur": _plain(row[m])} for m in measures]
        return df
