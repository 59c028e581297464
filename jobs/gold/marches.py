"""silver -> gold ``marches_par_mois_departement``: contracts and amounts by month of notification,
département of execution and social consideration.

A contract with several considerations counts once under each of them; the ``TOUTES`` row of a
month × département counts each contract once, so totals are read there, never summed across rows.
Amounts are the valid ones only: a contract whose published amount was excluded (placeholder, absurd) is
counted in ``nb_marches`` and in ``nb_marches_montant_exclu``, never in ``montant_total``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.core.context import RunContext
from jobs.core.delta_io import write_by_period
from jobs.core.labels import literal_map
from jobs.silver.marches import SILVER_TABLE
from schemas import referential as ref
from schemas.rules import MONTANT_EXCLUSIONS

GOLD_TABLE = "gold/marches_par_mois_departement"
ALL_CONSIDERATIONS = ref.ALL


def consideration_categories(df: DataFrame) -> DataFrame:
    """Add ``categories`` (array): the referential category of each social consideration."""
    mapping = ref.social_consideration_categories()
    unknown = mapping[""][0]
    lookup = literal_map({k: cat for k, (cat, _) in mapping.items() if k})
    cats = F.when(F.col("considerations_sociales").isNull() | (F.size("considerations_sociales") == 0),
                  F.array(F.lit(unknown))).otherwise(
        F.transform("considerations_sociales", lambda v: F.coalesce(lookup[v], F.lit(unknown))))
    return df.withColumn("categories", F.array_union(cats, F.array(F.lit(ALL_CONSIDERATIONS))))


def build(silver: DataFrame) -> DataFrame:
    """Pure transform: silver marchés -> the gold table."""
    rows = consideration_categories(silver).select(
        F.date_trunc("month", "date_notification").cast("date").alias("mois"),
        F.coalesce("departement_execution", F.lit(ref.NOT_ALLOCATED)).alias("departement"),
        F.explode("categories").alias("consideration_sociale"),
        "uid", "montant", "montant_exclu_motif",
    )
    return (rows.groupBy("mois", "departement", "consideration_sociale")
                .agg(F.countDistinct("uid").alias("nb_marches"),
                     F.coalesce(F.sum("montant"), F.lit(0.0)).alias("montant_total"),  # valid amounts only
                     F.countDistinct(F.when(F.col("montant_exclu_motif").isNotNull(), F.col("uid")))
                     .alias("nb_marches_montant_exclu"))
                .withColumn("annee", F.year("mois"))
                .orderBy("mois", "departement", "consideration_sociale"))


def run(ctx: RunContext) -> dict:
    """Reads ``silver/marches``; writes ``gold/marches_par_mois_departement``, rewriting only the months
    whose cells changed. Checks that every silver contract is counted once."""
    spark, settings = ctx.spark, ctx.settings
    full = settings.gold_full_recompute
    silver = spark.read.format("delta").load(settings.table_uri(SILVER_TABLE))
    gold = build(silver).withColumn("montant_total", F.round("montant_total", 6))
    rewritten = write_by_period(spark, gold, settings, GOLD_TABLE, "mois", full=full)
    written = spark.read.format("delta").load(settings.table_uri(GOLD_TABLE))
    n_rows = written.count()
    n_contracts = written.filter(F.col("consideration_sociale") == ALL_CONSIDERATIONS).agg(
        F.sum("nb_marches")).collect()[0][0] or 0
    n_in = silver.count()
    excluded = {motif: {"contracts": 0, "montant_publie": 0.0} for motif in MONTANT_EXCLUSIONS}
    excluded.update({r["montant_exclu_motif"]: {"contracts": r["n"], "montant_publie": round(r["publie"] or 0.0, 2)}
                     for r in silver.filter(F.col("montant_exclu_motif").isNotNull()).groupBy("montant_exclu_motif")
                     .agg(F.count("*").alias("n"), F.sum("montant_publie").alias("publie")).collect()})
    return {"table": GOLD_TABLE, "rows_in": n_in, "rows_written": n_rows, "rows_quarantined": 0,
            "details": {"contracts_counted": int(n_contracts), "periods_rewritten": [str(p) for p in rewritten],
                        "amounts_excluded": excluded,
                        "note": "rows_written are aggregate cells; contracts_counted must equal rows_in; "
                                "amounts_excluded: contracts counted whose published amount is not summed"}}
