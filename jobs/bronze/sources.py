"""raw -> bronze for the tabular sources (facilitators' exports, Grand Paris, structures, SIRENE).

One bronze table per source entity (``bronze/<source>_<entity>``): the canonical columns as raw text, the
unmapped columns in ``extra_fields`` (a JSON object; never for person-level files), lineage (file, checksum,
line, and how the file is written: ``source_layout``, ``source_encoding``, ``source_delimiter``,
``source_line_ending``, ``source_decimal``, ``source_date_formats``), and ``row_issue`` when a line has the
wrong number of fields. A file is loaded whole or refused whole into ``quarantine/files``.

No file is ever held in memory: Python workers open their files themselves and stream them line by line
(``jobs/ingest/tabular.py``, ``wide.py``); the sources whose contract says ``reader: spark_csv`` (SIRENE's
national stocks, several GB) are read by Spark's CSV reader in parallel splits, after a streamed first pass
has checked their encoding and header.

A one-file export (``<facilitateur>_<anything>.csv``) is split into the entities its headers carry: each line
gives a row to every table it holds a value for, and a row repeated on several lines counts once, in its
table's ``rows_in`` (``details.from_one_file_exports`` gives the lines, rows and merged repeats). Its
``source_layout`` = ``wide:<entities>`` names the tables it fed: a load interrupted between two tables, or a
key rotation that deleted the person-level tables, reloads only the tables that miss it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.core.context import RunContext
from jobs.core.delta_io import read_table, table_exists, write_table
from jobs.core.labels import literal_map
from jobs.core.privacy import check_lake_key
from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore
from jobs.ingest.landing import read_manifest
from jobs.ingest.raw_files import (
    FILE_QUARANTINE_SCHEMA,
    FILE_QUARANTINE_TABLE,
    head_of,
    quarantine_files,
    read_files,
    spark_path,
)
from jobs.ingest.tabular import (
    MAX_FIELD,
    TabularFile,
    TabularFileError,
    contract_for,
    describe_values,
    entity_plan,
    sample,
)
from jobs.ingest.wide import read_file
from schemas.sources import Entity, SourceContract

LINEAGE_FIELDS = [
    T.StructField("source_file", T.StringType(), False),
    T.StructField("source_sha256", T.StringType(), False),
    T.StructField("record_index", T.IntegerType(), True),
]
# How each file is written (recorded per row: a table mixes files of every dialect).
DIALECT_COLUMNS = ["source_layout", "source_encoding", "source_delimiter", "source_line_ending", "source_decimal",
                   "source_date_formats"]
STATS = "__file__"  # the entity of the one row per file that carries its counts (never written)
BATCH_ROWS = 20_000  # rows per Arrow batch sent back by a worker
# Windows-1252's characters where ISO-8859-1 has C1 controls (Spark's CSV reader knows no cp1252).
_C1 = "".join(chr(c) for c in range(0x80, 0xA0) if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
_CP1252 = bytes(range(0x80, 0xA0)).decode("cp1252", "ignore")


def output_columns(contract: SourceContract) -> list[str]:
    """Every canonical column of every entity of the source, once (the rows of all entities in one frame)."""
    return list(dict.fromkeys(c for e in contract.entities.values() for c in e.output_columns))


def parsed_schema(contract: SourceContract) -> T.StructType:
    strings = ["facilitateur", "entity", *DIALECT_COLUMNS, *output_columns(contract), "extra_fields", "row_issue",
               "file_error", "raw_head", "file_stats"]
    return T.StructType([*LINEAGE_FIELDS, *[T.StructField(c, T.StringType(), True) for c in strings]])


def table_columns(entity: Entity) -> list[str]:
    """Columns of an entity's bronze table, in order (``load_id``, ``ingested_at`` added at the write)."""
    return ["source_file", "source_sha256", "record_index", "facilitateur", *entity.output_columns, "extra_fields",
            "row_issue", *DIALECT_COLUMNS]


