"""Real Airflow: one full run of the chain (monthly -> transform -> publish) through
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


def test_full_dag_run_lands_loads_and_reports(airflow_env, tmp_path):
    inbox, lake, output = tmp_path / "inbox", tmp_path / "lake", tmp_path / "output"
    generate_all(inbox, 60, date(2024, 3, 1), date(2024, 6, 1), seed=3)
    copy_samples(inbox, "format-2019-v1.5/json_*.json")
    (inbox / "decp" / "broken.json").write_text('{"marches": [ {"id": ', encoding="utf-8")
    env = {**airflow_env, "OBS_LAKE_URI": str(lake), "OBS_INBOX_DIR": str(inbox), "OBS_OUTPUT_DIR": str(output),
           "OBS_PUBLISH_PDF": "false"}  # PDFs are the publication tests' business
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
    assert tables["silver/marches"]["rows_written"] >= 55
