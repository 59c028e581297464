"""The DECP chain (land → bronze → silver → gold) in its own process, for the cluster test.

Run as ``python -m tests.integration.infra.cluster_job <out.json>`` with the OBS_* settings in the environment
(one Spark session per process: the master comes from OBS_SPARK_MASTER). Writes the gold table, sorted, as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jobs import pipeline
from jobs.core.settings import Settings
from jobs.core.spark import get_spark
from jobs.gold.marches import GOLD_TABLE


def chain(settings: Settings) -> dict:
    """Land, bronze, silver and gold of the DECP on the session of ``settings``; the gold table, sorted."""
    stages = [pipeline.land_source("decp", "cluster-run", settings), pipeline.bronze_decp("cluster-run", settings),
              pipeline.silver_marches("cluster-run", settings), pipeline.gold_marches("cluster-run", settings)]
    spark = get_spark(settings)
    gold = spark.read.format("delta").load(settings.table_uri(GOLD_TABLE))
    rows = sorted(json.dumps(r.asDict(), sort_keys=True, default=str) for r in gold.collect())
    silver = spark.read.format("delta").load(settings.table_uri("silver/marches")).count()
    # Block managers = the driver + every executor: > 1 proves the work ran on the cluster's executors.
    block_managers = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    return {"master": spark.sparkContext.master, "gold": rows, "silver_rows": silver,
            "block_managers": block_managers, "default_parallelism": spark.sparkContext.defaultParallelism,
            "stages": stages}


def main(out: Path) -> None:
    settings = Settings.from_env()
    out.write_text(json.dumps(chain(settings), default=str), encoding="utf-8")
    get_spark(settings).stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
