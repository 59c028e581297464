"""Chart builders shared by the site, the sheets and the report (pandas in, Plotly figure out)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboards.maps import choropleth
from schemas import referential as ref

PALETTE = ["#386cb0", "#1b9e77", "#e6ab02", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"]
HOURS_PER_FTE = 1607  # legal yearly working time of a full-time job in France (35 h x 45.9 weeks)


CATEGORY_LABELS = {cat: label for cat, label in ref.social_consideration_categories().values()}
CATEGORY_COLORS = {"CLAUSE_SOCIALE": "#1b9e77", "CRITERE_SOCIAL": "#386cb0", "MARCHE_RESERVE": "#e6ab02",
                   "AUCUNE": "#bdbdbd", ref.UNKNOWN: "#e5e5e5"}


# The observatory covers Île-de-France since DECP open data began (October 2018).
PERIOD_START = pd.Timestamp(ref.DECP_START)


def observatory_scope(gold: pd.DataFrame) -> pd.DataFrame:
    """Cells of the observatory: the eight IDF départements, since October 2018. Contracts not allocated to a
    département (region, country or unknown codes) are never inside an IDF figure: they are shown apart."""
    in_idf = gold["departement"].isin(ref.IDF_DEPARTEMENTS)
    return gold[in_idf & (gold["mois"] >= PERIOD_START)]


def monthly_figure(gold: pd.DataFrame) -> go.Figure:
    df = gold[gold["consideration_sociale"] != ref.ALL]
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


def wrap(label: object, width: int = 16) -> str:
    """A category label on several lines (``<br>``) of at most ``width`` characters where it has spaces:
    long labels stay readable under a bar instead of being cut or overlapping."""
    words, lines = str(label).split(" "), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return "<br>".join(lines)


def layout(fig: go.Figure, title: str, *, x: str = "", y: str = "", height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, xaxis_title=x, yaxis_title=y, separators=", ",
                      # below everything (axis labels and title included): never over the axis
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
                      margin={"l": 60, "r": 20, "t": 60, "b": 40}, plot_bgcolor="white")
    fig.update_yaxes(gridcolor="#e5e5e5", automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def bars(df: pd.DataFrame, x: str, y: str, color: str | None, title: str, *, labels: dict[str, str] | None = None,
         x_title: str = "", y_title: str = "", barmode: str = "stack", percent: bool = False) -> go.Figure:
    """Bars of ``y`` by ``x``, one trace per value of ``color`` (labels from the referential). Rows without a
    figure (secret) are left out: the page says so beside the chart. Long category labels are wrapped; many
    long ones make the bars horizontal (labels then read on the left), a few slanted."""
    fig = go.Figure()
    df = df[df[y].notna()]
    categories = df[x].astype(str).unique() if len(df) else []
    longest = max((len(c) for c in categories), default=0)
    horizontal = len(categories) > 10 and longest > 12
    groups = [(None, df)] if color is None else list(df.groupby(color, sort=True))
    for i, (key, part) in enumerate(groups):
        part = part.sort_values(x)
        name = (labels or {}).get(key, key) if key is not None else y_title
        cats = [wrap(v, 40 if horizontal else 16) for v in part[x].astype(str)]
        values = part[y].astype(float)
        fig.add_trace(go.Bar(x=values if horizontal else cats, y=cats if horizontal else values, name=wrap(name, 40),
                             orientation="h" if horizontal else "v", marker_color=PALETTE[i % len(PALETTE)],
                             hovertemplate=("%{y} : %{x:,.1%}" if horizontal else "%{x} : %{y:,.1%}")
                             + "<extra>%{fullData.name}</extra>" if percent
                             else ("%{y} : %{x:,.0f}" if horizontal else "%{x} : %{y:,.0f}")
                             + "<extra>%{fullData.name}</extra>"))
    fig.update_layout(barmode=barmode)
    categories_axis, values_axis = (fig.update_yaxes, fig.update_xaxes) if horizontal else (fig.update_xaxes,
                                                                                           fig.update_yaxes)
    categories_axis(categoryorder="category descending" if horizontal else "category ascending")  # years in order
    if not horizontal and longest > 12 and len(categories) > 6:
        fig.update_xaxes(tickangle=-30)
    if percent:
        values_axis(tickformat=".0%")
    if horizontal:
        layout(fig, title, x=y_title, y=x_title, height=max(420, 34 * len(categories) + 160))
        fig.update_xaxes(gridcolor="#e5e5e5")
        return fig
    return layout(fig, title, x=x_title, y=y_title)


def with_target(fig: go.Figure, value: float, label: str) -> go.Figure:
    """A dashed target line across the bars (vertical when the bars are horizontal)."""
    if fig.data and getattr(fig.data[0], "orientation", None) == "h":
        fig.add_vline(x=value, line_dash="dash", line_color="#d95f02", annotation_text=label,
                      annotation_position="top")
    else:
        fig.add_hline(y=value, line_dash="dash", line_color="#d95f02", annotation_text=label,
                      annotation_position="top left")
    return fig


def dropdown(fig: go.Figure, groups: list[tuple[str, list[int]]]) -> go.Figure:
    """A dropdown that shows the traces of one group at a time (Plotly's own filter: works offline)."""
    n = len(fig.data)
    buttons = []
    for label, indices in groups:
        visible = [i in indices for i in range(n)]
        buttons.append({"label": label, "method": "update", "args": [{"visible": visible}]})
    for i, trace in enumerate(fig.data):
        trace.visible = i in groups[0][1] if groups else True
    fig.update_layout(updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top",
                                    "direction": "down", "showactive": True}])
    return fig


