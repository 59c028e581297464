"""The stage registry and the command line: which stage runs which job, in which order.

Airflow's tasks (``dags/``) and ``python -m jobs.pipeline`` call the functions here and nothing else. Each
stage's ``run(ctx)`` (in its layer's package) says what it reads and writes; here a stage gets its context,
its writer lock and its progress line, and returns its report, which ``write_run_report`` gathers into
``<output>/runs/<run id>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType

from jobs.core import hooks, stage_state
from jobs.core.context import RunContext, utc_now
from jobs.core.jsonsafe import json_safe
from jobs.core.progress import progress
from jobs.core.settings import Settings
from jobs.ops.alerts import on_failure
from schemas.sources import SOURCES

# The job module of each stage, imported when the stage runs: the DAG file imports this registry at every
# parse, and the jobs bring in Spark, pandas and Plotly (seconds of start-up a parse does not need).
JOBS = {
    "download": "jobs.ingest.download", "land": "jobs.ingest.landing",
    "bronze_decp": "jobs.bronze.decp", "bronze_sources": "jobs.bronze.sources",
    "silver_marches": "jobs.silver.marches", "silver_sources": "jobs.silver.sources",
    "entity_resolution": "jobs.silver.resolution",
    "gold_marches": "jobs.gold.marches", "gold_indicators": "jobs.gold.indicators",
    "publish": "jobs.publish.publication", "audit_disclosure": "jobs.publish.audit",
    "run_report": "jobs.ops.run_report", "monitoring": "jobs.ops.monitoring", "maintenance": "jobs.ops.maintenance",
    "rotate_key": "jobs.ops.rotate_key", "locks": "jobs.core.locks",
    "profile": "jobs.ingest.profile",
}


def job(name: str) -> ModuleType:
    return importlib.import_module(JOBS[name])


__all__ = ["SOURCES", "STAGES", "audit_disclosure", "on_failure", "run_all", "write_run_report"]


def _ctx(run_id: str, settings: Settings | None, now: datetime | None = None) -> RunContext:
    return RunContext(settings or Settings.from_env(), run_id, now or utc_now())


def _locked(ctx: RunContext, stage: str, stage_run: Callable[[RunContext], dict]):
    """Run a Spark stage under its writer lock, held from reading its inputs to its last commit: two runs of
    one stage (two months at once) would otherwise both load the same pending files, or write from stale reads."""
    hooks.before_stage(stage)
    with progress(stage) as step, job("locks").table_lock(ctx.settings, f"_stages/{stage}"):
        started = time.perf_counter()
        before = stage_state.lake_versions(ctx) if stage in stage_state.SKIPPABLE else None
        reused = stage_state.reusable(ctx, stage, before) if before is not None else None
        report = step.report = reused or stage_run(ctx)
        if isinstance(report, dict):
            report.setdefault("stage", stage)
            report["seconds"] = round(time.perf_counter() - started, 1)
        report = json_safe(report)
        if before is not None and not reused:
            stage_state.record(ctx, stage, before, report)
    return report


# --- stages --------------------------------------------------------------------------------------------

def download_source(source: str, run_id: str, settings: Settings | None = None) -> dict:
    """Fetch the source's configured URLs (``OBS_DOWNLOADS_FILE``) into the inbox."""
    ctx = _ctx(run_id, settings)
    with progress(f"download {source}") as step:
        step.report = job("download").run(ctx, source)
    return step.report


def land_source(source: str, run_id: str, settings: Settings | None = None, since: str | None = None,
                until: str | None = None) -> dict:
    """Land the source's inbox: undated files and the month folders in [since, until] (``YYYY-MM``)."""
    ctx = _ctx(run_id, settings)
    with progress(f"land {source}") as step:
        step.report = job("land").run(ctx, source, since=since, until=until)
    return step.report


def check_declarations(settings: Settings | None = None) -> int:
    """The facilitators' declarations (``OBS_SOURCES_DIR``) are readable and right, or ``DeclarationError``
    says, for each problem, the file, the key and what is expected; checked before any stage that reads them
    starts, so that wrong declarations load nothing. Returns how many facilitators are declared."""
    from jobs.ingest.tabular import contract_for

    return len(contract_for(settings or Settings.from_env(), "facilitateurs").declarations)


