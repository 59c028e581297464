"""
### Observatoire des clauses sociales — the monthly chain, chained by data

* `observatoire_monthly` (1st of each month, for the month that ended; the month is `data_interval_start`):
  for every source, download the configured URLs and land the inbox (undated files and the month folders
  `<source>/<YYYY-MM>/` up to that month), then load bronze in one Spark session. It emits one asset per
  source (`bronze_<source>`). This is the DAG to backfill: `airflow backfill create --dag-id
  observatoire_monthly --from-date 2019-01-01 --to-date 2019-12-01 --max-active-runs 1`.
* `observatoire_transform` (when all five bronze assets were updated): silver, entity resolution, gold, in
  one task (one Spark session: each task would start its own JVM); emits the `gold` asset.
* `observatoire_publish` (when `gold` was updated): `pipeline.publish` (dashboards and everything published).
* `ingest_<source>` (manual): the same ingestion for one source, when a file arrives mid-month; it is
  transformed with the next monthly load (or trigger `observatoire_transform` by hand).
* `observatoire_profile` (manual, parameters `file`, `facilitateur`, `write_declaration`): what a facilitator's
  new export holds (columns recognised or not, labels to map), and optionally a draft declaration.
* `observatoire_requalify` (manual, parameters `facilitateur`, `reload`): after a steward changed a
  declaration, its refused files read again, then silver and gold rebuilt from bronze (nothing landed again);
  emits `gold`, so the publication follows.

Every task that writes Delta tables runs in the pool of its table family (`lake_bronze` for bronze and the
file quarantine, `lake_transform` for silver, quarantines, quality and gold; one slot each: `make airflow-db`
creates them), so one writer at a time touches a table.
A failed task records an alert in `<output>/alerts/alerts.jsonl` (and mails it when SMTP is configured).
Code lives in `jobs/`; this file only wires it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param, TaskGroup, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from jobs import pipeline
from schemas.referential import DECP_START

DEFAULT_ARGS = {"owner": "observatoire", "retries": 2, "retry_delay": timedelta(minutes=1),
                "retry_exponential_backoff": True, "on_failure_callback": pipeline.on_failure}
START = datetime.combine(DECP_START, datetime.min.time())
END = pipeline.schedule_end()  # OBS_SCHEDULE_END: freezes the schedule (tests of backfills)
MONTHLY = CronDataIntervalTimetable("0 0 1 * *", timezone="UTC")
POOL_BRONZE, POOL_TRANSFORM = "lake_bronze", "lake_transform"
BRONZE = {s: Asset(name=f"bronze_{s}", uri=f"lake://observatoire/bronze/{s}", group="bronze")
          for s in pipeline.SOURCES}
GOLD = Asset(name="gold", uri="lake://observatoire/gold", group="gold")


def _run_id() -> str:
    return get_current_context()["run_id"]


def _month() -> str | None:
    """The run's month (``YYYY-MM``), from the start of its data interval."""
    start = get_current_context().get("data_interval_start")
    return f"{start:%Y-%m}" if start else None


def landing(source: str):
    """download -> land for one source (no Spark); returns the two tasks' outputs."""

    @task(task_id="download")
    def download() -> dict:
        return pipeline.download_source(source, _run_id())

    @task(task_id="land")
    def land(_downloaded: dict) -> dict:
        return pipeline.land_source(source, _run_id(), until=_month())

    downloaded = download()
    return [downloaded, land(downloaded)]


@task
def run_report(*stages) -> str:
    flat = [s for stage in stages for s in (stage if isinstance(stage, list) else [stage])]
    return str(pipeline.write_run_report(_run_id(), flat))


with DAG(
    dag_id="observatoire_monthly",
    schedule=MONTHLY,
    start_date=START,
    end_date=END,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["monthly", "ingestion"],
    doc_md=__doc__,
):
    landed = []
    for name in pipeline.SOURCES:
        with TaskGroup(group_id=f"ingest_{name}"):
            landed += landing(name)

    @task(pool=POOL_BRONZE, outlets=list(BRONZE.values()))
    def bronze(*_landed: dict) -> list[dict]:
        """All sources' bronze in one Spark session (one JVM start per monthly run)."""
        return pipeline.bronze_sources(_run_id())

    run_report(*landed, bronze(*landed[1::2]))


