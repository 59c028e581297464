"""Entity resolution: companies of every source <-> SIRENE <-> structure registers, by SIRET then SIREN;
facilitators' operations and Grand Paris contracts <-> DECP contracts, by (buyer SIRET, contract id).

The match quality is recorded, never hidden: ``siret`` (exact establishment), ``siren`` (same legal unit,
other establishment), ``aucun``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.core.context import RunContext
from jobs.core.delta_io import write_table
from schemas import referential as ref

RESOLUTION_TABLE = "silver/resolution_entreprises"
LINKS_TABLE = "silver/liens_decp"
BUYERS_TABLE = "silver/acheteurs"


def buyer_category(categorie_juridique: Column) -> Column:
    """Buyer category from the SIRENE catégorie juridique (longest matching prefix of the referential)."""
    expr = None
    for prefix, category in ref.buyer_categories():
        cond = categorie_juridique.startswith(prefix)
        expr = F.when(cond, F.lit(category)) if expr is None else expr.when(cond, F.lit(category))
    return F.when(categorie_juridique.isNull(), F.lit(ref.UNKNOWN)).otherwise(expr.otherwise(F.lit("AUTRE")))


def buyers(marches: DataFrame, sirene: DataFrame) -> DataFrame:
    """One row per buyer SIRET of the current contracts, named and categorised from SIRENE."""
    b = marches.groupBy(F.col("acheteur_id").alias("siret")).agg(
        F.max("acheteur_nom").alias("nom_decp"), F.count("*").alias("nb_marches"))
    s = sirene.select("siret", "denomination", "categorie_juridique", "commune", "departement")
    return b.join(s, "siret", "left").select(
        "siret", F.coalesce("denomination", "nom_decp").alias("nom"), "categorie_juridique",
        buyer_category(F.col("categorie_juridique")).alias("categorie_acheteur"), "commune", "departement",
        "nb_marches", F.when(F.col("denomination").isNotNull() | F.col("categorie_juridique").isNotNull(), "siret")
        .otherwise("aucun").alias("sirene_match"))


def resolve(companies: DataFrame, sirene: DataFrame, structures: DataFrame) -> DataFrame:
    """(source, source_key, siret) -> SIRENE and structure-register matches with their quality."""
    s_siret = sirene.select(F.col("siret").alias("m_siret"), F.col("categorie_entreprise"), "ess", "naf")
    s_siren = (sirene.select(F.col("siren").alias("m_siren"), F.col("categorie_entreprise").alias("cat_siren"),
                             F.col("ess").alias("ess_siren"), F.col("naf").alias("naf_siren"))
               .dropDuplicates(["m_siren"]))
    r_siret = structures.select(F.col("siret").alias("r_siret"), F.col("kind").alias("kind_siret"),
                                F.col("famille").alias("famille_siret"))
    r_siren = (structures.select(F.substring("siret", 1, 9).alias("r_siren"), F.col("kind").alias("kind_siren"),
                                 F.col("famille").alias("famille_siren")).dropDuplicates(["r_siren"]))
    c = companies.withColumn("siren", F.substring("siret", 1, 9))
    out = (c.join(s_siret, c.siret == s_siret.m_siret, "left")
            .join(s_siren, c.siren == s_siren.m_siren, "left")
            .join(r_siret, c.siret == r_siret.r_siret, "left")
            .join(r_siren, c.siren == r_siren.r_siren, "left"))
    return out.select(
        "source", "source_key", "siret",
        F.when(F.col("m_siret").isNotNull(), "siret").when(F.col("m_siren").isNotNull(), "siren")
        .otherwise("aucun").alias("sirene_match"),
        F.coalesce("categorie_entreprise", "cat_siren").alias("categorie_entreprise"),
        F.coalesce("ess", "ess_siren").alias("ess"), F.coalesce("naf", "naf_siren").alias("naf"),
        F.when(F.col("r_siret").isNotNull(), "siret").when(F.col("r_siren").isNotNull(), "siren")
        .otherwise("aucun").alias("structure_match"),
        F.coalesce("kind_siret", "kind_siren").alias("structure_kind"),
        F.coalesce("famille_siret", "famille_siren").alias("structure_famille"),
    )


def link_decp(keys: DataFrame, marches: DataFrame) -> DataFrame:
    """(source, source_key, decp_uid) -> whether that uid is a contract of silver/marches."""
    known = marches.select(F.col("uid").alias("decp_uid"), F.lit(True).alias("in_decp"))
    return keys.join(known, "decp_uid", "left").select(
        "source", "source_key", "decp_uid", F.coalesce("in_decp", F.lit(False)).alias("in_decp"))


def run(ctx: RunContext) -> dict:
    """Reads the silver companies (DECP titulaires, facilitators' companies), SIRENE and the structure registers;
    writes ``silver/resolution_entreprises`` (each company ↔ SIRENE ↔ registers, by identifier only),
    ``silver/liens_decp`` (operations and Grand Paris contracts ↔ DECP) and ``silver/acheteurs``."""
    spark, settings = ctx.spark, ctx.settings
    read = lambda name: spark.read.format("delta").load(settings.table_uri(name))  # noqa: E731
    titulaires = read("silver/marches_titulaires").filter(F.col("type_identifiant") == "SIRET").select(
        F.lit("decp_titulaire").alias("source"), F.col("uid").alias("source_key"),
        F.col("titulaire_id").alias("siret"))
    entreprises = read("silver/entreprises_operations").select(
        F.lit("facilitateur_entreprise").alias("source"), F.col("operation_key").alias("source_key"), "siret")
    resolution = resolve(titulaires.unionByName(entreprises), read("silver/entreprises_sirene"),
                         read("silver/structures"))
    write_table(resolution, settings, RESOLUTION_TABLE)
    operations = read("silver/operations").select(
        F.lit("operation").alias("source"), F.col("operation_key").alias("source_key"),
        F.concat("donneur_ordre_siret", "decp_id").alias("decp_uid"))
    grand_paris = read("silver/grand_paris_contrats").select(
        F.lit("grand_paris").alias("source"), F.col("decp_uid").alias("source_key"), "decp_uid")
    links = link_decp(operations.unionByName(grand_paris), read("silver/marches"))
    write_table(links, settings, LINKS_TABLE)
    write_table(buyers(read("silver/marches"), read("silver/entreprises_sirene")), settings, BUYERS_TABLE)
    buyer_rate = read(BUYERS_TABLE).agg(F.count("*").alias("n"),
                                        F.avg((F.col("sirene_match") == "siret").cast("double")).alias("r")).first()
    rates = {}
    for row in read(RESOLUTION_TABLE).groupBy("source").agg(
            F.count("*").alias("n"), F.avg((F.col("sirene_match") == "siret").cast("double")).alias("sirene_siret"),
            F.avg((F.col("sirene_match") != "aucun").cast("double")).alias("sirene_any"),
            F.avg((F.col("structure_match") != "aucun").cast("double")).alias("structure_any")).collect():
        rates[row["source"]] = {"rows": row["n"], "sirene_siret_rate": round(row["sirene_siret"], 4),
                                "sirene_siret_or_siren_rate": round(row["sirene_any"], 4),
                                "structure_register_rate": round(row["structure_any"], 4)}
    for row in read(LINKS_TABLE).groupBy("source").agg(
            F.count("*").alias("n"), F.avg(F.col("in_decp").cast("double")).alias("rate")).collect():
        rates[f"{row['source']}_to_decp"] = {"rows": row["n"], "linked_rate": round(row["rate"], 4)}
    rates["acheteurs_to_sirene"] = {"rows": buyer_rate["n"], "sirene_siret_rate": round(buyer_rate["r"] or 0, 4)}
    return {"stage": "entity_resolution", "match_rates": rates}