def bronze_source(source: str, run_id: str, settings: Settings | None = None) -> dict:
    """Landed files of a source -> its bronze table(s)."""
    ctx = _ctx(run_id, settings)
    if source == "facilitateurs":
        check_declarations(ctx.settings)
    if source == "decp":
        return _locked(ctx, "bronze_decp", job("bronze_decp").run)
    started = time.perf_counter()
    report = _locked(ctx, f"bronze_{source}", lambda c: job("bronze_sources").run(c, source))
    return {"stage": f"bronze_{source}", "source": source, "tables": report["tables"],
            **{k: v for k, v in report.items() if k == "one_file_exports"},
            "seconds": round(time.perf_counter() - started, 1)}


def bronze_decp(run_id: str, settings: Settings | None = None) -> dict:
    return bronze_source("decp", run_id, settings)


def bronze_sources(run_id: str, settings: Settings | None = None, sources: tuple[str, ...] = SOURCES) -> list[dict]:
    """Bronze of several sources in one Spark session (the monthly DAG's one bronze task)."""
    if "facilitateurs" in sources:
        check_declarations(settings)
    return [bronze_source(source, run_id, settings) for source in sources]


def silver_marches(run_id: str, settings: Settings | None = None) -> dict:
    return _locked(_ctx(run_id, settings), "silver_marches", job("silver_marches").run)


def silver_sources(run_id: str, settings: Settings | None = None) -> dict:
    return _locked(_ctx(run_id, settings), "silver_sources", job("silver_sources").run)


def entity_resolution(run_id: str, settings: Settings | None = None) -> dict:
    return _locked(_ctx(run_id, settings), "entity_resolution", job("entity_resolution").run)


def gold_marches(run_id: str, settings: Settings | None = None) -> dict:
    report = _locked(_ctx(run_id, settings), "gold_marches", job("gold_marches").run)
    if report["details"]["contracts_counted"] != report["rows_in"]:
        raise RuntimeError(f"gold counts {report['details']['contracts_counted']} contracts, silver has "
                           f"{report['rows_in']}")
    return report


def gold_indicators(run_id: str, settings: Settings | None = None) -> dict:
    return _locked(_ctx(run_id, settings), "gold_indicators", job("gold_indicators").run)


def publish(run_id: str, settings: Settings | None = None, as_of: datetime | None = None) -> dict:
    """Everything published from gold, then the operations page (refreshed by the monitoring DAG too; here
    so the site never links to nothing)."""
    ctx = _ctx(run_id, settings, as_of)
    started = time.perf_counter()
    with progress("publish") as step:
        report = step.report = job("publish").run(ctx)
    report["ops_page"] = str(job("monitoring").run_ops_page(ctx.settings))
    report["seconds"] = round(time.perf_counter() - started, 1)
    return json_safe(report)


def audit_disclosure(run_id: str, settings: Settings | None = None) -> dict:
    """The attacker audit of the last publication, read back from ``<output>`` (the publish stage runs it
    too); raises when a hidden figure can be recovered, narrowed below its protection, or is shown."""
    ctx = _ctx(run_id, settings)
    with progress("audit_disclosure") as step:
        step.report = job("audit_disclosure").run(ctx)
    return json_safe(step.report)


# The transform, in order (silver -> resolution -> gold), then publication.
STAGES = {"silver": silver_marches, "silver_sources": silver_sources, "resolution": entity_resolution,
          "gold": gold_marches, "gold_indicators": gold_indicators, "publish": publish}
TRANSFORM = ("silver", "silver_sources", "resolution", "gold", "gold_indicators")


def transform(run_id: str, settings: Settings | None = None) -> list[dict]:
    """silver, entity resolution and gold, in one Spark session."""
    check_declarations(settings)
    return [STAGES[name](run_id, settings) for name in TRANSFORM]


# What a facilitator's declaration changes downstream of bronze: its labels' codes (silver), hence the links
# and the indicators. DECP's silver and gold_marches do not read the facilitators' tables.
REQUALIFY = ("silver_sources", "resolution", "gold_indicators")


