"""The pipeline's stages, called by the Airflow tasks (and by ``python -m jobs.pipeline`` for debugging).

Each stage returns its counts; ``write_run_report`` gathers them into ``<output>/runs/<run id>.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from jobs.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


SOURCES = ("decp", "facilitateurs", "grand_paris", "structures", "sirene")


def download_source(source: str, run_id: str, settings: Settings | None = None) -> dict:
    """Fetch the source's configured URLs (``OBS_DOWNLOADS_FILE``) into the inbox."""
    from jobs.download import download_all, load_specs

    settings = settings or Settings.from_env()
    report = download_all(load_specs(settings.downloads_file), settings.inbox_path, source)
    return {"stage": "download", **report}


def land_source(source: str, run_id: str, settings: Settings | None = None, since: str | None = None,
                until: str | None = None) -> dict:
    """Land the source's inbox: undated files and the month folders in [since, until] (``YYYY-MM``)."""
    from jobs.landing import land_inbox

    settings = settings or Settings.from_env()
    result = land_inbox(settings, source, run_id, _now(), since=since, until=until)
    return {"stage": "landing", "source": source, "since": since, "until": until,
            "landed": len(result.landed), "skipped": len(result.skipped),
            "refused": result.refused, "files": [e["key"] for e in result.landed]}


def _stage_lock(settings: Settings, stage: str):
    """The stage's writer lock, held from reading its inputs to its last commit: two runs of one stage
    (two months at once) would otherwise both load the same pending files, or write from stale reads."""
    from jobs import faults
    from jobs.locks import table_lock

    faults.barrier(stage)
    return table_lock(settings, f"_stages/{stage}")


def _spark_stage(module, run_id: str, settings: Settings | None) -> dict:
    from jobs.spark import get_spark

    settings = settings or Settings.from_env()
    spark = get_spark(settings)
    started = _now()
    with _stage_lock(settings, module.__name__.rsplit(".", 1)[-1]):
        report = module.run(spark, settings, run_id, started)
    report.update(stage=module.__name__.rsplit(".", 1)[-1], seconds=(_now() - started).total_seconds())
    return report


def bronze_decp(run_id: str, settings: Settings | None = None) -> dict:
    from jobs import bronze_decp as module

    return _spark_stage(module, run_id, settings)


def bronze_source(source: str, run_id: str, settings: Settings | None = None) -> dict:
    """Landed files of a source -> its bronze table(s)."""
    if source == "decp":
        return bronze_decp(run_id, settings)
    from jobs.bronze_sources import run_source
    from jobs.spark import get_spark

    settings = settings or Settings.from_env()
    started = _now()
    with _stage_lock(settings, f"bronze_{source}"):
        tables = run_source(get_spark(settings), settings, source, run_id, started)
    return {"stage": f"bronze_{source}", "source": source, "tables": tables,
            "seconds": (_now() - started).total_seconds()}


def bronze_sources(run_id: str, settings: Settings | None = None, sources: tuple[str, ...] = SOURCES) -> list[dict]:
    """Bronze of several sources in one Spark session (the monthly DAG's one bronze task)."""
    return [bronze_source(source, run_id, settings) for source in sources]


def silver_marches(run_id: str, settings: Settings | None = None) -> dict:
    from jobs import silver_marches as module

    return _spark_stage(module, run_id, settings)


def silver_sources(run_id: str, settings: Settings | None = None) -> dict:
    """Facilitators' exports, structures, SIRENE and Grand Paris -> silver (+ quarantine, values to map)."""
    from jobs import silver_sources as module

    return _spark_stage(module, run_id, settings)


def entity_resolution(run_id: str, settings: Settings | None = None) -> dict:
    from jobs import entity_resolution as module

    return _spark_stage(module, run_id, settings)


def gold_marches(run_id: str, settings: Settings | None = None) -> dict:
    from jobs import gold_marches as module

    report = _spark_stage(module, run_id, settings)
    if report["details"]["contracts_counted"] != report["rows_in"]:
        raise RuntimeError(f"gold counts {report['details']['contracts_counted']} contracts, silver has "
                           f"{report['rows_in']}")
    return report


def gold_indicators(run_id: str, settings: Settings | None = None) -> dict:
    """The observatory's indicators (hours, beneficiaries, contracts by type, outcomes, Grand Paris charter)."""
    from jobs import gold_indicators as module

    return _spark_stage(module, run_id, settings)


def run_file_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") + ".json"


