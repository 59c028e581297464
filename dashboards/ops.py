"""The operations page of the dashboard site (``ops.html``): freshness per source, rows per table over runs,
quarantine rates per rule, run durations, Delta table versions and sizes. Offline: it uses the one copy
of plotly.js that the site writes next to it."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd
import plotly
import plotly.express as px
import plotly.graph_objects as go

from dashboards.page import PLOTLY_JS


def freshness_figure(freshness: list[dict]) -> go.Figure:
    df = pd.DataFrame(freshness or [{"source": "-", "age_days": 0, "max_age_days": 0, "breached": False}])
    df["état"] = df["breached"].map({True: "en retard", False: "à jour"})
    fig = px.bar(df, x="source", y="age_days", color="état", title="Âge du dernier fichier déposé (jours)",
                 color_discrete_map={"en retard": "#d73027", "à jour": "#1a9850"})
    fig.add_scatter(x=df["source"], y=df["max_age_days"], mode="markers", name="seuil",
                    marker={"symbol": "line-ew-open", "size": 30, "color": "black"})
    return fig


def rows_figure(rows: list[dict]) -> go.Figure:
    df = pd.DataFrame(rows or [{"written_at": None, "table": "-", "rows_written": 0}])
    return px.line(df, x="written_at", y="rows_written", color="table", markers=True,
                   title="Lignes écrites par table et par exécution")


def quarantine_figure(quarantine: list[dict]) -> go.Figure:
    rows = [{"table": q["table"], "règle": rule, "taux": rate}
            for q in quarantine for rule, rate in q["by_rule"].items()]
    df = pd.DataFrame(rows or [{"table": "-", "règle": "-", "taux": 0.0}])
    return px.bar(df, x="taux", y="règle", color="table", orientation="h",
                  title="Taux de quarantaine par règle (dernière exécution)")


def durations_figure(durations: list[dict]) -> go.Figure:
    df = pd.DataFrame(durations or [{"written_at": None, "seconds": 0, "run_id": "-"}])
    return px.bar(df, x="written_at", y="seconds", hover_data=["run_id"], title="Durée des exécutions (s)")


def tables_figure(tables: list[dict]) -> go.Figure:
    df = pd.DataFrame(tables or [{"table": "-", "version": 0, "files": 0, "bytes": 0, "last_commit": ""}])
    return go.Figure(go.Table(
        header={"values": ["table", "version", "fichiers", "taille (Mo)", "dernier commit"]},
        cells={"values": [df["table"], df["version"], df["files"], (df["bytes"] / 1e6).round(2), df["last_commit"]]}))


def ops_page(snapshot: dict, tables: list[dict], breaches: list[str]) -> str:
    figures = [freshness_figure(snapshot["freshness"]), rows_figure(snapshot["rows"]),
               quarantine_figure(snapshot["quarantine"]), durations_figure(snapshot["durations"]),
               tables_figure(tables)]
    charts = "\n".join(f'<section class="chart">{f.to_html(full_html=False, include_plotlyjs=False)}</section>'
                       for f in figures)
    alerts = "".join(f"<li>{html.escape(b)}</li>" for b in breaches) or "<li>aucun seuil dépassé</li>"
    payload = html.escape(json.dumps({"snapshot": snapshot, "tables": tables, "breaches": breaches},
                                     ensure_ascii=False, default=str), quote=False)
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Exploitation — Observatoire des clauses sociales</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{PLOTLY_JS}"></script>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}.chart{{margin:2rem 0}}</style>
</head><body>
<nav><a href="index.html">Tableau de bord</a> · <a href="qualite.html">Qualité des données</a> · Exploitation</nav>
<h1>Exploitation</h1>
<p>État au {html.escape(snapshot["at"])}.</p>
<h2>Seuils dépassés</h2><ul id="breaches">{alerts}</ul>
{charts}
<script type="application/json" id="ops-data">{payload}</script>
</body></html>
"""


def write_ops_page(snapshot: dict, tables: list[dict], breaches: list[str], out_dir: Path) -> Path:
    """Write ``ops.html``; plotly.js is copied only if the site has not written it yet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / PLOTLY_JS).is_file():
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, out_dir / PLOTLY_JS)
    page = out_dir / "ops.html"
    page.write_text(ops_page(snapshot, tables, breaches), encoding="utf-8")
    return page
