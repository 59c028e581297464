"""bronze -> silver: the current version of each marché, its titulaires, and the quarantine.

Every bronze marché record ends in ``silver/marches`` (one row per uid: the latest publication),
or in ``quarantine/marches`` with its raw payload, the rule ids and readable messages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from datetime import date

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.bronze.decp import BRONZE_SCHEMA, BRONZE_TABLE
from jobs.core import quality
from jobs.core.context import RunContext
from jobs.core.delta_io import read_table, table_exists, write_table
from jobs.core.settings import PROJECT_ROOT, Settings
from jobs.core.wap import write_audit_publish
from jobs.ingest.decp_records import KIND_MARCHE, KIND_UNKNOWN
from jobs.ingest.raw_files import landed_name
from jobs.silver.decp_normalize import normalize_marche
from schemas.rules import RULES

SILVER_TABLE = "silver/marches"
TITULAIRES_TABLE = "silver/marches_titulaires"
QUARANTINE_TABLE = "quarantine/marches"

TITULAIRE_TYPE = T.StructType([
    T.StructField("type_identifiant", T.StringType()),
    T.StructField("id", T.StringType()),
    T.StructField("denomination", T.StringType()),
])
MODIFICATION_TYPE = T.StructType([
    T.StructField("rang", T.IntegerType()), T.StructField("date_modification", T.StringType()),
    T.StructField("montant", T.DoubleType()), T.StructField("duree_mois", T.IntegerType()),
    T.StructField("objet", T.StringType()), T.StructField("n_titulaires", T.IntegerType()),
])
NORMALIZED_FIELDS = [
    ("uid", T.StringType()), ("id", T.StringType()), ("acheteur_id", T.StringType()),
    ("acheteur_nom", T.StringType()), ("decp_format", T.StringType()), ("nature", T.StringType()),
    ("is_accord_cadre", T.BooleanType()), ("objet", T.StringType()), ("code_cpv", T.StringType()),
    ("procedure", T.StringType()), ("lieu_execution_code", T.StringType()),
    ("lieu_execution_type_code", T.StringType()), ("departement_execution", T.StringType()),
    ("departement_method", T.StringType()), ("duree_mois", T.IntegerType()),
    ("date_notification", T.StringType()), ("date_publication", T.StringType()), ("montant", T.DoubleType()),
    ("montant_publie", T.DoubleType()), ("montant_exclu_motif", T.StringType()), ("forme_prix", T.StringType()),
    ("considerations_sociales", T.ArrayType(T.StringType())),
    ("considerations_environnementales", T.ArrayType(T.StringType())),
    ("titulaires", T.ArrayType(TITULAIRE_TYPE)), ("n_titulaires", T.IntegerType()),
    ("n_modifications", T.IntegerType()), ("modifications", T.ArrayType(MODIFICATION_TYPE)),
    ("issues", quality.ISSUE_TYPE),
]
LINEAGE = ["source_file", "source_sha256", "record_index", "load_id", "ingested_at"]
NORMALIZED_SCHEMA = T.StructType(
    [T.StructField(n, t) for n, t in NORMALIZED_FIELDS]
    + [BRONZE_SCHEMA[c] for c in LINEAGE] + [BRONZE_SCHEMA["record_json"]]
)
SILVER_COLUMNS = [n for n, _ in NORMALIZED_FIELDS if n not in ("titulaires", "issues", "modifications")] + LINEAGE
MODIFICATIONS_TABLE = "silver/marches_modifications"
# The Python normaliser's output per bronze record, kept between loads: a monthly load normalises only
# the new loads instead of the whole history (bench, issue 8; decision 99).
NORMALIZED_TABLE = "silver/marches_normalized"


def _normalize_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    names = [n for n, _ in NORMALIZED_FIELDS]
    for batch in batches:
        rows = []
        for rec in batch.itertuples(index=False):
            try:
                payload = json.loads(rec.record_json)
                out = normalize_marche(payload, rec.decp_format)
            except (ValueError, RecursionError) as exc:
                out = {"issues": [{"rule_id": "decp.record_shape", "message": f"unreadable record: {exc}"}]}
            row = {n: out.get(n) for n in names}
            row.update({c: getattr(rec, c) for c in [*LINEAGE, "record_json"]})
            rows.append(row)
        yield pd.DataFrame(rows, columns=NORMALIZED_SCHEMA.fieldNames())


def normalize(bronze: DataFrame) -> DataFrame:
    """Bronze marché records (and records of unknown kind) -> typed columns plus normaliser issues."""
    records = bronze.filter(F.col("record_kind").isin(KIND_MARCHE, KIND_UNKNOWN))
    out = records.select(*LINEAGE, "record_json", "decp_format").mapInPandas(_normalize_batches, NORMALIZED_SCHEMA)
    return (out.withColumn("date_notification", F.to_date("date_notification"))
               .withColumn("date_publication", F.to_date("date_publication")))


@functools.cache
def normalizer_version() -> str:
    """Hash of the code and referential the normaliser depends on: any change re-normalises everything."""
    root = PROJECT_ROOT
    files = [root / "jobs" / "silver" / "decp_normalize.py", root / "jobs" / "silver" / "marches.py",
             root / "schemas" / "rules.py", *sorted((root / "schemas" / "referential").rglob("*"))]
    digest = hashlib.sha256()
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def normalized_incremental(spark: SparkSession, settings: Settings, bronze: DataFrame) -> tuple[DataFrame, dict]:
    """``normalize(bronze)``, reusing what an earlier load normalised with the same normaliser version.

    Bronze is append-only and each load appends in one commit, so a load whose record count is unchanged
    is the same set of records: its normalised rows are reused. Other loads (new, grown, or normalised by
    another version) are normalised now. Returns the frame and what was reused/normalised.
    """
    version = normalizer_version()
    records = bronze.filter(F.col("record_kind").isin(KIND_MARCHE, KIND_UNKNOWN))
    in_bronze = {r["load_id"]: r["n"] for r in records.groupBy("load_id").agg(F.count("*").alias("n")).collect()}
    uri = settings.table_uri(NORMALIZED_TABLE)
    cached_counts: dict = {}
    stale = False
    if table_exists(spark, uri):
        cached = spark.read.format("delta").load(uri)
        if "normalizer_version" in cached.columns:
            for r in cached.groupBy("load_id", "normalizer_version").agg(F.count("*").alias("n")).collect():
                if r["normalizer_version"] == version and in_bronze.get(r["load_id"]) == r["n"]:
                    cached_counts[r["load_id"]] = r["n"]
                else:
                    stale = True
        else:
            stale = True
    reuse = sorted(cached_counts)
    fresh = normalize(records.filter(~F.col("load_id").isin(reuse))).withColumn("normalizer_version",
                                                                               F.lit(version))
    if stale:  # rows of another version or of a changed load: rewrite the cache without them
        keep = spark.read.format("delta").load(uri).filter(
            (F.col("normalizer_version") == version) & F.col("load_id").isin(reuse)) if reuse else None
        rows = fresh if keep is None else keep.unionByName(fresh)
        write_table(rows, settings, NORMALIZED_TABLE)
    elif len(reuse) < len(in_bronze):
        write_table(fresh, settings, NORMALIZED_TABLE, mode="append")
    out = spark.read.format("delta").load(uri).drop("normalizer_version") if in_bronze else normalize(records)
    return out, {"loads_reused": len(reuse), "loads_normalized": len(in_bronze) - len(reuse),
                 "records_reused": sum(cached_counts.values()),
                 "records_normalized": sum(in_bronze.values()) - sum(cached_counts.values())}


def deduplicate(valid: DataFrame) -> tuple[DataFrame, DataFrame]:
    """One row per uid: the latest publication wins (then most modifications, then latest load).

    Returns (kept, superseded); superseded rows carry a ``decp.duplicate`` issue naming the winner.
    """
    order = Window.partitionBy("uid").orderBy(
        F.col("date_publication").desc_nulls_last(), F.col("n_modifications").desc(),
        F.col("ingested_at").desc(), landed_name("source_file").desc(), F.col("source_file").desc(),
        F.col("record_index").desc(),
    )
    ranked = (valid.withColumn("_rank", F.row_number().over(order))
                   .withColumn("_winner", F.first(F.concat_ws("#", "source_file", "record_index")).over(order)))
    kept = ranked.filter("_rank = 1").drop("_rank", "_winner")
    rule = RULES["decp.duplicate"]
    superseded = ranked.filter("_rank > 1").withColumn(
        "issues",
        F.array(F.struct(F.lit(rule.id).alias("rule_id"),
                         F.concat(F.lit(f"{rule.message} ("), F.col("_winner"), F.lit(")")).alias("message"))),
    ).drop("_rank", "_winner")
    return kept, superseded


def modifications_history(kept: DataFrame) -> DataFrame:
    """One row per modification of each current contract, in the order they were applied."""
    return kept.select("uid", F.explode("modifications").alias("m")).select(
        "uid", "m.rang", F.to_date("m.date_modification").alias("date_modification"), "m.montant",
        "m.duree_mois", "m.n_titulaires", "m.objet")


def check(bronze: DataFrame, today: date) -> DataFrame:
    """Bronze records normalised (the Python normaliser) with their rule issues."""
    return check_normalized(normalize(bronze), today)


def check_normalized(normalized: DataFrame, today: date) -> DataFrame:
    """Normalised records with their rule issues (the rules that depend on today are applied every run)."""
    return quality.apply_rules(normalized, "marches", today)


def build(bronze: DataFrame, today: date) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    """Pure transform: bronze -> (silver marches, titulaires, quarantine, modifications history)."""
    return split(check(bronze, today))


def split(checked: DataFrame) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    """Checked records -> (silver marches, titulaires, quarantine, modifications history)."""
    valid, invalid = quality.split_valid(checked)
    kept, superseded = deduplicate(valid)
    silver = kept.select(*SILVER_COLUMNS)
    titulaires = kept.select(
        "uid", "montant", "n_titulaires", F.posexplode("titulaires").alias("rank", "t")
    ).select(
        "uid", (F.col("rank") + 1).alias("titulaire_rank"), F.col("t.type_identifiant").alias("type_identifiant"),
        F.col("t.id").alias("titulaire_id"), F.col("t.denomination").alias("denomination"),
        # The montant is the contract's, not each titulaire's: shares never add up to more than it (and an
        # excluded amount gives no share).
        (F.col("montant") / F.col("n_titulaires")).alias("montant_part"),
    )
    quarantine = invalid.unionByName(superseded).select(
        "uid", "id", "acheteur_id", *LINEAGE,
        F.transform("issues", lambda x: x["rule_id"]).alias("rule_ids"),
        F.transform("issues", lambda x: x["message"]).alias("messages"),
        "record_json",
    )
    return silver, titulaires, quarantine, modifications_history(kept)


def silver_contract(today: date):
    fields = {f.name: f.dataType for f in NORMALIZED_SCHEMA.fields}
    fields.update(date_notification=T.DateType(), date_publication=T.DateType())
    return quality.pandera_schema("marches", {c: fields[c] for c in SILVER_COLUMNS}, today)


def run(ctx: RunContext) -> dict:
    """Reads ``bronze/decp_marches``; writes ``silver/marches`` (the current version of each contract),
    ``silver/marches_titulaires``, ``silver/marches_modifications`` and ``quarantine/marches`` (every refused or
    superseded record, with its rules). Rebuilt from all of bronze at each run: deduplication and the current
    version are properties of the whole history (decision 8)."""
    spark, settings = ctx.spark, ctx.settings
    bronze = read_table(spark, settings, BRONZE_TABLE, BRONZE_SCHEMA)
    # The normaliser runs in Python: on new loads only, then cached, rather than once per output table and
    # count (bench, issue 8).
    normalized, reuse = normalized_incremental(spark, settings, bronze)
    checked = check_normalized(normalized, ctx.today).persist(StorageLevel.MEMORY_AND_DISK)
    silver, titulaires, quarantine, modifications = split(checked)
    n_in = bronze.filter(F.col("record_kind").isin(KIND_MARCHE, KIND_UNKNOWN)).count()
    report = write_audit_publish(settings, SILVER_TABLE, silver, quarantine=quarantine,
                                 quarantine_table=QUARANTINE_TABLE, rows_in=n_in, schema=silver_contract(ctx.today))
    write_table(titulaires, settings, TITULAIRES_TABLE)
    write_table(modifications, settings, MODIFICATIONS_TABLE)
    n_tit = spark.read.format("delta").load(settings.table_uri(TITULAIRES_TABLE)).count()
    checked.unpersist()
    report["details"].update(
        titulaires_written=n_tit, normalizer=reuse,
        concessions_not_in_scope=bronze.filter(F.col("record_kind") == "contrat-concession").count())
    return report
