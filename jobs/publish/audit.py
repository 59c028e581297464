"""The attacker audit of a publication, on what an outsider sees: every file read back.

Reads every open data table in its three formats (CSV, Parquet, JSON; the extended DECP's JSON document too)
and every page of the site, the sheets and the annual report (each carries its figures as JSON in
``<script id="figures-data">``, sensitive ones under ``cellules``: table, key, measure, value). A figure is
shown when any of them shows it. Then ``secrecy.audit`` computes, by linear programming over all the
published tables and their relations, the interval an outsider can infer for every hidden figure, and
compares it with the policy's protection levels.

Fails on: an interval narrower than required; a primary figure shown; a rate shown beside a hidden figure
it is computed from; the three formats of a table disagreeing; a page showing a figure that the open data
hides, that it does not hold, or with another value. The summary has counts and ratios only: the detailed
report holds true values and stays in memory.

``python -m jobs.pipeline audit-disclosure`` runs it on the last publication (``run``); the publish stage
runs it on the files it has just written, before the open data reaches the public zone.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.core.context import RunContext
from jobs.publish import linkage, opendata, secrecy

FIGURES = re.compile(r'<script type="application/json" id="figures-data">(.*?)</script>', re.S)
PAGE_FOLDERS = ("dashboards", "sheets", "reports")
CELLS = "cellules"  # the sensitive figures of a page, in its figures-data


def _file_name(table: str) -> str:
    return table.split("/", 1)[-1]


def read_table_files(folder: Path, table: str, columns: Iterable[str]) -> dict[str, pd.DataFrame]:
    """One table as published in each format (absent formats left out): the key columns as text, the
    sensitive ones as numbers."""
    name = _file_name(table)
    columns = list(columns)
    out = {}
    csv = folder / f"{name}.csv"
    if csv.exists():
        out["csv"] = pd.read_csv(csv, dtype=str, keep_default_na=False).replace("", None)
    parquet = folder / f"{name}.parquet"
    if parquet.exists():
        out["parquet"] = pd.read_parquet(parquet)
    js = folder / f"{name}.json"
    if js.exists():
        doc = json.loads(js.read_text(encoding="utf-8"))
        if isinstance(doc, dict):  # the extended DECP: its enrichment sits beside the official records
            doc = doc.get("observatoire", {}).get("marches", [])
        out["json"] = pd.DataFrame(doc)
    for fmt, df in out.items():
        for c in columns:
            if c in df.columns:
                df[c] = pd.to_numeric(df[c], errors="coerce")
        out[fmt] = df
    return out


def page_cells(output_dir: Path) -> tuple[list[dict], int]:
    """Every sensitive figure shown on a page of the site, a sheet or the report, with its page; and the
    number of pages read."""
    cells, pages = [], 0
    for folder in PAGE_FOLDERS:
        for page in sorted((output_dir / folder).glob("*.html")):
            found = FIGURES.search(page.read_text(encoding="utf-8"))
            pages += 1
            if not found:
                continue
            data = json.loads(html.unescape(found.group(1)))
            cells += [{**c, "page": f"{folder}/{page.name}"} for c in data.get(CELLS, [])]
    return cells, pages


def _same(a: float, b: float) -> bool:
    return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b)
                                            and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6))


def shown_frames(output_dir: Path, true: Mapping[str, pd.DataFrame], linked: secrecy.LinkedSet,
                 policy: secrecy.Policy) -> tuple[dict[str, pd.DataFrame], list[dict], dict]:
    """What an outsider sees of each table of the linked set, read back from the files: (frames aligned on
    the true tables' keys, a sensitive figure null when no file shows it; the inconsistencies found; counts
    of what was read)."""
    folder = output_dir / "opendata"
    failures, counts = [], {"files": 0, "pages": 0, "page_figures": 0}
    out = {}
    measures = {}
    for t in linked.tables:
        if not t.published or t.name in out:
            continue
        tp = policy.tables[t.name]
        sensitive = [m.column for m in tp.sensitive] + list(tp.derived)
        measures[t.name] = sensitive
        keys = list(tp.keys)
        base = true[t.name].reset_index(drop=True)[keys].copy()
        index = secrecy.key_index(base, keys)
        for c in sensitive:
            base[c] = np.nan
        formats = read_table_files(folder, t.name, sensitive)
        counts["files"] += len(formats)
        if not formats:
            failures.append({"table": t.name, "reason": "no published file"})
        seen = {}
        for fmt, df in formats.items():
            if df.empty and base.empty:  # nothing to show (an empty JSON array has no columns to check)
                continue
            if missing := [c for c in [*keys, *sensitive] if c not in df.columns]:
                failures.append({"table": t.name, "format": fmt, "reason": f"columns missing {missing}"})
                continue
            aligned = df.set_axis(secrecy.key_index(df, keys)).reindex(index)
            if len(df) != len(base) or aligned.index.has_duplicates:
                failures.append({"table": t.name, "format": fmt, "reason": f"{len(df)} rows for {len(base)}"})
            seen[fmt] = aligned.reset_index(drop=True)
        for c in sensitive:
            values = [f[c] for f in seen.values()]
            if not values:
                continue
            first = values[0]
            for fmt, v in zip(list(seen)[1:], values[1:], strict=True):
                differ = [i for i, (a, b) in enumerate(zip(first, v, strict=True)) if not _same(a, b)]
                if differ:
                    failures.append({"table": t.name, "measure": c, "format": fmt,
                                     "reason": f"{len(differ)} figure(s) differ between formats"})
            shown = pd.concat([v.astype(float) for v in values], axis=1).bfill(axis=1).iloc[:, 0]
            base[c] = shown.to_numpy()
        out[t.name] = base
    cells, counts["pages"] = page_cells(output_dir)
    counts["page_figures"] = len(cells)
    positions = {name: dict(zip(secrecy.key_index(df, list(policy.tables[name].keys)), range(len(df)), strict=True))
                 for name, df in out.items()}
    for cell in cells:
        name, measure, value = cell.get("table"), cell.get("mesure"), cell.get("valeur")
        where = {"table": name, "measure": measure, "page": cell["page"]}
        if name not in out or measure not in measures[name]:
            failures.append({**where, "reason": "a page shows a sensitive figure of a table outside the open data"})
            continue
        keys = list(policy.tables[name].keys)
        key = secrecy.key_index(pd.DataFrame([cell.get("cle", {})]).reindex(columns=keys), keys)[0]
        row = positions[name].get(key)
        if row is None:
            failures.append({**where, "key": key, "reason": "a page shows a figure the open data does not hold"})
            continue
        published = out[name].at[row, measure]
        if value is None:
            continue
        if pd.isna(published):
            failures.append({**where, "key": key, "reason": "a page shows a figure the open data hides"})
            out[name].at[row, measure] = value  # shown: the outsider knows it
        elif not _same(published, value):
            failures.append({**where, "key": key, "reason": "a page and the open data show different values"})
    return out, failures, counts


def _rows_hidden(true: pd.DataFrame, shown: pd.DataFrame) -> int:
    """Rows with at least one figure an outsider does not see (null where the true value is not)."""
    columns = [c for c in shown.columns if c in true.columns and pd.api.types.is_numeric_dtype(shown[c])]
    hidden = shown[columns].isna().to_numpy() & true.reset_index(drop=True)[columns].notna().to_numpy()
    return int(hidden.any(axis=1).sum())


def audit_publication(true: Mapping[str, pd.DataFrame], output_dir: Path, policy: secrecy.Policy,
                      linked: secrecy.LinkedSet | None = None) -> dict:
    """Audit the files of a publication against the true tables (``linkage.true_frames``); returns the
    summary (counts and ratios only) with ``failed`` (0 when the publication is safe)."""
    started = time.perf_counter()
    linked = linked or linkage.linked_set(true)
    shown, failures, counts = shown_frames(output_dir, true, linked, policy)
    in_set = {t.name: true[t.name] for t in linked.tables}
    report = secrecy.audit(in_set, shown, linked, policy)
    bad = report[~report["ok"].astype(bool)]
    failures += [{"table": r.table, "key": str(r.key), "measure": r.measure, "status": r.status,
                  "reason": "shown beside a hidden source" if r.status == secrecy.DERIVED else
                  "primary figure shown" if not r.hidden else "interval narrower than the protection"}
                 for r in bad.itertuples()]
    summary = secrecy.summary(report, shown, policy)
    tables = {r.table: {"shown": int(r.shown), "primary": int(r.primary), "secondary": int(r.secondary),
                        "failed": int(r.failed),
                        "narrowest": None if math.isinf(r.narrowest) else round(r.narrowest, 3),
                        "rows": len(shown[r.table]), "rows_secret": _rows_hidden(true[r.table], shown[r.table])}
              for r in summary.itertuples()}
    primary = report[(report["status"] == secrecy.PRIMARY) & (report["required"] > 0)]
    narrowest = None
    ratio = primary["width"] / primary["required"]
    ratio = ratio[ratio.map(math.isfinite)]  # an unbounded hidden figure (infinite width) is no narrowest
    if len(ratio):
        at = ratio.idxmin()
        narrowest = {"ratio": round(float(ratio[at]), 3), "table": primary.at[at, "table"],
                     "measure": primary.at[at, "measure"]}
    return {"ok": not failures, "failed": len(failures), "failures": failures[:20], **counts,
            "figures_hidden_primary": int(sum(t["primary"] for t in tables.values())),
            "figures_hidden_secondary": int(sum(t["secondary"] for t in tables.values())),
            "narrowest": narrowest, "tables": tables, "seconds": round(time.perf_counter() - started, 1)}


def run(ctx: RunContext) -> dict:
    """Reads the gold tables and the extended DECP (the true figures) and everything the last publication
    wrote under ``<output>``; writes nothing (its summary is the stage's report); raises when the audit
    fails."""
    settings, spark = ctx.settings, ctx.spark
    policy = linkage.policy_of(settings)
    gold = opendata.read_gold(spark, settings, linkage.GOLD)
    decp_flat, _, _, _ = opendata.read_decp(spark, settings)
    true = linkage.true_frames(gold, decp_flat, policy)
    checked = audit_publication(true, Path(settings.output_dir), policy)
    if checked["failed"]:
        raise RuntimeError(f"disclosure audit failed: {checked['failed']} problem(s), e.g. {checked['failures'][:3]}")
    return {"stage": "audit_disclosure", **checked}
