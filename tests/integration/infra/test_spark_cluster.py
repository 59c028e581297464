"""A Spark standalone cluster (a master and a worker started from the pyspark install) runs the DECP chain and
gets exactly the gold table that ``local[2]`` gets from the same files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs.core.settings import PROJECT_ROOT
from tests.background import in_background
from tests.conftest import copy_samples, local_settings_at
from tests.integration.infra.cluster_job import chain
from tests.s3server import free_port

pytestmark = pytest.mark.slow
NODE = PROJECT_ROOT / "infra" / "spark" / "node.sh"


def _wait_for(url: str, ok, proc: subprocess.Popen, log: Path, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                state = json.load(r)
                if ok(state):
                    return state
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready in {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    """A master and one worker (1 core, 1 GiB) on 127.0.0.1; yields the master URL and its status URL."""
    tmp = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp),
           "SPARK_WORKER_DIR": str(tmp / "work")}
    port, ui = free_port(), free_port()
    procs = []
    try:
        mlog = tmp / "master.log"
        master = subprocess.Popen(["bash", str(NODE), "master", "--host", "127.0.0.1", "--port", str(port),
                                   "--webui-port", str(ui)], env=env, stdout=mlog.open("wb"), stderr=subprocess.STDOUT)
        procs.append(master)
        status = f"http://127.0.0.1:{ui}/json/"
        _wait_for(status, lambda s: s.get("status") == "ALIVE", master, mlog)
        wlog = tmp / "worker.log"
        worker = subprocess.Popen(["bash", str(NODE), "worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                                   "--port", str(free_port()), "--webui-port", str(free_port()), "--cores", "1",
                                   "--memory", "1g"], env=env, stdout=wlog.open("wb"), stderr=subprocess.STDOUT)
        procs.append(worker)
        _wait_for(status, lambda s: s.get("aliveworkers", 0) == 1, worker, wlog)
        yield f"spark://127.0.0.1:{port}", status
    finally:
        for p in reversed(procs):  # the worker first: it stops its executors
            _stop(p)


def _start_chain(master: str, root: Path, inbox: Path) -> tuple[subprocess.Popen, Path]:
    """The chain in a separate Python process (one Spark session per process), on the given master."""
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OBS_SPARK_MASTER": master, "OBS_LAKE_URI": str(root / "lake"),
           "OBS_INBOX_DIR": str(inbox), "OBS_OUTPUT_DIR": str(root / "output"), "SPARK_LOCAL_IP": "127.0.0.1",
           "OBS_SPARK_DRIVER_MEMORY": os.environ.get("OBS_SPARK_DRIVER_MEMORY", "2g"),
           "OBS_SPARK_SHUFFLE_PARTITIONS": "2"}
    for key in ("OBS_S3_ENDPOINT", "OBS_S3_ACCESS_KEY", "OBS_S3_SECRET_KEY"):
        env.pop(key, None)
    with (root / "job.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.integration.infra.cluster_job",
                                 str(root / "result.json")], cwd=PROJECT_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, root


def _chain_result(proc: subprocess.Popen, root: Path) -> dict:
    rc = proc.wait(timeout=900)
    assert rc == 0, (root / "job.log").read_text()[-4000:]
    return json.loads((root / "result.json").read_text())


def test_cluster_builds_the_same_gold_table_as_local(spark, spark_cluster, tmp_path):
    master, status_url = spark_cluster
    inbox = tmp_path / "inbox"
    generate_all(inbox, 80, date(2024, 1, 1), date(2024, 6, 1), seed=11, sources=("decp",),
                 decp_dirt=DirtRates.clean())
    copy_samples(inbox, "format-2022-v2/json_*.json", "dirty/*.json")
    # The same inbox, two lakes: the cluster's driver in its own process, local[2] in this one's session at the
    # same time, with the cores the cluster's job leaves.
    job = _start_chain(master, tmp_path / "cluster", inbox)
    try:
        with in_background():
            local = chain(local_settings_at(tmp_path / "local").replace(inbox_dir=str(inbox)))
    except BaseException:
        job[0].kill()
        raise
    cluster = _chain_result(*job)

    assert cluster["master"] == master and local["master"] == "local[2]"
    assert cluster["block_managers"] >= 2, "no executor joined: the job did not run on the cluster"
    assert len(local["gold"]) > 10
    assert cluster["gold"] == local["gold"]
    assert cluster["silver_rows"] == local["silver_rows"] >= 80
    apps = json.load(urllib.request.urlopen(status_url, timeout=5))
    finished = [a for a in apps["completedapps"] + apps["activeapps"] if a["name"] == "observatoire-clauses"]
    assert finished and finished[0]["cores"] == 1
