"""A real local Airflow (API server, DAG processor, scheduler with the LocalExecutor, SQLite) in subprocesses,
on a free port of 127.0.0.1 with a throw-away home; used by the backfill test."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from jobs.core.settings import PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_env(home: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Task slots, not cores: the landing tasks are short Python processes that otherwise wait for a slot
        # (two at a time, a scheduler loop apart); the Spark tasks are one at a time anyway (their pools).
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        **extra,
    }
    if port:
        env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    return env


def airflow(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc


class AirflowStack:
    """api-server + dag-processor + scheduler; ``query`` reads the metadata database."""

    def __init__(self, home: Path, **extra_env: str):
        self.home = home
        self.port = free_port()
        self.env = airflow_env(home, self.port, **extra_env)
        self.procs: list[subprocess.Popen] = []

    def setup(self, template_db: Path) -> AirflowStack:
        """Metadata database and pools (a copy of the session's migrated template), then the DAGs parsed once."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template_db, self.home / "airflow.db")
        airflow(self.env, "dags", "reserialize")
        return self

    def start(self) -> AirflowStack:
        """SQLite takes one writer at a time: CLI commands that write (unpause, backfill create) go before."""
        for args in (["api-server", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"], ["dag-processor"],
                     ["scheduler"]):
            log = (self.home / f"{args[0]}.log").open("a")
            self.procs.append(subprocess.Popen([AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))
        return self

    def stop(self) -> None:
        for p in self.procs:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                continue
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
        self.procs = []  # started again later (between two backfills): only the live ones are watched

    def query(self, sql: str, *params) -> list[tuple]:
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def wait_for(self, predicate, timeout: float, every: float = 5.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for p in self.procs:
                assert p.poll() is None, f"an Airflow component exited, see {self.home}/*.log"
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}; logs in {self.home}")