def profile(path: str, facilitateur: str | None = None, write_declaration: str | None = None,
            settings: Settings | None = None) -> dict:
    """What bronze and silver would make of one export (columns recognised or not, labels to map), without
    loading it; optionally a draft declaration for the steward (``jobs/ingest/profile.py``)."""
    ctx = _ctx(f"profile__{utc_now():%Y%m%dT%H%M%S}", settings)
    return job("profile").run(ctx, path, facilitateur, write_declaration)


def requalify(facilitateur: str, run_id: str, settings: Settings | None = None, reload: bool = False) -> dict:
    """After a steward changed a facilitator's declaration: silver, entity resolution and the gold indicators
    rebuilt from bronze, nothing landed again. Its files refused at bronze are read again first (a header it
    now declares); with ``reload``, its loaded files too (their bronze rows replaced: a ``columns:`` change).
    A ``values:`` change needs neither: bronze keeps the raw labels, the mapping is applied at silver. Silver is
    a function of all of bronze, so every facilitator is rebuilt (the others come out unchanged); the report
    gives this facilitator's labels still to map, before and after."""
    settings = settings or Settings.from_env()
    ctx = _ctx(run_id, settings)
    check_declarations(settings)
    values = importlib.import_module("jobs.silver.declared_values")
    from jobs.ingest.tabular import contract_for

    contract = contract_for(settings, "facilitateurs")
    forgotten = job("bronze_sources").forget_files(ctx.spark, settings, contract, facilitateur, loaded=reload)
    stages = [bronze_source("facilitateurs", run_id, settings)] if any(forgotten.values()) else []
    known = values.facilitators_in_bronze(ctx.spark, settings, contract)
    if facilitateur not in known:
        raise ValueError(f"no bronze row of facilitator {facilitateur!r} (known: {', '.join(sorted(known)) or 'none'})"
                         ": land and load its files first (bronze), requalify only re-reads bronze")
    before = values.values_to_map_of(ctx.spark, settings, facilitateur)
    stages += [STAGES[name](run_id, settings) for name in REQUALIFY]
    after = values.values_to_map_of(ctx.spark, settings, facilitateur)
    return {"stage": "requalify", "facilitateur": facilitateur,
            "values_to_map_before": sum(r["rows"] for r in before),
            "values_to_map_after": sum(r["rows"] for r in after),
            "labels_to_map_before": len(before), "labels_to_map_after": len(after), "still_to_map": after[:50],
            "bronze_rows_deleted_to_read_again": forgotten,
            "run_report": str(write_run_report(run_id, stages, settings))}


def run_all(run_id: str, settings: Settings | None = None, since: str | None = None,
            until: str | None = None, publish_outputs: bool = True) -> Path:
    """Every source (download, land, bronze), then silver, gold and publish; returns the run report.

    With ``since``/``until`` (``YYYY-MM``) it is the bulk backfill: the month folders of the range are
    landed at once and go through one Spark session (same tables as one Airflow run per month).
    ``publish_outputs=False`` stops at gold (``--no-publish``)."""
    check_declarations(settings)  # wrong declarations: nothing is loaded at all
    stages = []
    for source in SOURCES:
        stages += [download_source(source, run_id, settings),
                   land_source(source, run_id, settings, since=since, until=until),
                   bronze_source(source, run_id, settings)]
    stages += transform(run_id, settings)
    path = write_run_report(run_id, stages, settings)  # the report's data-quality section reads this run's figures
    if not publish_outputs:
        return path
    return write_run_report(run_id, [*stages, publish(run_id, settings)], settings)


# --- operations (monitoring and maintenance DAGs, key rotation) ------------------------------------------

def write_run_report(run_id: str, stages: list[dict], settings: Settings | None = None) -> Path:
    """Rows in, written and quarantined per table into ``<output>/runs/<run id>.json``; raises when unbalanced."""
    return job("run_report").write_run_report(run_id, stages, settings)


def schedule_end() -> datetime | None:
    """``OBS_SCHEDULE_END``: no scheduled monthly run after it (tests of backfills freeze the schedule)."""
    end = Settings.from_env().schedule_end
    return datetime.fromisoformat(end) if end else None


def check(kind: str) -> dict:
    """A monitoring check (``freshness`` or ``quarantine``); raises when a threshold is breached."""
    return job("monitoring").run_check(kind, SOURCES)


