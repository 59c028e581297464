"""raw -> bronze for the tabular sources (facilitators' exports, Grand Paris, structures, SIRENE).

One bronze table per source entity (``bronze/<source>_<entity>``): the canonical columns as raw text,
the unmapped columns in ``extra_fields`` (a JSON object; never for person-level files), lineage, and
``row_issue`` when a line has the wrong number of fields. A file is loaded whole or refused whole
into ``quarantine/files``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.core.context import RunContext
from jobs.core.delta_io import write_table
from jobs.ingest.raw_files import one_file_per_batch, pending_files, quarantine_files, read_files
from jobs.ingest.tabular import TabularFileError, read_tabular
from schemas.sources import Entity, SourceContract, source_contract

LINEAGE_FIELDS = [
    T.StructField("source_file", T.StringType(), False),
    T.StructField("source_sha256", T.StringType(), False),
    T.StructField("record_index", T.IntegerType(), True),
]


def bronze_schema(entity: Entity) -> T.StructType:
    return T.StructType(
        [*LINEAGE_FIELDS, T.StructField("facilitateur", T.StringType(), True)]
        + [T.StructField(c, T.StringType(), True) for c in entity.output_columns]
        + [T.StructField("extra_fields", T.StringType(), True),  # JSON object of the unmapped columns
           T.StructField("row_issue", T.StringType(), True),
           T.StructField("file_error", T.StringType(), True),
           T.StructField("raw_head", T.StringType(), True)]
    )


def parse_entity_files(files: DataFrame, contract: SourceContract, entity: Entity, key: bytes) -> DataFrame:
    """Landed files of one entity -> bronze rows, or one ``file_error`` row per refused file."""
    schema = bronze_schema(entity)
    names = schema.fieldNames()

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for f in batch.itertuples(index=False):
                match = contract.match(f.original_name)
                facilitateur = match.facilitateur if match else None
                try:
                    result = read_tabular(bytes(f.content), contract, entity, facilitateur, key)
                    rows = [{**r, "source_file": f.source_file, "source_sha256": f.source_sha256,
                             "record_index": i, "facilitateur": facilitateur,
                             "extra_fields": json.dumps(r["extra_fields"], ensure_ascii=False)
                             if r["extra_fields"] else None}
                            for i, r in enumerate(result.rows)]
                except TabularFileError as exc:
                    head = bytes(f.content[:300]).decode("utf-8", "replace")
                    if entity.person_level:  # the header line only: the next lines are about persons
                        head = head.splitlines()[0] if head else head
                    rows = [{"source_file": f.source_file, "source_sha256": f.source_sha256,
                             "facilitateur": facilitateur, "file_error": str(exc), "raw_head": head}]
                # object dtype throughout: a column absent from every row must stay "strings", not NaN floats
                yield pd.DataFrame(rows, columns=names, dtype=object).astype({"record_index": "Int32"})

    return files.mapInPandas(parse, schema)


def run(ctx: RunContext, source: str) -> list[dict]:
    """Reads the landed files of a tabular source (facilitators, Grand Paris, structures, SIRENE) not yet
    loaded; writes (appends) their rows to ``bronze/<source>_<entity>`` (canonical columns as text, person ids
    pseudonymised) and refuses unreadable or unrecognised files whole into ``quarantine/files``."""
    spark, settings, load_id, now = ctx.spark, ctx.settings, ctx.run_id, ctx.now
    contract = source_contract(source)
    tables = [e.table for e in contract.entities.values()]
    files = pending_files(spark, settings, source, tables)
    by_entity: dict[str, list[dict]] = {}
    unknown = []
    for entry in files:
        match = contract.match(entry.get("original_name", ""))
        if match is None:
            unknown.append(entry)
        else:
            by_entity.setdefault(match.entity.name, []).append(entry)
    reports = []
    if unknown:
        bad = spark.createDataFrame(
            [(e["uri"], e["sha256"], f"{source}.file_not_recognised",
              f"file name {e.get('original_name')!r} does not name a {source} entity "
              f"(expected pattern: {contract.file_pattern.pattern})", None) for e in unknown],
            "source_file string, source_sha256 string, rule_id string, message string, raw_head string")
        quarantine_files(bad, settings, source, load_id, now)
    key = settings.pseudonymization_key_bytes()
    for entity_name, entries in sorted(by_entity.items()):
        entity = contract.entities[entity_name]
        with one_file_per_batch(spark):
            parsed = parse_entity_files(read_files(spark, entries), contract, entity, key).cache()
            rows = parsed.filter(F.col("file_error").isNull()).drop("file_error", "raw_head").select(
                "*", F.lit(load_id).alias("load_id"), F.lit(now).cast("timestamp").alias("ingested_at"))
            bad = parsed.filter(F.col("file_error").isNotNull()).select(
                "source_file", "source_sha256", F.lit(f"{source}.file_refused").alias("rule_id"),
                F.col("file_error").alias("message"), "raw_head")
            n_rows, n_bad = rows.count(), bad.count()
            write_table(rows, settings, entity.table, mode="append")
            if n_bad:
                quarantine_files(bad, settings, source, load_id, now)
            n_issues = parsed.filter(F.col("row_issue").isNotNull()).count()
            parsed.unpersist()
        # A refused file counts as one quarantined input (its lines were never read).
        reports.append({"table": entity.table, "files": len(entries), "rows_in": n_rows + n_bad,
                        "rows_written": n_rows, "rows_quarantined": n_bad,
                        "details": {"files_refused": n_bad, "rows_with_issue": n_issues}})
    if unknown:
        reports.append({"table": f"quarantine/files ({source})", "files": len(unknown), "rows_in": len(unknown),
                        "rows_written": 0, "rows_quarantined": len(unknown),
                        "details": {"files_not_recognised": [e.get("original_name") for e in unknown]}})
    return reports