def _file_frames(f, contract: SourceContract, key: bytes, store: ObjectStore, names: list[str]
                 ) -> Iterator[pd.DataFrame]:
    """The rows of one landed file in batches, then one row of counts; or one ``file_error`` row. A file that
    fails after some batches (a broken quote deep inside) ends with its ``file_error`` row: the driver then
    drops its other rows (loaded whole or refused whole)."""
    match = contract.match(f.original_name)
    base = {"source_file": f.source_file, "source_sha256": f.source_sha256, "facilitateur": match.facilitateur}

    def frame(rows: list[dict]) -> pd.DataFrame:
        # object dtype throughout: a column absent from every row must stay "strings", not NaN floats
        return pd.DataFrame(rows, columns=names, dtype=object).astype({"record_index": "Int32"})

    try:
        reading = read_file(lambda: store.open(f.uri), contract, match, key)
        d = reading.dialect
        lineage = {**base, "source_layout": reading.layout, "source_encoding": d.encoding,
                   "source_delimiter": d.delimiter, "source_line_ending": d.line_ending, "source_decimal": d.decimal,
                   "source_date_formats": d.date_formats}
        rows: list[dict] = []
        for entity, index, record in reading.records():
            extra = record["extra_fields"]
            rows.append({**record, **lineage, "entity": entity, "record_index": index,
                         "extra_fields": json.dumps(extra, ensure_ascii=False) if extra else None})
            if len(rows) >= BATCH_ROWS:
                yield frame(rows)
                rows = []
        r = reading.recognition
        stats = {**reading.stats, "entities": reading.entities, "unknown_columns": r.unknown,
                 "dropped_columns": r.dropped, "partial_entities": r.partial, "dialect": asdict(d)}
        rows.append({**base, "entity": STATS, "file_stats": json.dumps(stats, ensure_ascii=False)})
        yield frame(rows)
    except TabularFileError as exc:
        head = head_of(store, f.uri, 300).decode("utf-8", "replace")
        if match.entity is None or match.entity.person_level:  # the header line only: the next ones are persons
            head = head.splitlines()[0] if head else head
        yield frame([{**base, "file_error": str(exc), "raw_head": head}])


def parse_files(files: DataFrame, contract: SourceContract, key: bytes, settings: Settings) -> DataFrame:
    """Landed files (``read_files``) -> the rows of every entity they hold (column ``entity``), one counts row
    per file, or one ``file_error`` row per refused file."""
    schema = parsed_schema(contract)
    names = schema.fieldNames()

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        store = ObjectStore(settings)
        for batch in batches:
            for f in batch.itertuples(index=False):
                yield from _file_frames(f, contract, key, store, names)

    return files.mapInPandas(parse, schema)


def loaded_files(spark: SparkSession, settings: Settings, tables: list[str]) -> dict[str, dict[str, str | None]]:
    """table -> {checksum of each file it holds: that file's ``source_layout``}."""
    out: dict[str, dict[str, str | None]] = {}
    for table in tables:
        if not table_exists(spark, settings.table_uri(table)):
            out[table] = {}
            continue
        df = read_table(spark, settings, table)
        layout = F.col("source_layout") if "source_layout" in df.columns else F.lit(None).cast("string")
        out[table] = {r[0]: r[1] for r in df.select("source_sha256", layout).distinct().collect()}
    return out


def layout_tables(contract: SourceContract, layout: str | None) -> set[str]:
    """Tables a one-file export fed, from its ``source_layout`` (``wide:operations+heures``)."""
    if not layout or not layout.startswith("wide:"):
        return set()
    return {contract.entities[n].table for n in layout[5:].split("+") if n in contract.entities}


def pending(spark: SparkSession, settings: Settings, contract: SourceContract
            ) -> tuple[list[dict], dict[str, set[str]], list[dict]]:
    """(files to load, tables each of them already fed, files whose name says nothing). A file is loaded once:
    it is done when its checksum is in the file quarantine, in a table (one-entity files), or in every table
    its layout names (one-file exports)."""
    tables = [e.table for e in contract.entities.values()]
    loaded = loaded_files(spark, settings, tables)
    quarantined = read_table(spark, settings, FILE_QUARANTINE_TABLE, FILE_QUARANTINE_SCHEMA)
    refused = {r[0] for r in quarantined.filter(F.col("source") == contract.name).select("source_sha256").collect()}
    todo, fed, unknown = [], {}, []
    for e in sorted(read_manifest(settings, contract.name), key=lambda e: e["uri"]):
        sha = e["sha256"]
        if sha in refused:
            continue
        match = contract.match(e.get("original_name", ""))
        if match is None:
            unknown.append(e)
            continue
        present = {t for t in tables if sha in loaded[t]}
        if not present:
            todo.append(e)
        elif match.entity is None:
            layout = next(loaded[t][sha] for t in sorted(present))
            if layout_tables(contract, layout) - present:
                todo.append(e)
                fed[sha] = present
    return todo, fed, unknown


@contextmanager
def _conf(spark: SparkSession, key: str, value: str):
    previous = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        spark.conf.unset(key) if previous is None else spark.conf.set(key, previous)


