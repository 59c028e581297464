"""One parametrised test over the DagBag (Astronomer's template): every DAG loads, is documented and tagged,
retries, alerts on failure, and writes Delta tables only inside a pool."""

from __future__ import annotations

import json
from functools import cache

import pytest

from jobs import pipeline
from jobs.core.settings import PROJECT_ROOT

CHAIN = ("observatoire_monthly", "observatoire_transform", "observatoire_publish")
WRITERS = ("bronze", "transform")  # task ids (last part) that write Delta tables


@cache
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_no_import_error_and_every_dag_is_there():
    bag = dagbag()
    assert bag.import_errors == {}
    assert {*CHAIN, "observatoire_monitoring", "observatoire_maintenance",
            *(f"ingest_{s}" for s in pipeline.SOURCES)} == set(bag.dags)


@pytest.mark.parametrize("dag_id", [*CHAIN, "observatoire_monitoring", "observatoire_maintenance",
                                    *(f"ingest_{s}" for s in pipeline.SOURCES)])
def test_dag_conventions(dag_id):
    dag = dagbag().dags[dag_id]
    pools = set(json.loads((PROJECT_ROOT / "infra" / "airflow" / "pools.json").read_text()))
    assert dag.tags and dag.doc_md and dag.owner == "observatoire"
    for t in dag.tasks:
        assert t.on_failure_callback in ([pipeline.on_failure], pipeline.on_failure), t.task_id
        if not t.task_id.startswith("check_"):  # a breached threshold is not retried
            assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
        if t.task_id.split(".")[-1] in WRITERS or t.task_id.startswith("maintain_"):
            assert t.pool in pools, f"{dag_id}.{t.task_id} writes Delta tables outside a pool"


def test_the_chain_is_wired_by_assets():
    bag = dagbag()
    monthly = bag.dags["observatoire_monthly"]
    assert type(monthly.timetable).__name__ == "CronDataIntervalTimetable" and monthly.max_active_runs == 1
    bronze_assets = {a.name for a in monthly.get_task("bronze").outlets}
    assert bronze_assets == {f"bronze_{s}" for s in pipeline.SOURCES}
    transform = bag.dags["observatoire_transform"]
    assert {a.name for a in transform.timetable.asset_condition.objects} == bronze_assets
    assert [a.name for a in transform.get_task("transform").outlets] == ["gold"]
    assert [a.name for a in bag.dags["observatoire_publish"].timetable.asset_condition.objects] == ["gold"]
