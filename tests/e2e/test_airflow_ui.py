"""The Airflow UI's components run locally with the project's configuration (infra/airflow/env.sh): the API
server answers, with Airflow 3's token login, and lists every DAG of the tree with no import error."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from jobs.core.settings import PROJECT_ROOT
from tests.s3server import free_port

AIRFLOW = str(PROJECT_ROOT / ".venv" / "bin" / "airflow")


def _call(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def airflow_api(tmp_path_factory, airflow_db_template):
    """A fresh metadata database (a copy of the migrated template), the dag-processor and the API server on a
    free port of 127.0.0.1."""
    home = tmp_path_factory.mktemp("airflow-home")
    password = secrets.token_urlsafe(16)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}), encoding="utf-8")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    shutil.copyfile(airflow_db_template, home / "airflow.db")
    port = free_port()
    procs = []
    try:
        api = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        for name, args in (("dag-processor", ["dag-processor"]), ("api-server", api)):
            log = (home / f"{name}.log").open("wb")
            procs.append(subprocess.Popen([AIRFLOW, *args], env=env, stdout=log, stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            try:
                status, _ = _call(f"{base}/api/v2/monitor/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("the API server did not come up:\n" + (home / "api-server.log").read_text()[-3000:])
            time.sleep(1)
        yield base, password, home
    finally:
        for p in procs:
            _stop(p)


@pytest.fixture(scope="module")
def tree_dag_ids() -> set[str]:
    """The DAGs of the tree, from a DagBag (other work may add or rename DAGs: nothing hard-coded)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    assert bag.dag_ids
    return set(bag.dag_ids)


def test_api_requires_a_token_and_refuses_a_wrong_password(airflow_api):
    base, _, _ = airflow_api
    assert _call(f"{base}/api/v2/dags")[0] == 401
    assert _call(f"{base}/auth/token", body={"username": "admin", "password": "wrong"})[0] == 401


def test_api_lists_every_dag_of_the_tree_without_import_errors(airflow_api, tree_dag_ids):
    base, password, home = airflow_api
    status, login = _call(f"{base}/auth/token", body={"username": "admin", "password": password})
    assert status == 201 and login["access_token"]
    token = login["access_token"]
    # The dag-processor parses and serializes the DAG files; wait until the API lists them all.
    deadline, listed = time.monotonic() + 240, set()
    while time.monotonic() < deadline:
        status, dags = _call(f"{base}/api/v2/dags?limit=100", token)
        assert status == 200
        listed = {d["dag_id"] for d in dags["dags"]}
        if tree_dag_ids <= listed:
            break
        time.sleep(2)
    assert listed == tree_dag_ids, (home / "dag-processor.log").read_text()[-3000:]
    status, errors = _call(f"{base}/api/v2/importErrors", token)
    assert status == 200 and errors["total_entries"] == 0, errors
    for dag_id in tree_dag_ids:
        status, dag = _call(f"{base}/api/v2/dags/{dag_id}", token)
        assert status == 200 and dag["is_paused"] is not None and dag["fileloc"].startswith(str(PROJECT_ROOT / "dags"))
