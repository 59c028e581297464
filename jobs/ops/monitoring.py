"""Monitoring of the lake: freshness per source, rows per table over runs, quarantine rates, run durations,
Delta table versions and sizes; thresholds from the settings (``OBS_FRESHNESS_*``, ``OBS_MAX_QUARANTINE_RATE``).

Pure functions turn manifests and run reports into figures and breaches; reading them (and the Delta
details, which need Spark) happens at the edges. A breach makes the monitoring DAG's check task fail.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from dashboards.ops import write_ops_page
from jobs.core.settings import Settings
from jobs.core.spark import get_spark
from jobs.core.storage import ObjectStore
from jobs.ingest.landing import read_manifest
from schemas.sources import SOURCES

SOURCE_OF_TABLE = {"decp": "decp", "facilitateurs": "facilitateurs", "grand": "grand_paris",
                   "structures": "structures", "sirene": "sirene"}
TABLE_ZONES = ("bronze", "silver", "gold", "quarantine", "quality")


class ThresholdBreached(RuntimeError):
    """Raised by a check task, so it shows red in the Airflow UI."""


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def source_of(table: str) -> str | None:
    """``bronze/facilitateurs_heures`` -> ``facilitateurs``; None for other zones."""
    zone, _, name = table.partition("/")
    return SOURCE_OF_TABLE.get(name.split("_")[0]) if zone == "bronze" else None


def freshness(manifests: dict[str, list[dict]], reports: list[dict], now: datetime, settings: Settings) -> list[dict]:
    """Per source: last file landed (manifest), last successful load into bronze (run reports), the age of
    the last file in days and whether it breaches the source's threshold (no file at all breaches too)."""
    loaded: dict[str, datetime] = {}
    for report in reports:
        for table in report.get("tables", []):
            source = source_of(table["table"])
            when = _time(report.get("written_at"))
            if source and when and (source not in loaded or when > loaded[source]):
                loaded[source] = when
    rows = []
    for source, entries in sorted(manifests.items()):
        last = max((_time(e["landed_at"]) for e in entries), default=None)
        age = (now - last).total_seconds() / 86400 if last else None
        max_days = settings.max_age_days(source)
        rows.append({"source": source, "files": len(entries), "last_landed": last.isoformat() if last else None,
                     "last_loaded": loaded[source].isoformat() if source in loaded else None,
                     "age_days": round(age, 2) if age is not None else None, "max_age_days": max_days,
                     "breached": age is None or age > max_days})
    return rows


def rows_over_time(reports: list[dict]) -> list[dict]:
    """(run, time, table, rows written, rows quarantined) of every table of every run report."""
    return sorted(({"run_id": r["run_id"], "written_at": r.get("written_at"), "table": t["table"],
                    "rows_written": t["rows_written"], "rows_quarantined": t["rows_quarantined"]}
                   for r in reports for t in r.get("tables", [])), key=lambda x: (x["written_at"] or "", x["table"]))


def latest_per_table(reports: list[dict]) -> dict[str, dict]:
    """The latest run report row of each table (reports in time order)."""
    latest: dict[str, dict] = {}
    for r in sorted(reports, key=lambda r: r.get("written_at") or ""):
        for t in r.get("tables", []):
            latest[t["table"]] = {**t, "run_id": r["run_id"]}
    return latest


def quarantine_rates(reports: list[dict], settings: Settings) -> list[dict]:
    """Per table of the latest run: quarantine rate and its rules' rates; breached above the threshold."""
    rows = []
    for table, t in sorted(latest_per_table(reports).items()):
        if table.startswith("gold/") or not t.get("rows_in"):
            continue
        rate = t["rows_quarantined"] / t["rows_in"]
        rules = (t.get("details") or {}).get("quarantine_by_rule") or {}
        rows.append({"table": table, "run_id": t["run_id"], "rows_in": t["rows_in"],
                     "rows_quarantined": t["rows_quarantined"], "rate": round(rate, 4),
                     "by_rule": {rule: round(n / t["rows_in"], 4) for rule, n in sorted(rules.items())},
                     "max_rate": settings.max_quarantine_rate, "breached": rate > settings.max_quarantine_rate})
    return rows


