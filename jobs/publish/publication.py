"""gold -> everything published: the site, the periodic sheets and the annual report (HTML + PDF, drawn by
``dashboards/``), and the open data (``<output>/opendata`` and the lake's public zone).

Every published table goes through ONE protection first: the disclosure policy (``schemas/disclosure.yaml``)
applied to all tables together as a linked set (``jobs/publish/linkage.py``, ``jobs/publish/secrecy.py``).
Pages, sheets, report and open data are all drawn from the protected frames, so they show the same figures.
Then the attacker audit (``jobs/publish/audit.py``) reads back what was written, and only when it passes are
the open data files copied to the public zone.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from dashboards.publish import publish_pages
from jobs.core.context import RunContext
from jobs.core.settings import Settings
from jobs.publish import audit, linkage, opendata, secrecy

# What the pages may show of silver: public registers and buyers (no person-level table ever leaves the lake).
PUBLIC_SILVER = {"structures": ("silver/structures", ["siret", "raison_sociale", "type_structure", "famille",
                                                      "commune", "departement", "latitude", "longitude"]),
                 "acheteurs": ("silver/acheteurs", ["siret", "nom", "categorie_acheteur", "departement"])}


def protect(frames: dict[str, pd.DataFrame], policy: secrecy.Policy
            ) -> tuple[dict[str, pd.DataFrame], secrecy.Protection, secrecy.LinkedSet]:
    """Pure: the true tables -> every table as published (hidden figures null, ``secret_<column>`` and
    ``secret``; unpublished columns and helpers dropped), the protection (reasons, for the publisher) and the
    linked set. Tables without sensitive figures go through the same policy (columns checked, ``secret``)."""
    linked = linkage.linked_set(frames)
    in_set = {t.name for t in linked.tables}
    protection = secrecy.protect({n: frames[n] for n in in_set}, linked, policy)
    public = secrecy.publish({n: f for n, f in frames.items() if n not in in_set}, secrecy.NO_FIGURES, policy)
    shown = {t.name for t in linked.tables if t.published}
    return {**public, **{n: f for n, f in protection.frames.items() if n in shown}}, protection, linked


def read_public_silver(spark, settings: Settings) -> dict[str, pd.DataFrame]:
    return {key: spark.read.format("delta").load(settings.table_uri(table)).select(*columns).toPandas()
            for key, (table, columns) in PUBLIC_SILVER.items()}


def page_frames(published: dict[str, pd.DataFrame], public_silver: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """What the pages are drawn from: the protected tables by short name, and the public silver columns."""
    return {**{n.split("/", 1)[1]: df for n, df in published.items() if n.startswith("gold/")},
            linkage.DECP: published[linkage.DECP], **public_silver}


def run(ctx: RunContext) -> dict:
    """Reads the gold tables, the extended DECP (silver, bronze) and the public silver columns; protects every
    published figure as one linked set; writes the site, the sheets, the report and the open data; audits
    what was written (read back from the files); copies the open data to the public zone when the audit
    passes (raises otherwise)."""
    settings, spark = ctx.settings, ctx.spark
    policy = linkage.policy_of(settings)
    seconds = {}
    clock = time.perf_counter()
    gold = opendata.read_gold(spark, settings, linkage.GOLD)
    decp_flat, officials, excluded, n_contracts = opendata.read_decp(spark, settings)
    public_silver = read_public_silver(spark, settings)
    seconds["read"] = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    frames = linkage.true_frames(gold, decp_flat, policy)
    published, protection, linked = protect(frames, policy)
    seconds["protection"] = round(time.perf_counter() - clock, 2)
    pages = publish_pages(page_frames(published, public_silver), Path(settings.output_dir),
                          threshold=policy.threshold, as_of=pd.Timestamp(ctx.now).tz_localize(None),
                          sheet_period=settings.sheet_period, report_year=settings.report_year,
                          chromium=settings.chromium, pdf=settings.publish_pdf)
    decp_published = opendata.with_protected(decp_flat, published.pop(linkage.DECP))
    keys = {n: tp.keys for n, tp in policy.tables.items()}
    written = opendata.write_opendata(settings, ctx.run_id, published, decp_published, officials, excluded,
                                    n_contracts, keys, policy.threshold)
    checked = audit.audit_publication(frames, Path(settings.output_dir), policy, linked)
    seconds["audit"] = checked["seconds"]
    if checked["failed"]:
        raise RuntimeError(f"disclosure audit failed: {checked['failed']} figure(s) recoverable or shown while "
                           f"secret, e.g. {checked['failures'][:3]}; the open data was not copied to the public zone")
    open_data = opendata.publish_to_public_zone(settings, written)
    seconds = {**seconds, **pages["seconds_by_part"], "opendata": open_data["seconds"]}
    pages["seconds_by_part"] = seconds
    return {"stage": "publish", **pages, "opendata": open_data, "disclosure_audit": checked,
            "protection": protection_summary(protection)}


def protection_summary(protection: secrecy.Protection) -> dict:
    """Per table, the figures hidden as primary and as complementary secrets (no value: counts only)."""
    f = protection.figures
    out = {}
    for table, mine in f.groupby("table"):
        out[table] = {"figures": len(mine), "primaire": int((mine["status"] == secrecy.PRIMARY).sum()),
                      "complementaire": int((mine["status"] == secrecy.SECONDARY).sum())}
    return out
