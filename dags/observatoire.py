"""
### Observatoire des clauses sociales — monthly load and per-source ingestion

* `observatoire_monthly` (1st of each month, for the month that ended): for every source, download the
  configured URLs, land the inbox into the raw zone (manifest, idempotent) and load bronze; then rebuild
  silver (DECP, then the other sources), resolve entities (SIRENE, structures, DECP links), gold, the
  dashboards, and write the run report `<output>/runs/<run id>.json`.
* `ingest_<source>` (manual): the same ingestion for one source, when a file arrives mid-month.

Code lives in `jobs/`; this file only wires it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, TaskGroup, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from jobs import pipeline

DEFAULT_ARGS = {"owner": "observatoire", "retries": 2, "retry_delay": timedelta(minutes=1),
                "retry_exponential_backoff": True}


def _run_id() -> str:
    return get_current_context()["run_id"]


def ingestion(source: str):
    """download -> land -> bronze for one source; returns the three tasks' outputs."""

    @task(task_id="download")
    def download() -> dict:
        return pipeline.download_source(source, _run_id())

    @task(task_id="land")
    def land(_downloaded: dict) -> dict:
        return pipeline.land_source(source, _run_id())

    @task(task_id="bronze")
    def bronze(_landed: dict) -> dict:
        return pipeline.bronze_source(source, _run_id())

    downloaded = download()
    landed = land(downloaded)
    return [downloaded, landed, bronze(landed)]


with DAG(
    dag_id="observatoire_monthly",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=datetime(2018, 10, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["monthly", "ingestion", "transform", "publish"],
    doc_md=__doc__,
):
    outputs = []
    for name in pipeline.SOURCES:
        with TaskGroup(group_id=f"ingest_{name}"):
            outputs += ingestion(name)

    @task
    def silver(*_bronze: dict) -> dict:
        return pipeline.silver_marches(_run_id())

    @task
    def silver_sources(_silver: dict) -> dict:
        return pipeline.silver_sources(_run_id())

    @task
    def entity_resolution(_silver_sources: dict) -> dict:
        return pipeline.entity_resolution(_run_id())

    @task
    def gold(_resolution: dict) -> dict:
        return pipeline.gold_marches(_run_id())

    @task
    def gold_indicators(_gold: dict) -> dict:
        return pipeline.gold_indicators(_run_id())

    @task
    def publish(_gold: dict) -> dict:
        return pipeline.publish(_run_id())

    @task
    def run_report(*stages: dict) -> str:
        return str(pipeline.write_run_report(_run_id(), list(stages)))

    s = silver(*outputs[2::3])
    ss = silver_sources(s)
    er = entity_resolution(ss)
    g = gold(er)
    gi = gold_indicators(g)
    run_report(*outputs, s, ss, er, g, gi, publish(gi))


for name in pipeline.SOURCES:
    with DAG(
        dag_id=f"ingest_{name}",
        schedule=None,
        start_date=datetime(2018, 10, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ingestion", name],
        doc_md=__doc__,
    ):
        ingestion(name)