def table_stats() -> Path:
    return job("monitoring").run_table_stats()


def ops_page() -> Path:
    return job("monitoring").run_ops_page()


def maintain(family: str) -> list[dict]:
    return job("maintenance").run_family(family)


def check_checkpoints() -> list[dict]:
    return job("maintenance").run_checkpoint_check()


def rotate_pseudonymization_key(run_id: str, settings: Settings | None = None) -> dict:
    """Delete what the old key made, reload from raw with the current key, rebuild everything after."""
    settings = settings or Settings.from_env()
    deleted = job("rotate_key").delete_pseudonymised(settings)
    stages = [bronze_source(source, run_id, settings) for source in job("rotate_key").person_level_tables()]
    stages += [STAGES[name](run_id, settings) for name in (*TRANSFORM, "publish")]
    return {"deleted_tables": deleted, "run_report": str(write_run_report(run_id, stages, settings))}


# --- command line ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["download", "land", "bronze", *STAGES, "transform", "all", "rotate-key",
                                          "profile", "requalify",
                                          "audit-disclosure"])
    parser.add_argument("file", nargs="?", help="profile: the export to read (a path, or a name in the inbox)")
    parser.add_argument("--facilitateur", help="requalify: the facilitator; profile: its id when the file name "
                                               "does not start with it")
    parser.add_argument("--write-declaration", metavar="PATH", help="profile: write a draft declaration there")
    parser.add_argument("--json", action="store_true", help="profile: print the profile as JSON")
    parser.add_argument("--reload", action="store_true",
                        help="requalify: read the facilitator's loaded files again too (after a columns: change)")
    parser.add_argument("--source", choices=SOURCES, default="decp", help="for download, land and bronze")
    parser.add_argument("--run-id", default=f"cli__{utc_now():%Y%m%dT%H%M%S}")
    parser.add_argument("--from", dest="since", metavar="YYYY-MM", help="land and all: first month folder")
    parser.add_argument("--to", dest="until", metavar="YYYY-MM", help="land and all: last month folder")
    parser.add_argument("--no-publish", action="store_true", help="all: stop at gold (no site, sheets, open data)")
    parser.add_argument("--new-local-key", action="store_true",
                        help="rotate-key, local lake without OBS_PSEUDONYMIZATION_KEY: make a new random key first")
    args = parser.parse_args(argv)
    for bound in (args.since, args.until):
        if bound and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", bound):
            parser.error(f"months are YYYY-MM, got {bound!r}")
    per_source = {"download": download_source, "bronze": bronze_source}
    if args.stage == "all":
        out = run_all(args.run_id, since=args.since, until=args.until, publish_outputs=not args.no_publish)
    elif args.stage == "land":
        out = land_source(args.source, args.run_id, since=args.since, until=args.until)
    elif args.stage in per_source:
        out = per_source[args.stage](args.source, args.run_id)
    elif args.stage == "transform":
        out = transform(args.run_id)
    elif args.stage == "profile":
        if not args.file:
            parser.error("profile needs the export to read: python -m jobs.pipeline profile <file>")
        out = profile(args.file, args.facilitateur, args.write_declaration)
        if not args.json:
            print(out["report"] + (f"\ndraft declaration: {out['draft_declaration']}"
                                   if out.get("draft_declaration") else ""))
            sys.exit(1 if out["refused"] else 0)
    elif args.stage == "requalify":
        if not args.facilitateur:
            parser.error("requalify needs --facilitateur <id>")
        out = requalify(args.facilitateur, args.run_id, reload=args.reload)
    elif args.stage == "audit-disclosure":
        out = audit_disclosure(args.run_id)
    elif args.stage == "rotate-key":
        settings = Settings.from_env()
        if args.new_local_key:
            if settings.pseudonymization_key or settings.on_s3:
                parser.error("--new-local-key is for a local lake without OBS_PSEUDONYMIZATION_KEY")
            job("rotate_key").new_local_key(settings)
        out = rotate_pseudonymization_key(args.run_id, settings)
    else:
        out = STAGES[args.stage](args.run_id)
    print(out if isinstance(out, Path) else json.dumps(out, indent=2, default=str, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
