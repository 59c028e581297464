"""Build the static dashboard site from gold tables: offline HTML, French labels, plotly.js written once."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd
import plotly
import plotly.express as px
import plotly.graph_objects as go

from schemas import referential as ref

CATEGORY_LABELS = {cat: label for cat, label in ref.social_consideration_categories().values()}
PLOTLY_JS = "plotly.min.js"


def _bounds(geojson: dict) -> tuple[float, float, float, float]:
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], int | float):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def monthly_figure(gold: pd.DataFrame) -> go.Figure:
    df = gold[gold["consideration_sociale"] != "TOUTES"]
    df = df.groupby(["mois", "consideration_sociale"], as_index=False)["nb_marches"].sum()
    df["Considération sociale"] = df["consideration_sociale"].map(CATEGORY_LABELS)
    fig = px.bar(df, x="mois", y="nb_marches", color="Considération sociale",
                 labels={"mois": "Mois de notification", "nb_marches": "Nombre de marchés"},
                 title="Marchés notifiés par mois et considération sociale")
    fig.update_layout(barmode="stack", legend_title_text="Considération sociale")
    return fig


def departement_map(gold: pd.DataFrame, geojson: dict) -> go.Figure:
    totals = gold[(gold["consideration_sociale"] == "TOUTES") & gold["departement"].isin(ref.IDF_DEPARTEMENTS)]
    totals = totals.groupby("departement", as_index=False).agg(
        nb_marches=("nb_marches", "sum"), montant_total=("montant_total", "sum"))
    totals["nom"] = totals["departement"].map(ref.departements())
    totals["montant_meur"] = (totals["montant_total"] / 1e6).round(1)
    x0, y0, x1, y1 = _bounds(geojson)
    fig = px.choropleth_map(
        totals, geojson=geojson, locations="departement", featureidkey="properties.code", color="nb_marches",
        hover_name="nom", hover_data={"departement": True, "montant_meur": True, "nb_marches": True},
        labels={"nb_marches": "Marchés", "montant_meur": "Montant (M€)", "departement": "Département"},
        map_style="white-bg", center={"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2}, zoom=7.2, opacity=0.8,
        color_continuous_scale="Blues", title="Marchés par département d'exécution (toute la période)",
    )
    fig.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return fig


def _page(title: str, intro: str, figures: list[go.Figure], data: dict) -> str:
    payload = html.escape(json.dumps(data, ensure_ascii=False), quote=False)
    charts = "\n".join(
        f'<section class="chart">{fig.to_html(full_html=False, include_plotlyjs=False)}</section>' for fig in figures
    )
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{PLOTLY_JS}"></script>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}.chart{{margin:2rem 0}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
{charts}
<script type="application/json" id="figures-data">{payload}</script>
</body></html>
"""


def build_site(gold: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write ``index.html`` and the single copy of plotly.js into ``out_dir``; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    shutil.copyfile(js, out_dir / PLOTLY_JS)
    gold = gold.copy()
    gold["mois"] = pd.to_datetime(gold["mois"])
    totals = gold[gold["consideration_sociale"] == "TOUTES"]
    data = {
        "nb_marches_total": int(totals["nb_marches"].sum()),
        "montant_total": float(totals["montant_total"].sum()),
        "nb_marches_par_departement": {
            d: int(n) for d, n in totals.groupby("departement")["nb_marches"].sum().items()
        },
    }
    intro = (f"{data['nb_marches_total']:,} marchés publics (données essentielles DECP), dont l'exécution "
             "est localisée par département. Les considérations sociales ne sont publiées que depuis le format 2022 "
             "(2024) : avant, elles sont « inconnues », pas « absentes.»").replace(",", "\u202f")
    page = _page("Observatoire des clauses sociales — Île-de-France", intro,
                 [monthly_figure(gold), departement_map(gold, ref.idf_departements_geojson())], data)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return [index, out_dir / PLOTLY_JS]
