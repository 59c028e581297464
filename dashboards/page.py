"""The HTML frame shared by every published page: site pages, periodic sheets and the annual report.

A page is offline (plotly.js is a sibling file, written once per folder), in French, and carries its
figures twice: shown (``data-key`` elements, charts) and as a JSON island (``figures-data``) that tests
compare with the gold tables.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

import plotly.graph_objects as go

PLOTLY_JS = "plotly.min.js"
SECRET = "s"  # shown instead of a suppressed figure (secret statistique)

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
td.num{text-align:right}.note{font-size:.85rem;color:#555}
@media print{nav{display:none}body{margin:0;max-width:none}section{break-inside:avoid}h2{break-after:avoid}}
"""


def fmt(value: float | int | None, *, decimals: int = 0, percent: bool = False) -> str:
    """French number format (narrow no-break space for thousands, decimal comma); ``None`` = suppressed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return SECRET
    if percent:
        return fmt(value * 100, decimals=1) + "\u202f%"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


@dataclass
class Kpi:
    key: str
    label: str
    value: float | int | None
    decimals: int = 0
    percent: bool = False

    def html(self) -> str:
        shown = fmt(self.value, decimals=self.decimals, percent=self.percent)
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
    width, height, left, bottom, top = 560, 220, 60, 30, 30
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


def table(headers: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    """A plain HTML table; cells are escaped, numbers formatted by the caller."""
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{html.escape(str(c))}</td>' if i in numeric
                         else f"<td>{html.escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
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
    data = {**(data or {}), **{k.key: k.value for s in sections for k in s.kpis}}
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
<p class="note">« {SECRET} » : donnée soumise au secret statistique (moins de personnes que le seuil de diffusion, ou
case masquée pour qu'elle ne puisse pas être déduite des totaux). {html.escape(footer)}</p>
<script type="application/json" id="figures-data">{payload}</script>
</body></html>
"""
