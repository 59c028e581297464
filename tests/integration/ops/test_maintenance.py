"""Delta maintenance on a real table: OPTIMIZE compacts, VACUUM keeps what the retention needs and removes
the rest, the table stays readable, and the log's checkpoint is checked."""

from __future__ import annotations

import shutil

import pytest

from jobs.ops import maintenance
from tests.conftest import local_settings_at

NAME = "gold/heures_insertion"


@pytest.fixture(scope="module")
def prepared(spark, tmp_path_factory):
    """6 commits of 2 small files each (a checkpoint at version 4, interval 4), written once for the module."""
    settings = local_settings_at(tmp_path_factory.mktemp("maintenance"))
    uri = settings.table_uri(NAME)
    for i in range(6):
        (spark.range(i * 5, i * 5 + 5).repartition(2).write.format("delta").mode("append")
         .option("delta.checkpointInterval", "4").save(uri))
    return settings


@pytest.fixture
def table(prepared, local_settings):
    """A fresh copy of the prepared table for each test (Delta's log holds relative paths: a copy is a table)."""
    shutil.copytree(prepared.lake_path / NAME, local_settings.lake_path / NAME)
    return local_settings


def test_optimize_compacts_and_keeps_the_rows(spark, table):
    uri = table.table_uri(NAME)
    result = maintenance.optimize(spark, table, NAME)
    assert result["files_before"] >= 12 and result["files_after"] < result["files_before"]
    assert result["files_after"] == 1
    assert sorted(r.id for r in spark.read.format("delta").load(uri).collect()) == list(range(30))


@pytest.mark.slow  # two Delta VACUUMs (5.5 s in the 2026-12-06 suite, about 80 s before decision 208)
def test_vacuum_respects_the_retention(spark, table):
    uri = table.table_uri(NAME)
    maintenance.optimize(spark, table, NAME)
    files_before = len(maintenance.data_files(table, NAME))

    kept = maintenance.vacuum(spark, table, NAME)  # default retention 168 h: every file is younger
    assert kept["retention_hours"] == 168 and kept["files_after"] == kept["files_before"] == files_before
    version_3 = spark.read.format("delta").option("versionAsOf", 3).load(uri)  # time travel within retention
    assert version_3.count() == 20

    short = table.replace(vacuum_retention_hours=0)
    removed = maintenance.vacuum(spark, short, NAME)
    assert removed["files_after"] == 1 < removed["files_before"]  # only the compacted file is live
    assert sorted(r.id for r in spark.read.format("delta").load(uri).collect()) == list(range(30))
    with pytest.raises(Exception, match=r"(?i)file|not exist|DELTA_"):
        spark.read.format("delta").option("versionAsOf", 3).load(uri).collect()
    # the safety check is back on for everyone else
    assert spark.conf.get("spark.databricks.delta.retentionDurationCheck.enabled") == "true"


def test_checkpoint_status(spark, table, local_settings):
    status = maintenance.checkpoint_status(spark, table, NAME)
    assert status["version"] == 5 and status["last_checkpoint"] == 4 and status["interval"] == 4
    assert status["ok"] and status["commits_since_checkpoint"] == 1
    assert maintenance.check_checkpoints(spark, table)[0]["table"] == NAME
    assert maintenance.table_family(NAME) == "gold" and maintenance.table_family("quarantine/files") == "bronze"
    assert maintenance.table_family("quarantine/marches") == "silver"

    (table.lake_path / NAME / "_delta_log" / "_last_checkpoint").unlink()
    late = maintenance.checkpoint_status(spark, table, NAME)
    assert not late["ok"] and late["last_checkpoint"] is None
    with pytest.raises(RuntimeError, match="without a recent checkpoint"):
        maintenance.check_checkpoints(spark, table)