def spark_csv_rows(spark: SparkSession, entry: dict, contract: SourceContract, entity: Entity, reading: TabularFile,
                   headers: list[str], plan) -> DataFrame:
    """One large CSV file read by Spark (parallel splits, constant memory), mapped like the Python reader:
    header positions -> canonical columns, unknown columns into ``extra_fields`` (when kept), a row with the
    wrong number of fields flagged in ``row_issue``. Direct identifiers are never selected. No line number:
    a file read in parallel splits has none to give cheaply (``record_index`` is null)."""
    n = len(headers)
    schema = T.StructType([T.StructField(f"c{i}", T.StringType()) for i in range(n)]
                          + [T.StructField("_corrupt", T.StringType())])
    d = reading.dialect
    raw = spark.read.csv(spark_path(entry["uri"]), schema=schema, sep=d.delimiter, header=True,
                         encoding="ISO-8859-1" if d.encoding == "cp1252" else "UTF-8", mode="PERMISSIVE",
                         columnNameOfCorruptRecord="_corrupt", multiLine=False, quote='"', escape='"',
                         ignoreLeadingWhiteSpace=True, ignoreTrailingWhiteSpace=True, maxCharsPerColumn=MAX_FIELD)

    def cell(i: int) -> Column:
        c = F.col(f"c{i}")
        return F.translate(c, _C1, _CP1252) if d.encoding == "cp1252" else c

    out = {c: F.lit(None).cast("string") for c in entity.output_columns}
    for i, col in plan.mapping.items():
        if col.kind == "direct_identifier":
            continue
        if col.kind != "text":
            raise RuntimeError(f"{contract.name}: reader spark_csv cannot read a {col.kind} column ({col.name})")
        out[col.name] = cell(i)
    firsts = {}
    for i in plan.extra:
        firsts.setdefault(headers[i], i)
    extra = F.lit(None).cast("string")
    if firsts:
        json_text = F.to_json(F.struct(*[cell(i).alias(h) for h, i in firsts.items()]))
        extra = F.when(json_text != "{}", json_text)
    lineage = {"source_layout": "entity", "source_encoding": d.encoding, "source_delimiter": d.delimiter,
               "source_line_ending": d.line_ending, "source_decimal": d.decimal,
               "source_date_formats": d.date_formats}
    return raw.select(
        F.lit(entry["uri"]).alias("source_file"), F.lit(entry["sha256"]).alias("source_sha256"),
        F.lit(None).cast("int").alias("record_index"), F.lit(None).cast("string").alias("facilitateur"),
        *[v.alias(k) for k, v in out.items()], extra.alias("extra_fields"),
        F.when(F.col("_corrupt").isNotNull(), F.lit(f"wrong number of fields (the header has {n})"))
        .alias("row_issue"),
        *[F.lit(v).cast("string").alias(k) for k, v in lineage.items()])


def _load_spark_csv(ctx: RunContext, contract: SourceContract, entries: list[dict]) -> tuple[list[dict], list]:
    """Reports of the files read by Spark, and the refused ones (as quarantine rows)."""
    spark, settings = ctx.spark, ctx.settings
    store = ObjectStore(settings)
    frames: dict[str, list[tuple[dict, DataFrame]]] = {}
    refused: dict[str, list[tuple]] = {}
    for e in entries:
        entity = contract.match(e.get("original_name", "")).entity
        try:
            reading = TabularFile(lambda e=e: store.open(e["uri"]))  # first pass: the whole file decodes
            rows = reading.rows()
            headers = [h or "" for h in next(rows, None) or []]
            if not headers:
                raise TabularFileError("empty file: no header line")
            plan, _, _ = entity_plan(contract, entity, headers, None)
            head, _ = sample(rows)
            rows.close()
            positions = [i for i, c in plan.mapping.items() if c.kind != "direct_identifier"]
            reading.dialect.decimal, reading.dialect.date_formats = describe_values(head, positions)
            frames.setdefault(entity.name, []).append(
                (e, spark_csv_rows(spark, e, contract, entity, reading, headers, plan)))
        except TabularFileError as exc:
            head = head_of(store, e["uri"], 300).decode("utf-8", "replace")
            refused.setdefault(entity.name, []).append(
                (e["uri"], e["sha256"], f"{contract.name}.file_refused", str(exc),
                 head.splitlines()[0] if entity.person_level and head else head))
    reports = []
    for name in sorted(set(frames) | set(refused)):
        entity, loaded, bad = contract.entities[name], frames.get(name, []), refused.get(name, [])
        n, issues = 0, 0
        if loaded:
            rows = loaded[0][1]
            for _, df in loaded[1:]:
                rows = rows.unionByName(df)
            rows = rows.select(*table_columns(entity), F.lit(ctx.run_id).alias("load_id"),
                               F.lit(ctx.now).cast("timestamp").alias("ingested_at"))
            # Every column parsed, so that a line's number of fields is checked even where few are kept.
            with _conf(spark, "spark.sql.csv.parser.columnPruning.enabled", "false"):
                write_table(rows, settings, entity.table, mode="append")
            shas = [e["sha256"] for e, _ in loaded]
            counts = spark.read.format("delta").load(settings.table_uri(entity.table)).filter(
                (F.col("load_id") == ctx.run_id) & F.col("source_sha256").isin(shas)).agg(
                F.count("*").alias("n"), F.count("row_issue").alias("issues")).first()
            n, issues = counts.n, counts.issues
        # Spark keeps every line (a malformed one flagged): the rows written are the lines read.
        reports.append({"table": entity.table, "files": len(loaded) + len(bad), "rows_in": n + len(bad),
                        "rows_written": n, "rows_quarantined": len(bad),
                        "details": {"files_refused": len(bad), "rows_with_issue": issues, "reader": "spark_csv"}})
    return reports, [r for rs in refused.values() for r in rs]


