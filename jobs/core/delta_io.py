"""Delta reads and writes at the edges of the jobs (the transforms never touch storage)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs.core import hooks
from jobs.core.locks import table_lock
from jobs.core.settings import Settings


def table_exists(spark: SparkSession, uri: str) -> bool:
    from delta.tables import DeltaTable

    try:
        return DeltaTable.isDeltaTable(spark, uri)
    except Exception:  # a missing bucket or folder is simply "no table yet"
        return False


def read_table(spark: SparkSession, settings: Settings, name: str, schema: T.StructType | None = None) -> DataFrame:
    """A lake table, or an empty frame of ``schema`` when it was never written."""
    uri = settings.table_uri(name)
    if table_exists(spark, uri):
        return spark.read.format("delta").load(uri)
    if schema is None:
        raise FileNotFoundError(f"Delta table {uri} does not exist yet")
    return spark.createDataFrame([], schema)


def write_table(df: DataFrame, settings: Settings, name: str, mode: str = "overwrite",
                partition_by: list[str] | None = None) -> None:
    """One atomic Delta commit, under the table's writer lock; overwrite also replaces the schema (tables
    are rebuilt, not patched)."""
    schema_option = "overwriteSchema" if mode == "overwrite" else "mergeSchema"
    writer = hooks.before_write(df).write.format("delta").mode(mode).option(schema_option, "true")
    if partition_by:  # an overwrite replaces the whole table, not only the partitions it writes
        writer = writer.partitionBy(*partition_by).option("partitionOverwriteMode", "static")
    with table_lock(settings, name):
        writer.save(settings.table_uri(name))


def table_version(spark: SparkSession, settings: Settings, name: str) -> int | None:
    from delta.tables import DeltaTable

    uri = settings.table_uri(name)
    if not table_exists(spark, uri):
        return None
    return DeltaTable.forPath(spark, uri).history(1).collect()[0]["version"]


def partition_columns(spark: SparkSession, uri: str) -> list[str]:
    from delta.tables import DeltaTable

    return list(DeltaTable.forPath(spark, uri).detail().first()["partitionColumns"])


def write_by_period(spark: SparkSession, df: DataFrame, settings: Settings, name: str, period: str | None,
                    full: bool = False) -> list:
    """Write a gold table partitioned by its period, rewriting only the periods whose cells changed.

    The new frame is compared with the table: a period is rewritten when any of its cells was added,
    changed or removed, by ``replaceWhere`` on the partition column, so the Delta log of a monthly run
    removes and adds files of those partitions only. ``full`` (or a table without period, a first write, a
    table written before it was partitioned) overwrites everything; both give the same table. A rerun with
    nothing new writes nothing. Returns the rewritten periods (``["*"]`` for a full overwrite).
    """
    with table_lock(settings, name):  # held from the comparison to the commit
        return _write_by_period(spark, df, settings, name, period, full)


def _write_whole(df: DataFrame, settings: Settings, name: str, period: str | None) -> list:
    if period is None:
        write_table(df, settings, name)
    else:  # one file per period: a period is rewritten alone later
        write_table(df.repartition(period), settings, name, partition_by=[period])
    return ["*"]


def _write_by_period(spark: SparkSession, df: DataFrame, settings: Settings, name: str, period: str | None,
                     full: bool) -> list:
    uri = settings.table_uri(name)
    if full or period is None or not table_exists(spark, uri) or partition_columns(spark, uri) != [period]:
        return _write_whole(df, settings, name, period)
    existing = spark.read.format("delta").load(uri)
    if sorted(existing.columns) != sorted(df.columns):
        return _write_whole(df, settings, name, period)
    # Computed once: the comparison reads the new frame twice and the write once more (bench, issue 8).
    df = df.select(*existing.columns).cache()
    try:
        changed = (df.exceptAll(existing).select(period).union(existing.exceptAll(df).select(period))
                     .distinct().collect())
        periods = sorted((r[0] for r in changed), key=lambda p: (p is None, p if p is not None else 0))
        if not periods:
            return []
        values = ", ".join(f"'{p.isoformat()}'" if hasattr(p, "isoformat") else str(p) for p in periods
                           if p is not None)
        predicate = " OR ".join([f"{period} IN ({values})"] * bool(values)
                                + [f"{period} IS NULL"] * (None in periods))
        (hooks.before_write(df.filter(predicate).repartition(period)).write.format("delta").mode("overwrite")
           .partitionBy(period).option("replaceWhere", predicate).save(uri))
        return periods
    finally:
        df.unpersist()
