"""Real Airflow: every DAG loads, and one full run of the DECP pipeline through `airflow dags test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all
from jobs.settings import PROJECT_ROOT
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
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def test_every_dag_loads_without_import_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    assert "observatoire_monthly" in bag.dags
    for dag_id, dag in bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no documentation"
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"


def test_full_dag_run_lands_loads_and_reports(airflow_env, tmp_path):
    inbox, lake, output = tmp_path / "inbox", tmp_path / "lake", tmp_path / "output"
    generate_all(inbox, 200, date(2023, 6, 1), date(2024, 6, 1), seed=3)
    copy_samples(inbox, "format-2019-v1.5/json_*.json")
    (inbox / "decp" / "broken.json").write_text('{"marches": [ {"id": ', encoding="utf-8")
    env = {**airflow_env, "OBS_LAKE_URI": str(lake), "OBS_INBOX_DIR": str(inbox), "OBS_OUTPUT_DIR": str(output)}
    proc = subprocess.run([AIRFLOW, "dags", "test", "observatoire_monthly", "2024-07-01"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "state=success" in proc.stdout + proc.stderr

    for name in ("bronze/decp_marches", "silver/marches", "quarantine/marches", "gold/marches_par_mois_departement"):
        assert (lake / name / "_delta_log" / "00000000000000000000.json").is_file(), name
    assert (output / "dashboards" / "index.html").is_file()

    [report_file] = (output / "runs").glob("*.json")
    report = json.loads(report_file.read_text())
    assert report["balanced"] is True
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["bronze/decp_marches"]["rows_quarantined"] == 1  # broken.json, with its reason
    for name in ("bronze/facilitateurs_heures", "bronze/grand_paris_contrats", "bronze/structures",
                 "bronze/sirene_etablissements"):
        assert tables[name]["rows_written"] > 0, name
    assert tables["silver/marches"]["rows_in"] == (
        tables["silver/marches"]["rows_written"] + tables["silver/marches"]["rows_quarantined"])
    assert tables["silver/marches"]["rows_written"] >= 190
