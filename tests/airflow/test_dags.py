"""Real Airflow: every DAG loads, and one full run of the chain (monthly -> transform -> publish) through
`airflow dags test` (which does not trigger asset-scheduled DAGs, so the three are run in order, as the demo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all
from jobs.core.settings import PROJECT_ROOT
from tests.conftest import copy_samples

pytestmark = pytest.mark.airflow
AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def test_every_dag_loads_without_import_errors():
    from airflow.dag_processing.dagbag import DagBag

    from jobs.ops.alerts import on_failure

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    assert {"observatoire_monthly", "observatoire_transform", "observatoire_publish", "observatoire_monitoring",
            "observatoire_maintenance"} <= set(bag.dags)
    pools = set(json.loads((PROJECT_ROOT / "infra" / "airflow" / "pools.json").read_text()))
    for dag_id, dag in bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no documentation"
        assert dag.owner == "observatoire", dag_id
        for t in dag.tasks:
            assert t.on_failure_callback == [on_failure] or t.on_failure_callback == on_failure, t.task_id
            if not t.task_id.startswith("check_"):  # a breached threshold is not retried
                assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
            if t.task_id.split(".")[-1] in ("bronze", "silver", "silver_sources", "entity_resolution", "gold",
                                            "gold_indicators") or t.task_id.startswith("maintain_"):
                assert t.pool in pools, f"{dag_id}.{t.task_id} writes Delta tables outside a pool"
    monthly = bag.dags["observatoire_monthly"]
    assert type(monthly.timetable).__name__ == "CronDataIntervalTimetable" and monthly.max_active_runs == 1
    bronze_assets = {a.name for a in monthly.get_task("bronze").outlets}
    assert bronze_assets == {f"bronze_{s}" for s in ("decp", "facilitateurs", "grand_paris", "structures", "sirene")}
    transform = bag.dags["observatoire_transform"]
    assert {a.name for a in transform.timetable.asset_condition.objects} == bronze_assets
    assert [a.name for a in transform.get_task("gold_indicators").outlets] == ["gold"]
    assert [a.name for a in bag.dags["observatoire_publish"].timetable.asset_condition.objects] == ["gold"]


def test_full_dag_run_lands_loads_and_reports(airflow_env, tmp_path):
    inbox, lake, output = tmp_path / "inbox", tmp_path / "lake", tmp_path / "output"
    generate_all(inbox, 200, date(2023, 6, 1), date(2024, 6, 1), seed=3)
    copy_samples(inbox, "format-2019-v1.5/json_*.json")
    (inbox / "decp" / "broken.json").write_text('{"marches": [ {"id": ', encoding="utf-8")
    env = {**airflow_env, "OBS_LAKE_URI": str(lake), "OBS_INBOX_DIR": str(inbox), "OBS_OUTPUT_DIR": str(output)}
    for dag_id in ("observatoire_monthly", "observatoire_transform", "observatoire_publish"):
        proc = subprocess.run([AIRFLOW, "dags", "test", dag_id, "2024-07-01"], env=env,
                              capture_output=True, text=True, timeout=1800)  # generous: shared CI machines
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "state=success" in proc.stdout + proc.stderr, dag_id

    for name in ("bronze/decp_marches", "silver/marches", "quarantine/marches", "gold/marches_par_mois_departement"):
        assert (lake / name / "_delta_log" / "00000000000000000000.json").is_file(), name
    assert (output / "dashboards" / "index.html").is_file()

    reports = [json.loads(f.read_text()) for f in (output / "runs").glob("*.json")]
    assert len(reports) == 2 and all(r["balanced"] for r in reports)  # ingestion, transform
    tables = {t["table"]: t for r in reports for t in r["tables"]}
    assert tables["bronze/decp_marches"]["rows_quarantined"] == 1  # broken.json, with its reason
    for name in ("bronze/facilitateurs_heures", "bronze/grand_paris_contrats", "bronze/structures",
                 "bronze/sirene_etablissements"):
        assert tables[name]["rows_written"] > 0, name
    assert tables["silver/marches"]["rows_in"] == (
        tables["silver/marches"]["rows_written"] + tables["silver/marches"]["rows_quarantined"])
    assert tables["silver/marches"]["rows_written"] >= 190
