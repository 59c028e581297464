"""Two monthly runs at once (two processes, two months, one S3 lake) both loading into bronze/decp_marches:
with the writer locks every record lands once and every reported commit is in the table; switched off
(OBS_TABLE_LOCKS=false) the same runs double-load or lose a commit.

A test-only barrier (OBS_TEST_BARRIER_*) makes the two bronze stages start together, after both months
were landed: the race is then certain instead of lucky.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from jobs.core.settings import PROJECT_ROOT, Settings
from jobs.ingest.decp_records import parse_document

pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.timeout(900)]
BRONZE = "bronze/decp_marches"


def run_month(s3_server, lake_uri: str, root, month: str, locks: bool, barrier) -> subprocess.Popen:
    """One monthly run as the DAG's tasks do it: land the month's files, then load bronze."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_")}
    env.update(
        OBS_LAKE_URI=lake_uri, OBS_S3_ENDPOINT=s3_server.endpoint, OBS_S3_ACCESS_KEY=s3_server.access_key,
        OBS_S3_SECRET_KEY=s3_server.secret_key, OBS_PSEUDONYMIZATION_KEY="test-concurrency-key",
        OBS_INBOX_DIR=str(root / month / "inbox"), OBS_OUTPUT_DIR=str(root / month / "output"),
        OBS_SPARK_DRIVER_MEMORY="1g", OBS_SPARK_SHUFFLE_PARTITIONS="2", OBS_TABLE_LOCKS=str(locks).lower(),
        OBS_SPARK_SMALL_INPUTS=os.environ.get("OBS_SPARK_SMALL_INPUTS", "false"),
        OBS_TEST_BARRIER_DIR=str(barrier), OBS_TEST_BARRIER_PARTIES="2", PYTHONPATH=str(PROJECT_ROOT),
    )
    cli = f"{sys.executable} -m tests.integration.reliability.faults"
    script = f"{cli} land --source decp --run-id {month} && {cli} bronze --source decp --run-id {month}"
    return subprocess.Popen(["bash", "-c", script], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=(root / f"{month}.log").open("wb"), text=True, start_new_session=True)


def reports(stdout: str) -> list[dict]:
    decoder, out, i = json.JSONDecoder(), [], 0
    while (i := stdout.find("{", i)) >= 0:
        obj, i = decoder.raw_decode(stdout, i)
        out.append(obj)
    return out


@pytest.mark.parametrize("locks", [True, False], ids=["locks-on", "locks-off"])
def test_two_monthly_runs_at_once(spark, s3_server, tmp_path, locks):
    generated = tmp_path / "generated"
    generate_all(generated, 120, date(2023, 12, 1), date(2024, 2, 1), seed=3, decp_dirt=DirtRates.clean(),
                 xml_every=0, sources=("decp",))
    months = {}
    for f in sorted((generated / "decp").glob("decp_*.json")):
        month = f.stem.removeprefix("decp_")
        (tmp_path / month / "inbox" / "decp").mkdir(parents=True)
        (tmp_path / month / "inbox" / "decp" / f.name).write_bytes(f.read_bytes())
        months[month] = len(parse_document(f.read_bytes()))
    first, *concurrent = months
    assert len(concurrent) == 2
    lake_uri = f"s3a://conc-{uuid.uuid4().hex[:8]}/lake"
    # The lake already holds an earlier month (the table exists, as on any month but the first).
    settings = Settings.from_env().replace(lake_uri=lake_uri, inbox_dir=str(tmp_path / first / "inbox"),
        output_dir=str(tmp_path / first / "output"), s3_endpoint=s3_server.endpoint,
        s3_access_key=s3_server.access_key, s3_secret_key=s3_server.secret_key,
        pseudonymization_key="test-concurrency-key")
    pipeline.land_source("decp", first, settings)
    assert pipeline.bronze_source("decp", first, settings)["rows_written"] == months[first]
    expected = sum(months.values())

    runs = [run_month(s3_server, lake_uri, tmp_path, m, locks, tmp_path / "barrier") for m in concurrent]
    outputs = []
    for month, run in zip(concurrent, runs, strict=True):
        stdout, _ = run.communicate(timeout=600)
        outputs.append(stdout)
        if locks:
            assert run.returncode == 0, (tmp_path / f"{month}.log").read_text()[-3000:]
    bronze_reports = [r for out in outputs for r in reports(out) if r.get("table") == BRONZE]

    df = spark.read.format("delta").load(f"{lake_uri}/{BRONZE}")
    rows = df.count()
    written = months[first] + sum(r["rows_written"] for r in bronze_reports)
    loads_per_file = Counter(r.source_sha256 for r in df.select("source_sha256", "load_id").distinct().collect())
    commits = spark.sql(f"DESCRIBE HISTORY delta.`{lake_uri}/{BRONZE}`").count()
    holds = (len(bronze_reports) == 2 and rows == expected and written == rows
             and len(loads_per_file) == 3 and set(loads_per_file.values()) == {1})
    print(f"locks={locks}: expected {expected} rows, table {rows}, reported written {written}, "
          f"commits {commits}, loads per file {sorted(loads_per_file.values())}, "
          f"exit codes {[r.returncode for r in runs]}")
    if locks:
        assert holds
        assert sorted(r["files"] for r in bronze_reports) == [0, 2]  # the second run found nothing pending
    else:  # the protection is what makes it hold: without it the same runs go wrong
        assert not holds