with DAG(
    dag_id="observatoire_transform",
    schedule=list(BRONZE.values()),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["transform", "silver", "gold"],
    doc_md=__doc__,
):
    @task(pool=POOL_TRANSFORM, outlets=[GOLD])
    def transform() -> list[dict]:
        """silver -> entity resolution -> gold (one writer of silver and gold at a time: its pool)."""
        return pipeline.transform(_run_id())

    run_report(transform())


with DAG(
    dag_id="observatoire_publish",
    schedule=[GOLD],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["publish"],
    doc_md=__doc__,
):
    @task
    def publish() -> dict:
        return pipeline.publish(_run_id())

    publish()


for name in pipeline.SOURCES:
    with DAG(
        dag_id=f"ingest_{name}",
        schedule=None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ingestion", name],
        doc_md=__doc__,
    ):
        @task(task_id="bronze", pool=POOL_BRONZE, outlets=[BRONZE[name]])
        def bronze_one(_landed: dict, source: str = name) -> dict:
            return pipeline.bronze_source(source, _run_id())

        downloaded, landed_one = landing(name)
        run_report(downloaded, landed_one, bronze_one(landed_one))


def _param(name: str) -> str | None:
    return get_current_context()["params"].get(name) or None


with DAG(
    dag_id="observatoire_profile",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["onboarding", "facilitateurs"],
    params={"file": Param("", type="string", description="the export: a path, or a name in the inbox's "
                                                         "facilitateurs/ folder"),
            "facilitateur": Param("", type="string", description="its id, when the file name does not start "
                                                                 "with it"),
            "write_declaration": Param("", type="string", description="where to write a draft declaration")},
    doc_md=__doc__,
):
    @task
    def profile() -> dict:
        return pipeline.profile(_param("file") or "", _param("facilitateur"), _param("write_declaration"))

    profile()


with DAG(
    dag_id="observatoire_requalify",
    schedule=None,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["onboarding", "facilitateurs", "silver", "gold"],
    params={"facilitateur": Param("", type="string", description="the facilitator whose declaration changed"),
            "reload": Param(False, type="boolean", description="read its loaded files again too (a columns: "
                                                                "change); its refused files are always read again")},
    doc_md=__doc__,
):
    @task(pool=POOL_TRANSFORM, outlets=[GOLD])
    def requalify() -> dict:
        return pipeline.requalify(_param("facilitateur") or "", _run_id(), reload=bool(_param("reload")))

    requalify()


with DAG(
    dag_id="observatoire_monitoring",
    schedule="0 6 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["monitoring", "ops"],
    doc_md="""
### Monitoring (daily)
`check_freshness` fails when a source's last landed file is older than its threshold
(`OBS_FRESHNESS_MAX_DAYS="decp=40,sirene=100"`, default `OBS_FRESHNESS_DEFAULT_MAX_DAYS`=45);
`check_quarantine` fails when a table's quarantine rate in its latest run exceeds `OBS_MAX_QUARANTINE_RATE`
(0.2). Checks are not retried: a breach is a fact, not a glitch. `table_stats` reads the Delta details
(versions, files, sizes) and `ops_page` writes `<output>/dashboards/ops.html` whatever the checks say.
""",
):
    @task(retries=0)
    def check_freshness() -> dict:
        return pipeline.check("freshness")

    @task(retries=0)
    def check_quarantine() -> dict:
        return pipeline.check("quarantine")

    @task
    def table_stats() -> str:
        return str(pipeline.table_stats())

    @task(trigger_rule="all_done")
    def ops_page(_stats: str) -> str:
        return str(pipeline.ops_page())

    ops_page(table_stats())
    check_freshness()
    check_quarantine()


with DAG(
    dag_id="observatoire_maintenance",
    schedule="0 3 * * 0",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["maintenance", "ops"],
    doc_md="""
### Delta maintenance (weekly, Sunday 03:00 UTC)
Per table family, in the family's pool (one writer at a time): `OPTIMIZE` (compaction) then `VACUUM` with
`OBS_VACUUM_RETENTION_HOURS` (168 h: time travel stays possible for a week); then `check_checkpoints` fails
when a table's log has gone more than `delta.checkpointInterval` commits without a checkpoint.
""",
):
    families = []
    for family, pool in (("bronze", POOL_BRONZE), ("silver", POOL_TRANSFORM), ("gold", POOL_TRANSFORM)):
        @task(task_id=f"maintain_{family}", pool=pool)
        def maintain(family: str = family) -> list[dict]:
            return pipeline.maintain(family)

        families.append(maintain())

    @task
    def check_checkpoints(*_done) -> int:
        return len(pipeline.check_checkpoints())

    check_checkpoints(*families)
