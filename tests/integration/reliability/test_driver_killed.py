"""The Spark driver killed (SIGKILL, Python and JVM) in the middle of a Delta write of the bronze stage:
the table stays at its previous version, readable; the rerun completes with the right counts, each file
loaded once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from jobs.core.delta_io import table_version
from jobs.core.settings import PROJECT_ROOT
from jobs.ingest.decp_records import parse_document

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]
BRONZE = "bronze/decp_marches"


def records_in(files) -> int:
    return sum(len(parse_document(path.read_bytes())) for path in files)


def lake_env(settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_")}
    env.update(OBS_LAKE_URI=settings.lake_uri, OBS_INBOX_DIR=settings.inbox_dir, OBS_OUTPUT_DIR=settings.output_dir,
               OBS_SPARK_DRIVER_MEMORY="1g", OBS_SPARK_SHUFFLE_PARTITIONS="2", PYTHONPATH=str(PROJECT_ROOT), **extra)
    return env


def bronze_rows(spark, settings) -> list[tuple]:
    df = spark.read.format("delta").load(settings.table_uri(BRONZE))
    return sorted(tuple(r) for r in df.select("source_sha256", "record_index").collect())


def test_driver_killed_mid_delta_write(spark, local_settings, tmp_path):
    settings = local_settings
    generated = tmp_path / "generated"
    generate_all(generated, 120, date(2024, 1, 1), date(2024, 4, 1), seed=11, decp_dirt=DirtRates.clean(),
                 xml_every=0, sources=("decp",))
    files = sorted((generated / "decp").glob("decp_*.json"))
    inbox = settings.inbox_path / "decp"
    inbox.mkdir(parents=True)
    for f in files[:2]:  # batch A -> bronze version 0
        (inbox / f.name).write_bytes(f.read_bytes())
    pipeline.land_source("decp", "run-a", settings)
    pipeline.bronze_source("decp", "run-a", settings)
    assert table_version(spark, settings, BRONZE) == 0
    before = bronze_rows(spark, settings)
    assert len(before) == records_in(files[:2]) > 0
    for f in files[2:]:  # batch B: landed; its bronze load gets killed
        (inbox / f.name).write_bytes(f.read_bytes())
    pipeline.land_source("decp", "run-b", settings)

    table_dir = settings.lake_path / BRONZE
    committed = set(table_dir.glob("*.parquet"))
    # The stall hook: the write's second task waits 120 s after the first wrote its file, so the kill lands
    # between a data file and the commit, every time.
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.reliability.faults", "bronze", "--source", "decp",
         "--run-id", "run-b-killed"],
        cwd=PROJECT_ROOT, env=lake_env(settings, OBS_TEST_WRITE_STALL_SECONDS="120"), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "driver.log").open("wb"),
    )
    deadline = time.monotonic() + 240
    try:
        while not (set(table_dir.glob("*.parquet")) - committed):
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no data file of the bronze write appeared"
            time.sleep(0.2)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver's whole process group: Python and its JVM
        driver.wait()
    assert driver.returncode == -signal.SIGKILL

    assert set(table_dir.glob("*.parquet")) - committed, "the killed write left a data file behind"
    assert sorted(p.name for p in (table_dir / "_delta_log").glob("*.json")) == ["00000000000000000000.json"]
    assert table_version(spark, settings, BRONZE) == 0
    assert bronze_rows(spark, settings) == before

    report = pipeline.bronze_source("decp", "run-b-rerun", settings)  # the rerun (the kill freed its lock)
    assert table_version(spark, settings, BRONZE) == 1
    after = bronze_rows(spark, settings)
    assert len(after) == report["rows_in"] + len(before) == records_in(files)
    assert len(set(after)) == len(after)  # every record once: the killed load left nothing to double
    assert set(before) < set(after)
