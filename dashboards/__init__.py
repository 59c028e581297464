"""Static dashboard site (Plotly, offline) built from the gold tables."""
