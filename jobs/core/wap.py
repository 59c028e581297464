"""Write-audit-publish, the one way a checked table reaches the lake (build -> validate -> publish).

A job builds its valid rows and its quarantine; here both are counted, ``in = written + quarantined`` is
checked, the valid rows are audited with Pandera, and only then are they committed. A failure at any step
raises before anything of the table is published.
"""

from __future__ import annotations

from collections.abc import Callable

import pandera.pyspark as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.core import quality
from jobs.core.delta_io import table_exists, write_table
from jobs.core.settings import Settings


def refusals_by_rule(quarantine: DataFrame) -> dict[str, int]:
    """Quarantined rows per rule id (a row breaking two rules counts under both)."""
    if "rule_ids" in quarantine.columns:
        rules = quarantine.select(F.explode("rule_ids").alias("rule"))
    elif "rule_id" in quarantine.columns:
        rules = quarantine.select(F.col("rule_id").alias("rule"))
    else:
        return {}
    return dict(sorted((r["rule"], r["n"]) for r in rules.groupBy("rule").agg(F.count("*").alias("n")).collect()))


def write_audit_publish(settings: Settings, table: str, rows: DataFrame, *, quarantine: DataFrame | None = None,
                        quarantine_table: str | None = None, rows_in: int | None = None,
                        schema: pa.DataFrameSchema | None = None, mode: str = "overwrite",
                        write_quarantine: Callable[[DataFrame], None] | None = None,
                        written_weight: str | None = None) -> dict:
    """Count, check, audit, then commit ``rows`` to ``table`` and ``quarantine`` to its table (or through
    ``write_quarantine``); returns the table's line of the run report.

    ``rows_in`` is the number of input rows when it is known apart (the conservation check); without it the
    input is what was written plus what was quarantined. ``written_weight``: the column saying how many input
    rows a written row stands for (rows summed into one), so the check counts input rows on both sides.
    """
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    cached = [rows]
    try:
        n_ok = rows.count() if written_weight is None else int(rows.agg(F.sum(written_weight)).first()[0] or 0)
        n_bad, per_rule = 0, {}
        if quarantine is not None:
            quarantine = quarantine.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(quarantine)
            n_bad = quarantine.count()
            per_rule = refusals_by_rule(quarantine) if n_bad else {}
        n_in = n_ok + n_bad if rows_in is None else rows_in
        if n_in != n_ok + n_bad:
            raise RuntimeError(f"{table} lost rows: {n_in} in, {n_ok} written, {n_bad} quarantined")
        if schema is not None:
            failures = quality.audit(rows, schema)
            if failures:  # nothing of this table is published when the audit fails
                raise RuntimeError(f"Pandera audit of {table} failed: " + "; ".join(failures))
        write_table(rows, settings, table, mode=mode)
        if quarantine is not None and (n_bad or (mode == "overwrite" and write_quarantine is None)):
            if write_quarantine is not None:
                write_quarantine(quarantine)
            elif n_bad or not _already_empty(settings, quarantine_table or _quarantine_of(table), quarantine):
                write_table(quarantine, settings, quarantine_table or _quarantine_of(table), mode=mode)
    finally:
        for df in cached:
            df.unpersist()
    return {"table": table, "rows_in": n_in, "rows_written": n_ok, "rows_quarantined": n_bad,
            "details": {"quarantine_by_rule": per_rule} if quarantine is not None else {}}


def _already_empty(settings: Settings, table: str, frame: DataFrame) -> bool:
    """The table exists with ``frame``'s columns and holds no row (answered from the Delta log's statistics,
    no scan): an empty quarantine is not written again, a commit costs seconds even for no row."""
    spark, uri = frame.sparkSession, settings.table_uri(table)
    if not table_exists(spark, uri):
        return False
    existing = spark.read.format("delta").load(uri)
    return existing.schema.simpleString() == frame.schema.simpleString() and existing.count() == 0


def _quarantine_of(table: str) -> str:
    return "quarantine/" + table.split("/", 1)[1]