def departement_map(values: dict[str, float | None], title: str, value_label: str, *,
                    hover_extra: dict[str, str] | None = None) -> go.Figure:
    """Choropleth of the eight IDF départements; suppressed values (None) are drawn grey."""
    shown = {d: v for d, v in values.items() if v is not None}
    return choropleth(ref.idf_departements_geojson(), shown, title=title, value_label=value_label,
                      hover_extra=hover_extra)


def ept_map(values: dict[str, float | None], title: str, value_label: str) -> go.Figure:
    """Choropleth of the Métropole du Grand Paris by EPT: each commune takes its EPT's value."""
    attrs = ref.commune_attributes()
    geo = ref.mgp_communes_geojson()
    names = {row["ept_code"]: row["ept_nom"] for row in ref.idf_communes() if row.get("ept_code")}
    by_commune, extra = {}, {}
    for feature in geo["features"]:
        code = feature["properties"]["code"]
        ept = attrs.get(code, {}).get("ept", "")
        if values.get(ept) is not None:
            by_commune[code] = values[ept]
        extra[code] = f"<br>EPT : {names.get(ept, ept)}"
    return choropleth(geo, by_commune, title=title, value_label=value_label, hover_extra=extra)


def structures_map(structures: pd.DataFrame, title: str) -> go.Figure:
    """Structures (SIAE, EA, ESAT, GEIQ) as points over the départements, one colour per family."""
    fig = departement_map({}, title, "")
    fig.data = tuple(t for t in fig.data if t.fill == "toself")  # outlines only, no colour bar
    located = structures.dropna(subset=["latitude", "longitude"])
    for i, (family, part) in enumerate(sorted(located.groupby("famille"), key=lambda kv: kv[0])):
        fig.add_trace(go.Scatter(
            x=part["longitude"], y=part["latitude"], mode="markers", name=f"{family} ({len(part)})",
            marker={"size": 7, "color": PALETTE[i % len(PALETTE)], "line": {"width": 0.5, "color": "white"}},
            text=part["raison_sociale"] + " — " + part["type_structure"] + " (" + part["commune"].fillna("") + ")",
            hoverinfo="text",
        ))
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.05})
    return fig


def fte(hours: float | None) -> float | None:
    """Full-time equivalents of a number of hours (None stays None)."""
    return None if hours is None or (isinstance(hours, float) and math.isnan(hours)) else hours / HOURS_PER_FTE