def write_run_report(run_id: str, stages: list[dict], settings: Settings | None = None) -> Path:
    """Rows in, written and quarantined per table; ``balanced`` says whether in = written + quarantined."""
    settings = settings or Settings.from_env()
    tables = []
    for s in [t for stage in stages for t in (stage.get("tables") or [stage])]:
        if "table" not in s:
            continue
        row = {k: s[k] for k in ("table", "rows_in", "rows_written", "rows_quarantined")}
        # Gold cells aggregate rows (in != written by design); their conservation checks run in the jobs.
        row["balanced"] = s["table"].startswith("gold/") or s["rows_in"] == s["rows_written"] + s["rows_quarantined"]
        row["details"] = s.get("details", {})
        tables.append(row)
    report = {
        "run_id": run_id,
        "written_at": _now().isoformat(),
        "lake_uri": settings.lake_uri,
        "tables": tables,
        "stages": stages,
        "balanced": all(t["balanced"] for t in tables),
    }
    path = Path(settings.output_dir) / "runs" / run_file_name(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    from dashboards.quality import write_quality

    write_quality({**report, "run_file": path.name}, path.parent, Path(settings.output_dir))
    if not report["balanced"]:
        raise RuntimeError(f"run {run_id}: rows in != written + quarantined, see {path}")
    return path


# What the pages may show of silver: public registers and buyers (no person-level table ever leaves the lake).
PUBLIC_SILVER = {"structures": ("silver/structures", ["siret", "raison_sociale", "type_structure", "famille",
                                                      "commune", "departement", "latitude", "longitude"]),
                 "acheteurs": ("silver/acheteurs", ["siret", "nom", "categorie_acheteur", "departement"])}


def read_gold(spark, settings: Settings) -> dict:
    """Every gold table (small aggregates) and the public silver columns, as pandas frames. Tables about
    persons come protected by the same disclosure control as the open data (small cells and complements
    nulled, ``secret_statistique`` = suppressed), so a page never shows what the open data hides."""
    from jobs import disclosure, gold_indicators, gold_marches, opendata

    names = [gold_marches.GOLD_TABLE, *gold_indicators.PUBLISHED]
    frames = {}
    for name in names:
        df = spark.read.format("delta").load(settings.table_uri(name)).toPandas()
        if name in opendata.PERSON_TABLES:
            df = opendata.protect_gold(name, df, settings.small_cell_threshold)
            df["secret_statistique"] = df[disclosure.SECRET]
        frames[name.split("/", 1)[1]] = df
    for key, (table, columns) in PUBLIC_SILVER.items():
        frames[key] = spark.read.format("delta").load(settings.table_uri(table)).select(*columns).toPandas()
    return frames


def publish(run_id: str, settings: Settings | None = None, as_of: datetime | None = None) -> dict:
    """Everything published from gold: the site, the periodic sheets and the annual report (HTML + PDF),
    and the open data (``<output>/opendata`` and the lake's public zone)."""
    import pandas as pd

    from dashboards.publish import publish_pages
    from jobs.monitoring import run_ops_page
    from jobs.opendata import publish_opendata
    from jobs.spark import get_spark

    settings = settings or Settings.from_env()
    spark = get_spark(settings)
    started = _now()
    clock = time.perf_counter()
    gold = read_gold(spark, settings)
    read_seconds = round(time.perf_counter() - clock, 2)
    pages = publish_pages(gold, Path(settings.output_dir), threshold=settings.small_cell_threshold,
                          as_of=pd.Timestamp(as_of or started).tz_localize(None), sheet_period=settings.sheet_period,
                          report_year=settings.report_year, chromium=settings.chromium, pdf=settings.publish_pdf)
    opendata = publish_opendata(spark, settings, run_id)
    ops = run_ops_page(settings)  # refreshed by the monitoring DAG too; here so the site never links to nothing
    pages["seconds_by_part"] = {"read_gold": read_seconds, **pages["seconds_by_part"], "opendata": opendata["seconds"]}
    return {"stage": "publish", **pages, "ops_page": str(ops), "opendata": opendata,
            "seconds": (_now() - started).total_seconds()}


STAGES = {"silver": silver_marches, "silver_sources": silver_sources, "resolution": entity_resolution,
          "gold": gold_marches, "gold_indicators": gold_indicators, "publish": publish}


def run_all(run_id: str, settings: Settings | None = None, since: str | None = None,
            until: str | None = None) -> Path:
    """Every source (download, land, bronze), then silver, gold and publish; returns the run report.

    With ``since``/``until`` (``YYYY-MM``) it is the bulk backfill: the month folders of the range are
    landed at once and go through one Spark session (same tables as one Airflow run per month)."""
    stages = []
    for source in SOURCES:
        stages += [download_source(source, run_id, settings),
                   land_source(source, run_id, settings, since=since, until=until),
                   bronze_source(source, run_id, settings)]
    stages += [fn(run_id, settings) for name, fn in STAGES.items() if name != "publish"]
    write_run_report(run_id, stages, settings)  # the report's data-quality section reads this run's figures
    return write_run_report(run_id, [*stages, publish(run_id, settings)], settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=["download", "land", "bronze", *STAGES, "all"])
    parser.add_argument("--source", choices=SOURCES, default="decp", help="for download, land and bronze")
    parser.add_argument("--run-id", default=f"cli__{_now():%Y%m%dT%H%M%S}")
    parser.add_argument("--from", dest="since", metavar="YYYY-MM", help="land and all: first month folder")
    parser.add_argument("--to", dest="until", metavar="YYYY-MM", help="land and all: last month folder")
    args = parser.parse_args()
    for bound in (args.since, args.until):
        if bound and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", bound):
            parser.error(f"months are YYYY-MM, got {bound!r}")
    per_source = {"download": download_source, "land": land_source, "bronze": bronze_source}
    if args.stage == "all":
        print(run_all(args.run_id, since=args.since, until=args.until))
    elif args.stage == "land":
        print(json.dumps(land_source(args.source, args.run_id, since=args.since, until=args.until), indent=2))
    elif args.stage in per_source:
        print(json.dumps(per_source[args.stage](args.source, args.run_id), indent=2, default=str))
    else:
        print(json.dumps(STAGES[args.stage](args.run_id), indent=2, default=str))


if __name__ == "__main__":
    main()