def run_durations(reports: list[dict]) -> list[dict]:
    """Seconds per run (sum of its stages' seconds) and per stage."""
    out = []
    for r in sorted(reports, key=lambda r: r.get("written_at") or ""):
        stages = {s["stage"]: s["seconds"] for s in r.get("stages", []) if s.get("seconds") is not None}
        out.append({"run_id": r["run_id"], "written_at": r.get("written_at"),
                    "seconds": round(sum(stages.values()), 1), "stages": stages})
    return out


def breaches(snapshot: dict) -> list[str]:
    """Readable messages of every breached threshold of a snapshot."""
    out = [f"source {f['source']}: last file landed {f['last_landed'] or 'never'} "
           f"(age {f['age_days']} d > {f['max_age_days']} d)" for f in snapshot["freshness"] if f["breached"]]
    out += [f"table {q['table']}: quarantine rate {q['rate']:.1%} > {q['max_rate']:.1%} (run {q['run_id']})"
            for q in snapshot["quarantine"] if q["breached"]]
    return out


# ---- I/O at the edges ------------------------------------------------------------------------------------

def load_reports(settings: Settings) -> list[dict]:
    runs = Path(settings.output_dir) / "runs"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def load_manifests(settings: Settings, sources: tuple[str, ...]) -> dict[str, list[dict]]:

    return {source: read_manifest(settings, source) for source in sources}


def snapshot(settings: Settings, now: datetime, sources: tuple[str, ...]) -> dict:
    """Every figure that needs no Spark (the checks use only this)."""
    reports = load_reports(settings)
    return {"at": now.isoformat(), "freshness": freshness(load_manifests(settings, sources), reports, now, settings),
            "quarantine": quarantine_rates(reports, settings), "rows": rows_over_time(reports),
            "durations": run_durations(reports)}


def check(snapshot_: dict, kind: str) -> dict:
    """Raise ThresholdBreached when a threshold of ``kind`` (freshness, quarantine) is breached."""
    found = breaches({"freshness": snapshot_["freshness"] if kind == "freshness" else [],
                      "quarantine": snapshot_["quarantine"] if kind == "quarantine" else []})
    if found:
        raise ThresholdBreached("; ".join(found))
    return {"checked": kind, "ok": True}


def list_tables(settings: Settings) -> list[str]:
    """Names (``zone/table``) of the lake's Delta tables, found by their ``_delta_log``."""

    store = ObjectStore(settings)
    names = set()
    for zone in TABLE_ZONES:
        for uri in store.list(settings.zone_uri(zone)):
            head, sep, _ = uri.partition("/_delta_log/")
            if sep:
                names.add(head[len(settings.lake_uri) + 1:])
    return sorted(names)


def table_stats(spark, settings: Settings) -> list[dict]:
    """Version, files, size and last commit of every Delta table (``DESCRIBE DETAIL`` and history)."""
    from delta.tables import DeltaTable

    out = []
    for name in list_tables(settings):
        table = DeltaTable.forPath(spark, settings.table_uri(name))
        detail = table.detail().collect()[0]
        last = table.history(1).collect()[0]
        out.append({"table": name, "version": last["version"], "files": detail["numFiles"],
                    "bytes": detail["sizeInBytes"], "last_operation": last["operation"],
                    "last_commit": last["timestamp"].isoformat()})
    return out


# ---- entry points of the monitoring DAG -------------------------------------------------------------------

def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC).replace(microsecond=0)


def run_check(kind: str, sources: tuple[str, ...] = SOURCES, settings: Settings | None = None,
              now: datetime | None = None) -> dict:
    settings = settings or Settings.from_env()
    return check(snapshot(settings, now or _now(), sources), kind)


def run_table_stats(settings: Settings | None = None) -> Path:
    """Delta details of every table into ``<output>/ops/tables.json`` (read by the ops page)."""

    settings = settings or Settings.from_env()
    path = Path(settings.output_dir) / "ops" / "tables.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table_stats(get_spark(settings), settings), indent=1), encoding="utf-8")
    return path


def run_ops_page(settings: Settings | None = None, now: datetime | None = None) -> Path:
    """``<output>/dashboards/ops.html`` from the snapshot and the last table details (if any)."""
    settings = settings or Settings.from_env()
    snap = snapshot(settings, now or _now(), SOURCES)
    tables_file = Path(settings.output_dir) / "ops" / "tables.json"
    tables = json.loads(tables_file.read_text(encoding="utf-8")) if tables_file.is_file() else []
    return write_ops_page(snap, tables, breaches(snap), Path(settings.output_dir) / "dashboards")
