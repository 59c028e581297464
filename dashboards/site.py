"""Build the static dashboard site from the gold tables: offline HTML, French labels, plotly.js written once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import plotly
import plotly.express as px
import plotly.graph_objects as go

from dashboards.page import PLOTLY_JS, render
from schemas import referential as ref

CATEGORY_LABELS = {cat: label for cat, label in ref.social_consideration_categories().values()}
CATEGORY_COLORS = {"CLAUSE_SOCIALE": "#1b9e77", "CRITERE_SOCIAL": "#386cb0", "MARCHE_RESERVE": "#e6ab02",
                   "AUCUNE": "#bdbdbd", "INCONNUE": "#e5e5e5"}


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


def build_site(gold: dict[str, pd.DataFrame], out_dir: Path, *, threshold: int, year: int) -> list[Path]:
    """Write the index, one page per audience (figures of ``year`` where a page shows one year) and the
    single copy of plotly.js; return the files written."""
    from dashboards.audiences import PAGES

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
