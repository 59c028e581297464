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

from dashboards.maps import choropleth
from schemas import referential as ref

CATEGORY_LABELS = {cat: label for cat, label in ref.social_consideration_categories().values()}
CATEGORY_COLORS = {"CLAUSE_SOCIALE": "#1b9e77", "CRITERE_SOCIAL": "#386cb0", "MARCHE_RESERVE": "#e6ab02",
                   "AUCUNE": "#bdbdbd", "INCONNUE": "#e5e5e5"}
PLOTLY_JS = "plotly.min.js"


# The observatory covers Île-de-France since DECP open data began (October 2018).
PERIOD_START = pd.Timestamp("2018-10-01")


def observatory_scope(gold: pd.DataFrame) -> pd.DataFrame:
    """Cells of the observatory: IDF départements (and IDF contracts not allocated), since October 2018."""
    in_idf = gold["departement"].isin([*ref.IDF_DEPARTEMENTS, "NON_VENTILE"])
    return gold[in_idf & (gold["mois"] >= PERIOD_START)]


def monthly_figure(gold: pd.DataFrame) -> go.Figure:
    df = gold[gold["consideration_sociale"] != "TOUTES"]
    df = df.groupby(["mois", "consideration_sociale"], as_index=False)["nb_marches"].sum()
    df["Considération sociale"] = df["consideration_sociale"].map(CATEGORY_LABELS)
    order = [CATEGORY_LABELS[c] for c in CATEGORY_COLORS]
    fig = px.bar(df, x="mois", y="nb_marches", color="Considération sociale",
                 category_orders={"Considération sociale": order},
                 color_discrete_map={CATEGORY_LABELS[c]: color for c, color in CATEGORY_COLORS.items()},
                 labels={"mois": "Mois de notification", "nb_marches": "Nombre de marchés"},
                 title="Marchés notifiés par mois et considération sociale")
    fig.update_layout(barmode="stack", legend_title_text="Considération sociale")
    return fig


def departement_map(gold: pd.DataFrame, geojson: dict) -> go.Figure:
    totals = gold[(gold["consideration_sociale"] == "TOUTES") & gold["departement"].isin(ref.IDF_DEPARTEMENTS)]
    totals = totals.groupby("departement").agg(nb_marches=("nb_marches", "sum"), montant=("montant_total", "sum"))
    extra = {d: f"<br>Montant : {m / 1e6:,.1f} M€".replace(",", "\u202f") for d, m in totals["montant"].items()}
    return choropleth(geojson, totals["nb_marches"].to_dict(), title="Marchés par département d'exécution",
                      value_label="Marchés", hover_extra=extra)


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
<nav><a href="index.html">Tableau de bord</a> · <a href="qualite.html">Qualité des données</a></nav>
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
    gold = observatory_scope(gold)
    totals = gold[gold["consideration_sociale"] == "TOUTES"]
    data = {
        "nb_marches_total": int(totals["nb_marches"].sum()),
        "montant_total": float(totals["montant_total"].sum()),
        "nb_marches_par_departement": {
            d: int(n) for d, n in totals.groupby("departement")["nb_marches"].sum().items()
        },
    }
    count = f"{data['nb_marches_total']:,}".replace(",", "\u202f")
    intro = (f"{count} marchés publics exécutés en Île-de-France et notifiés depuis octobre 2018 (données "
             "essentielles DECP). Les considérations sociales ne sont publiées que depuis le format 2022 (2024) : "
             "avant, elles sont « inconnues », pas « absentes ».")
    page = _page("Observatoire des clauses sociales — Île-de-France", intro,
                 [monthly_figure(gold), departement_map(gold, ref.idf_departements_geojson())], data)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return [index, out_dir / PLOTLY_JS]
