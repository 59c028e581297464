"""Choropleth maps drawn as filled SVG polygons.

Plotly's tile maps (``choropleth_map``) need WebGL and a web worker that browsers refuse on ``file://``
pages and that print engines render blank; its geo maps fetch a topojson from a CDN. Filled scatter
polygons need neither: the map works offline, from a file, and in PDF.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.colors import sample_colorscale


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def choropleth(geojson: dict, values: dict[str, float], *, key: str = "code", name_key: str = "nom",
               title: str = "", value_label: str = "", colorscale: str = "Blues",
               hover_extra: dict[str, str] | None = None) -> go.Figure:
    """One filled polygon per feature, coloured by ``values[feature.properties[key]]`` (grey when absent)."""
    present = [v for v in values.values() if v is not None]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    span = (hi - lo) or 1.0
    fig = go.Figure()
    lats = []
    for feature in geojson["features"]:
        props = feature["properties"]
        code = props[key]
        value = values.get(code)
        color = sample_colorscale(colorscale, [(value - lo) / span])[0] if value is not None else "#dddddd"
        xs: list[float | None] = []
        ys: list[float | None] = []
        for ring in _rings(feature["geometry"]):
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        lats += [y for y in ys if y is not None]
        shown = "donnée absente" if value is None else f"{value:,.0f}".replace(",", "\u202f")
        extra = (hover_extra or {}).get(code, "")
        fig.add_trace(go.Scatter(
            x=xs, y=ys, fill="toself", fillcolor=color, mode="lines", line={"color": "#444", "width": 0.8},
            hoveron="fills", name=f"{props.get(name_key, code)} ({code})",
            text=f"{props.get(name_key, code)} ({code})<br>{value_label} : {shown}{extra}", hoverinfo="text",
            showlegend=False,
        ))
    # An invisible trace carries the colour bar.
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker={"colorscale": colorscale, "cmin": lo, "cmax": hi, "color": [lo],
                                     "showscale": True, "colorbar": {"title": {"text": value_label}}}))
    mean_lat = sum(lats) / len(lats) if lats else 48.7
    fig.update_xaxes(visible=False)
    # Equirectangular projection: one degree of latitude is 1/cos(lat) times one degree of longitude.
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / math.cos(math.radians(mean_lat)))
    fig.update_layout(title=title, plot_bgcolor="white", margin={"l": 10, "r": 10, "t": 50, "b": 10}, height=560)
    return fig
