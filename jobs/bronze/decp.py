"""raw -> bronze: every DECP record of every landed file, as published, plus lineage columns.

Unreadable files (broken JSON/XML, wrong encoding, no DECP container) go to ``quarantine/files``
with the reason; the rest of the batch loads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.core.context import RunContext
from jobs.core.delta_io import write_table
from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore
from jobs.ingest.decp_records import DecpDocumentError, parse_document
from jobs.ingest.decp_stream import STREAM_ABOVE, stream_records
from jobs.ingest.raw_files import head_of, pending_files, quarantine_files, read_files

BRONZE_TABLE = "bronze/decp_marches"

PARSED_SCHEMA = T.StructType([
    T.StructField("source_file", T.StringType(), False),
    T.StructField("source_sha256", T.StringType(), False),
    T.StructField("record_index", T.IntegerType(), True),
    T.StructField("decp_format", T.StringType(), True),
    T.StructField("record_kind", T.StringType(), True),
    T.StructField("record_json", T.StringType(), True),
    T.StructField("file_error", T.StringType(), True),
    T.StructField("raw_head", T.StringType(), True),
])
BRONZE_SCHEMA = T.StructType([
    *[f for f in PARSED_SCHEMA.fields if f.name not in ("file_error", "raw_head")],
    T.StructField("load_id", T.StringType(), False),
    T.StructField("ingested_at", T.TimestampType(), False),
])
BATCH_RECORDS = 20_000  # records per Arrow batch of a streamed document


def _frame(row, records: list, error: str | None = None, head: str | None = None) -> pd.DataFrame:
    if error is not None:
        return pd.DataFrame([{"source_file": row.source_file, "source_sha256": row.source_sha256,
                              "record_index": None, "decp_format": None, "record_kind": None, "record_json": None,
                              "file_error": error, "raw_head": head}]).astype({"record_index": "Int32"})
    return pd.DataFrame({"source_file": row.source_file, "source_sha256": row.source_sha256,
                         "record_index": [r.index for r in records], "decp_format": [r.decp_format for r in records],
                         "record_kind": [r.kind for r in records], "record_json": [r.record_json for r in records],
                         "file_error": None, "raw_head": None}, columns=PARSED_SCHEMA.fieldNames()).astype(
        {"record_index": "Int32"})


def file_frames(store: ObjectStore, row, stream_above: int = STREAM_ABOVE) -> Iterator[pd.DataFrame]:
    """The records of one landed DECP file, or its ``file_error`` row. A JSON document larger than
    ``stream_above`` is read as a stream (``decp_stream``): its records come in batches, and a failure deep
    inside ends them with the ``file_error`` row (the driver then drops the file's records)."""
    size = getattr(row, "size", None)
    large = size is not None and size > stream_above
    if large and head_of(store, row.uri, 64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":  # XML: parsed whole
        records: list = []
        try:
            for record in stream_records(lambda: store.open(row.uri)):
                records.append(record)
                if len(records) >= BATCH_RECORDS:
                    yield _frame(row, records)
                    records = []
            yield _frame(row, records)
        except DecpDocumentError as exc:
            yield _frame(row, [], str(exc), head_of(store, row.uri, 500).decode("utf-8", "replace"))
        return
    data = store.get_bytes(row.uri)
    try:
        yield _frame(row, parse_document(data))
    except (DecpDocumentError, RecursionError, ValueError) as exc:
        yield _frame(row, [], str(exc) or type(exc).__name__, bytes(data[:500]).decode("utf-8", "replace"))


def parse_files(files: DataFrame, settings: Settings) -> DataFrame:
    """(source_file, source_sha256, uri, size) -> one row per record, or one ``file_error`` row per bad file.
    Each worker reads its files from storage itself: their bytes never go through the JVM."""

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        store = ObjectStore(settings)
        for batch in batches:
            for row in batch.itertuples(index=False):
                yield from file_frames(store, row)

    return files.select("source_file", "source_sha256", "uri", "size").mapInPandas(parse, PARSED_SCHEMA)


def run(ctx: RunContext) -> dict:
    """Reads the DECP files landed and not yet loaded; writes (appends) one row per published record to
    ``bronze/decp_marches`` (the record as published + lineage) and refuses unreadable files whole into
    ``quarantine/files``. Idempotent: a file already in bronze or in the quarantine is not read again."""
    spark, settings, load_id, now = ctx.spark, ctx.settings, ctx.run_id, ctx.now
    files = pending_files(spark, settings, "decp", [BRONZE_TABLE])
    report = {"table": BRONZE_TABLE, "files": len(files), "rows_in": 0, "rows_written": 0, "rows_quarantined": 0}
    if not files:
        return report
    parsed = parse_files(read_files(spark, files), settings).cache()
    refused = [r[0] for r in parsed.filter(F.col("file_error").isNotNull()).select("source_sha256").collect()]
    # a streamed document that failed deep inside already gave records: loaded whole or refused whole
    records = parsed.filter(F.col("file_error").isNull() & ~F.col("source_sha256").isin(refused)).select(
        *[c for c in BRONZE_SCHEMA.fieldNames() if c not in ("load_id", "ingested_at")],
        F.lit(load_id).alias("load_id"), F.lit(now).cast("timestamp").alias("ingested_at"),
    )
    bad = parsed.filter(F.col("file_error").isNotNull()).select(
        "source_file", "source_sha256", F.lit("decp.file_unreadable").alias("rule_id"),
        F.concat(F.lit("file could not be read as DECP: "), F.col("file_error")).alias("message"), "raw_head",
    )
    n_records, n_bad = records.count(), bad.count()
    write_table(records, settings, BRONZE_TABLE, mode="append")
    if n_bad:
        quarantine_files(bad, settings, "decp", load_id, now)
    parsed.unpersist()
    report.update(rows_in=n_records + n_bad, rows_written=n_records, rows_quarantined=n_bad,
                  details={"files_unreadable": n_bad})
    return report
