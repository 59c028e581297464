"""
### DECP pipeline — from the inbox to the dashboard

Monthly: lands the DECP files dropped in `<inbox>/decp/` into the raw zone (with a manifest), loads
them into `bronze/decp_marches`, rebuilds `silver/marches` (+ titulaires, quarantine), the gold table
`gold/marches_par_mois_departement`, the dashboard site, and writes the run report
`<output>/runs/<run id>.json` (rows in / written / quarantined per table).

Every step is idempotent: rerunning a month adds nothing. Code lives in `jobs/`; this file only wires it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from jobs import pipeline


def _run_id() -> str:
    return get_current_context()["run_id"]


@dag(
    dag_id="decp_pipeline",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=datetime(2018, 10, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "observatoire", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "retry_exponential_backoff": True},
    tags=["decp", "ingestion", "transform", "publish"],
    doc_md=__doc__,
)
def decp_pipeline():
    @task
    def land() -> dict:
        return pipeline.land_decp(_run_id())

    @task
    def bronze(_landing: dict) -> dict:
        return pipeline.bronze_decp(_run_id())

    @task
    def silver(_bronze: dict) -> dict:
        return pipeline.silver_marches(_run_id())

    @task
    def gold(_silver: dict) -> dict:
        return pipeline.gold_marches(_run_id())

    @task
    def publish(_gold: dict) -> dict:
        return pipeline.publish_dashboards(_run_id())

    @task
    def run_report(landing: dict, bronze_: dict, silver_: dict, gold_: dict, publish_: dict) -> str:
        return str(pipeline.write_run_report(_run_id(), [landing, bronze_, silver_, gold_, publish_]))

    landing = land()
    b = bronze(landing)
    s = silver(b)
    g = gold(s)
    p = publish(g)
    run_report(landing, b, s, g, p)


decp_pipeline()
