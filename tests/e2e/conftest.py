"""Fixtures of the Airflow tests: one migrated metadata database for the session."""

from __future__ import annotations

import pytest

from jobs.core.settings import PROJECT_ROOT
from tests.e2e.airflow_stack import airflow, airflow_env


@pytest.fixture(scope="session")
def airflow_db_template(tmp_path_factory):
    """A migrated SQLite metadata database with the project's pools, made once per session: every Airflow home
    of the tests starts from a copy (`airflow db migrate` and `pools import` cost ~10 s of CPU each time)."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = airflow_env(home)
    airflow(env, "db", "migrate")
    airflow(env, "pools", "import", str(PROJECT_ROOT / "infra" / "airflow" / "pools.json"))
    return home / "airflow.db"
