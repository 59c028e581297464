"""Two tables at once keep their own Spark properties (decision 215): a copy shared by two threads let one query
write its execution id into the other's, and plans with their broadcast relations stayed for the life of the
process (1.8 GB after one tiny pipeline run)."""

from __future__ import annotations

import threading

from jobs.core.parallel import each_table
from jobs.core.settings import Settings


def test_each_table_gives_each_thread_its_own_copy_of_the_callers_properties(spark):
    sc = spark.sparkContext
    sc.setLocalProperty("observatoire.stage", "gold_indicators")
    both_set = threading.Barrier(2, timeout=60)

    def work(table: str) -> tuple[str, str]:
        sc.setLocalProperty("observatoire.table", table)
        both_set.wait()  # the other thread has written its own value by now
        return sc.getLocalProperty("observatoire.stage"), sc.getLocalProperty("observatoire.table")

    try:
        got = each_table(Settings.from_env().replace(table_threads=2), work, ["heures", "sorties"], spark)
    finally:
        sc.setLocalProperty("observatoire.stage", None)
    assert got == [("gold_indicators", "heures"), ("gold_indicators", "sorties")]
    assert sc.getLocalProperty("observatoire.table") is None  # the caller's own properties are untouched