def _load_python(ctx: RunContext, contract: SourceContract, entries: list[dict], fed: dict[str, set[str]]
                 ) -> tuple[list[dict], list, list[dict]]:
    """(table reports, refused files as quarantine rows, per-file counts of one-file exports)."""
    spark, settings = ctx.spark, ctx.settings
    key = settings.pseudonymization_key_bytes()
    if any(e.person_level for e in contract.entities.values()):
        check_lake_key(settings, ObjectStore(settings))
    parsed = parse_files(read_files(spark, entries), contract, key, settings).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        errors = parsed.filter(F.col("file_error").isNotNull()).select(
            "source_file", "source_sha256", "file_error", "raw_head").collect()
        refused_shas = sorted({r.source_sha256 for r in errors})
        stats = {r.source_sha256: json.loads(r.file_stats) for r in parsed.filter(F.col("entity") == STATS).select(
            "source_sha256", "file_stats").collect() if r.source_sha256 not in refused_shas}
        layouts = {sha: "wide:" + "+".join(n for n in contract.entities if s["rows"].get(n))
                   for sha, s in stats.items() if s["layout"] == "wide"}
        layout = F.col("source_layout")
        if layouts:
            layout = F.coalesce(literal_map(layouts)[F.col("source_sha256")], layout)
        good = parsed.filter(F.col("file_error").isNull() & (F.col("entity") != STATS)).withColumn(
            "source_layout", layout)
        if refused_shas:
            good = good.filter(~F.col("source_sha256").isin(refused_shas))
        by_sha = {e["sha256"]: e for e in entries}
        reports = []
        for name, entity in contract.entities.items():
            one_entity = [e for e in entries if contract.match(e.get("original_name", "")).entity is entity]
            wide = {sha: s for sha, s in stats.items() if s["layout"] == "wide" and name in s["entities"]}
            skip = [sha for sha, tables in fed.items() if entity.table in tables]
            if not one_entity and not any(s["rows"].get(name) for s in wide.values()):
                continue
            rows = good.filter(F.col("entity") == name)
            if skip:
                rows = rows.filter(~F.col("source_sha256").isin(skip))
            rows = rows.select(*table_columns(entity), F.lit(ctx.run_id).alias("load_id"),
                               F.lit(ctx.now).cast("timestamp").alias("ingested_at"))
            counts = rows.agg(F.count("*").alias("n"), F.count("row_issue").alias("issues")).first()
            write_table(rows, settings, entity.table, mode="append")
            n_bad = sum(1 for sha in refused_shas if by_sha[sha] in one_entity)
            fresh = {sha: s for sha, s in wide.items() if sha not in skip}
            details = {"files_refused": n_bad, "rows_with_issue": counts.issues}
            if fresh:
                details["from_one_file_exports"] = {
                    "files": len(fresh), "lines": sum(s["rows"].get(name, 0) + s["merged"].get(name, 0)
                                                      for s in fresh.values()),
                    "rows": sum(s["rows"].get(name, 0) for s in fresh.values()),
                    "merged": sum(s["merged"].get(name, 0) for s in fresh.values())}
            # A refused file counts as one quarantined input (its lines were never kept).
            reports.append({"table": entity.table, "files": len(one_entity) + len(fresh),
                            "rows_in": counts.n + n_bad, "rows_written": counts.n, "rows_quarantined": n_bad,
                            "details": details})
        wide_refused = [sha for sha in refused_shas if contract.match(by_sha[sha].get("original_name", "")).entity
                        is None]
        if wide_refused:
            reports.append({"table": f"{FILE_QUARANTINE_TABLE} ({contract.name} one-file exports)",
                            "files": len(wide_refused), "rows_in": len(wide_refused), "rows_written": 0,
                            "rows_quarantined": len(wide_refused),
                            "details": {"files_refused": [by_sha[s].get("original_name") for s in wide_refused]}})
        refused = [(r.source_file, r.source_sha256, f"{contract.name}.file_refused", r.file_error, r.raw_head)
                   for r in errors]
        exports = [{"file": by_sha[sha].get("original_name"), **{k: s[k] for k in (
            "entities", "lines", "rows", "merged", "lines_without_value", "partial_entities", "dropped_columns")},
                    "dialect": s["dialect"]} for sha, s in sorted(stats.items()) if s["layout"] == "wide"]
        return reports, refused, exports
    finally:
        parsed.unpersist()


