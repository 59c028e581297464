"""Test-only faults, installed into ``jobs.core.hooks`` by the processes the reliability tests start:
``python -m tests.integration.reliability.faults <jobs.pipeline arguments>`` runs the pipeline's CLI with them.

- ``OBS_TEST_BARRIER_DIR`` + ``OBS_TEST_BARRIER_PARTIES``: each Spark stage waits, before taking its writer
  lock, until that many processes reached the same point — two concurrent runs then overlap for sure
  instead of by luck.
- ``OBS_TEST_WRITE_STALL_SECONDS``: each Delta write runs as two tasks and the second one sleeps that long
  before writing its rows — a window in which a data file of the write exists and its commit does not,
  where a test kills the driver or stops the storage.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from pyspark.sql import DataFrame

from jobs.core import hooks


def barrier(point: str, timeout: float = 180) -> None:
    folder, parties = os.environ.get("OBS_TEST_BARRIER_DIR"), int(os.environ.get("OBS_TEST_BARRIER_PARTIES", "0"))
    if not folder or parties < 2:
        return
    here = Path(folder) / point
    here.mkdir(parents=True, exist_ok=True)
    (here / f"{os.getpid()}-{uuid.uuid4().hex[:6]}").touch()
    deadline = time.monotonic() + timeout
    while len(list(here.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"test barrier {here}: {parties} parties never arrived")
        time.sleep(0.1)


def stall_write(df: DataFrame) -> DataFrame:
    seconds = float(os.environ.get("OBS_TEST_WRITE_STALL_SECONDS", "0"))
    if seconds <= 0:
        return df

    def stall(batches):
        from pyspark import TaskContext

        if TaskContext.get().partitionId() > 0:
            time.sleep(seconds)
        yield from batches

    return df.repartition(2).mapInArrow(stall, df.schema)


def install() -> None:
    hooks.on_write(stall_write)
    hooks.on_stage(barrier)


if __name__ == "__main__":
    from jobs import pipeline

    install()
    sys.argv = ["jobs.pipeline", *sys.argv[1:]]
    pipeline.main()
