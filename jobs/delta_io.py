"""Delta reads and writes at the edges of the jobs (the transforms never touch storage)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs.settings import Settings


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
    """One atomic Delta commit; overwrite also replaces the schema (tables are rebuilt, not patched)."""
    schema_option = "overwriteSchema" if mode == "overwrite" else "mergeSchema"
    writer = df.write.format("delta").mode(mode).option(schema_option, "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(settings.table_uri(name))


def table_version(spark: SparkSession, settings: Settings, name: str) -> int | None:
    from delta.tables import DeltaTable

    uri = settings.table_uri(name)
    if not table_exists(spark, uri):
        return None
    return DeltaTable.forPath(spark, uri).history(1).collect()[0]["version"]