def forget_files(spark: SparkSession, settings: Settings, contract: SourceContract, facilitateur: str,
                 loaded: bool = False) -> dict[str, int]:
    """Make a facilitator's landed files pending again, to be read with its current declaration: those refused
    at bronze (their ``quarantine/files`` rows deleted) and, with ``loaded``, those loaded too (their rows
    deleted from the source's bronze tables). The raw files stay; nothing is landed again. Returns the rows
    deleted per table (Delta keeps the deleted versions until VACUUM)."""
    from delta.tables import DeltaTable

    from jobs.core.locks import table_lock

    mine = F.col("source_file").rlike(rf"/[0-9a-f]{{16}}_{re.escape(facilitateur)}_[^/]*$")
    targets = [(FILE_QUARANTINE_TABLE, (F.col("source") == contract.name) & mine)]
    if loaded:
        targets += [(e.table, F.col("facilitateur") == facilitateur) for e in contract.entities.values()]
    deleted = {}
    for table, condition in targets:
        uri = settings.table_uri(table)
        if not table_exists(spark, uri):
            continue
        with table_lock(settings, table):
            n = spark.read.format("delta").load(uri).filter(condition).count()
            if n:
                DeltaTable.forPath(spark, uri).delete(condition)
        deleted[table] = n
    return deleted


def run(ctx: RunContext, source: str) -> dict:
    """Reads the landed files of a tabular source (facilitators, Grand Paris, structures, SIRENE) not yet
    loaded; writes (appends) their rows to ``bronze/<source>_<entity>`` (canonical columns as text, person ids
    pseudonymised, lineage of each file's layout and dialect) and refuses unreadable or unrecognised files whole
    into ``quarantine/files``. A facilitator's one-file export feeds every table its headers carry. Returns
    the tables' reports (``tables``) and, per one-file export, its lines, rows and dialect (``one_file_exports``)."""
    spark, settings, load_id, now = ctx.spark, ctx.settings, ctx.run_id, ctx.now
    contract = contract_for(settings, source)  # wrong declarations raise here, before anything is read
    entries, fed, unknown = pending(spark, settings, contract)
    reports, refused, exports = [], [], []
    if unknown:
        refused += [(e["uri"], e["sha256"], f"{source}.file_not_recognised",
                     f"file name {e.get('original_name')!r} does not name a {source} entity "
                     f"(expected pattern: {contract.file_pattern.pattern}"
                     + (f", or {contract.wide_file_pattern.pattern} for a one-file export"
                        if contract.wide_file_pattern else "") + ")", None) for e in unknown]
    if contract.reader == "spark_csv":
        big = [e for e in entries if not e.get("original_name", "").lower().endswith(".xlsx")]
        entries = [e for e in entries if e not in big]
        if big:
            r, q = _load_spark_csv(ctx, contract, big)
            reports, refused = reports + r, refused + q
    if entries:
        r, q, exports = _load_python(ctx, contract, entries, fed)
        reports, refused = reports + r, refused + q
    if refused:
        bad = spark.createDataFrame(refused, "source_file string, source_sha256 string, rule_id string, "
                                             "message string, raw_head string")
        quarantine_files(bad, settings, source, load_id, now)
    if unknown:
        reports.append({"table": f"quarantine/files ({source})", "files": len(unknown), "rows_in": len(unknown),
                        "rows_written": 0, "rows_quarantined": len(unknown),
                        "details": {"files_not_recognised": [e.get("original_name") for e in unknown]}})
    return {"tables": reports, **({"one_file_exports": exports} if exports else {})}
