"""gold -> everything published: the site, the periodic sheets and the annual report (HTML + PDF, drawn by
``dashboards/``), and the open data (``<output>/opendata`` and the lake's public zone)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from dashboards.publish import publish_pages
from jobs.core.context import RunContext
from jobs.core.settings import Settings
from jobs.gold import indicators, marches
from jobs.publish import disclosure, opendata

# What the pages may show of silver: public registers and buyers (no person-level table ever leaves the lake).
PUBLIC_SILVER = {"structures": ("silver/structures", ["siret", "raison_sociale", "type_structure", "famille",
                                                      "commune", "departement", "latitude", "longitude"]),
                 "acheteurs": ("silver/acheteurs", ["siret", "nom", "categorie_acheteur", "departement"])}


def read_gold(spark, settings: Settings) -> dict:
    """Every gold table (small aggregates) and the public silver columns, as pandas frames. Tables about
    persons come protected by the same disclosure control as the open data (small cells and complements
    nulled, ``secret_statistique`` = suppressed), so a page never shows what the open data hides."""
    frames = {}
    for name in [marches.GOLD_TABLE, *indicators.PUBLISHED]:
        df = spark.read.format("delta").load(settings.table_uri(name)).toPandas()
        if name in opendata.PERSON_TABLES:
            df = opendata.protect_gold(name, df, settings.small_cell_threshold)
            df["secret_statistique"] = df[disclosure.SECRET]
        frames[name.split("/", 1)[1]] = df
    for key, (table, columns) in PUBLIC_SILVER.items():
        frames[key] = spark.read.format("delta").load(settings.table_uri(table)).select(*columns).toPandas()
    return frames


def run(ctx: RunContext) -> dict:
    """Reads the gold tables and the public silver columns; writes the site, the sheets, the report and the
    open data. Every person figure goes through the disclosure control first."""
    settings = ctx.settings
    clock = time.perf_counter()
    gold = read_gold(ctx.spark, settings)
    read_seconds = round(time.perf_counter() - clock, 2)
    pages = publish_pages(gold, Path(settings.output_dir), threshold=settings.small_cell_threshold,
                          as_of=pd.Timestamp(ctx.now).tz_localize(None), sheet_period=settings.sheet_period,
                          report_year=settings.report_year, chromium=settings.chromium, pdf=settings.publish_pdf)
    published = opendata.publish_opendata(ctx.spark, settings, ctx.run_id)
    pages["seconds_by_part"] = {"read_gold": read_seconds, **pages["seconds_by_part"], "opendata": published["seconds"]}
    return {"stage": "publish", **pages, "opendata": published}
