"""What every bronze loader shares: which landed files are pending, reading them, quarantining bad ones."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.core.delta_io import read_table, write_table
from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore
from jobs.ingest.landing import read_manifest

FILE_QUARANTINE_TABLE = "quarantine/files"
FILE_QUARANTINE_SCHEMA = T.StructType([
    T.StructField("source", T.StringType(), False),
    T.StructField("source_file", T.StringType(), False),
    T.StructField("source_sha256", T.StringType(), False),
    T.StructField("rule_id", T.StringType(), False),
    T.StructField("message", T.StringType(), False),
    T.StructField("raw_head", T.StringType(), True),
    T.StructField("load_id", T.StringType(), False),
    T.StructField("quarantined_at", T.TimestampType(), False),
])


def pending_files(spark: SparkSession, settings: Settings, source: str, bronze_tables: list[str]) -> list[dict]:
    """Manifest entries of ``source`` whose checksum is in none of its bronze tables nor in the file
    quarantine: loading is idempotent per file."""
    done: set[str] = set()
    for table in bronze_tables:
        df = read_table(spark, settings, table, T.StructType([T.StructField("source_sha256", T.StringType())]))
        done |= {r[0] for r in df.select("source_sha256").distinct().collect()}
    quarantined = read_table(spark, settings, FILE_QUARANTINE_TABLE, FILE_QUARANTINE_SCHEMA)
    done |= {r[0] for r in quarantined.filter(F.col("source") == source).select("source_sha256").collect()}
    return sorted((e for e in read_manifest(settings, source) if e["sha256"] not in done), key=lambda e: e["uri"])


def spark_path(uri: str) -> str:
    return uri if "://" in uri else f"file:{uri}"


def read_files(spark: SparkSession, entries: list[dict]) -> DataFrame:
    """(source_file, source_sha256, original_name, uri, size) of the given manifest entries, one row per file,
    spread over the session's cores. No content: each Python worker opens its files itself
    (``ObjectStore.open``), so a file's bytes never go through the JVM, whatever its size."""
    parts = max(1, min(len(entries), spark.sparkContext.defaultParallelism))
    return spark.createDataFrame(
        [(e["uri"], e["sha256"], e.get("original_name", ""), e["uri"], e.get("size")) for e in entries],
        "source_file string, source_sha256 string, original_name string, uri string, size long",
    ).repartition(parts)


def head_of(store: ObjectStore, uri: str, n: int) -> bytes:
    """The first ``n`` bytes of a landed file (quarantine's ``raw_head``)."""
    with store.open(uri) as f:
        return f.read(n)


def quarantine_files(bad: DataFrame, settings: Settings, source: str, load_id: str, now: datetime) -> None:
    """Append file-level failures (columns source_file, source_sha256, rule_id, message, raw_head)."""
    write_table(
        bad.select(F.lit(source).alias("source"), "source_file", "source_sha256", "rule_id", "message", "raw_head",
                   F.lit(load_id).alias("load_id"), F.lit(now).cast("timestamp").alias("quarantined_at")),
        settings, FILE_QUARANTINE_TABLE, mode="append",
    )


def landed_name(source_file: str | Column) -> Column:
    """The file's own name, without the raw zone's folder and checksum prefix (``<sha16>_<name>``):
    exports named by date sort in the order they were made."""
    col = F.col(source_file) if isinstance(source_file, str) else source_file
    return F.regexp_extract(col, r"/[0-9a-f]{16}_([^/]*)$", 1)
