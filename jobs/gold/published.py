"""silver -> gold: the person figures as they are published, at grains where most cells can be shown.

Why: the fine indicator tables (``gold/heures_insertion``: month × département × EPT × modality × market type ×
buyer category) hold 1 to 4 persons in most cells, so published as they are they are almost all secret. Here
each person figure is aggregated at the grain the publications show, with the figures an outsider could
combine (a département's year, the region's months) in the same table, and each cell carries
``part_principal_contributeur``: the share of its hours made by its largest contributor, one person or one
employer (the dominance rule of ``schemas/disclosure.yaml``), computed in the same aggregation.

Tables (see ``docs/indicators.md``):

- ``gold/heures_departement``: hours and distinct persons by département of execution × year, and for the
  whole (``TOTAL``) by year, quarter and month; targeted hours beside them (contractual, public).
- ``gold/heures_ept``: hours and distinct persons by EPT of the Métropole du Grand Paris (``HORS_EPT`` outside
  it) since the first month of hours (by year, half the cells would be secret on the demo data).
- ``gold/heures_modalite``: hours and distinct persons by legal modality since the first month of hours.
- ``gold/heures_departement_ept``: the same by département × EPT. Never published: EPTs straddle
  départements (Argenteuil, six Essonne communes), so the publication needs these cells to know what an
  outsider can compute from the tables above, and protects them too.
- ``gold/heures_charte``: hours and distinct persons of the Grand Paris charter's operations, beside their
  objective (the person side of ``gold/charte_grand_paris``).

Period codes (``periode``): ``2024``, ``2024-T1``, ``2024-01``; ``trimestre`` 0 and ``mois`` 0 on coarser rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas import referential as ref

HEURES_DEPARTEMENT = "gold/heures_departement"
HEURES_EPT = "gold/heures_ept"
HEURES_MODALITE = "gold/heures_modalite"
HEURES_DEPARTEMENT_EPT = "gold/heures_departement_ept"
HEURES_CHARTE = "gold/heures_charte"
TOTAL = ref.TOTAL  # all territories (or all EPTs)
ALL = ref.ALL  # all legal modalities
SHARE = "part_principal_contributeur"

# Written by the gold stage (``jobs.gold.indicators.run``); the period column of each (None: rewritten whole).
TABLES = {HEURES_DEPARTEMENT: "annee", HEURES_EPT: None, HEURES_MODALITE: None, HEURES_DEPARTEMENT_EPT: None,
          HEURES_CHARTE: None}
# Read by the publication (the crossing is protected but never published).
PUBLISHED = (HEURES_DEPARTEMENT, HEURES_EPT, HEURES_MODALITE, HEURES_CHARTE)
INTERNAL = (HEURES_DEPARTEMENT_EPT,)


def hour_rows(h: DataFrame, operations: DataFrame, contrats: DataFrame) -> DataFrame:
    """One row per person × contract × month of hours with what the cells are cut by: the operation's
    département, EPT and legal modality (unknown operation: ``NON_VENTILE`` / ``HORS_EPT`` / ``INCONNU``, so
    that every hour counts, as in ``gold/heures_insertion``), and the employer (the insertion contract's
    company) for the dominance rule."""
    ops = operations.select("operation_key", "departement", "ept", "modalite_code")
    employers = contrats.select("contrat_key", F.col("entreprise_siret").alias("employeur"))
    return (h.select("operation_key", "contrat_key", "mois", "heures", "person_key")
             .join(ops, "operation_key", "left").join(employers, "contrat_key", "left")
             .select(F.coalesce("departement", F.lit(ref.NOT_ALLOCATED)).alias("departement"),
                     F.coalesce("ept", F.lit(ref.OUTSIDE_EPT)).alias("ept"),
                     F.coalesce("modalite_code", F.lit(ref.UNKNOWN)).alias("modalite_code"),
                     F.year("mois").alias("annee"), F.quarter("mois").alias("trimestre"),
                     F.month("mois").alias("mois"), "heures", "person_key", "operation_key",
                     F.when(F.trim("employeur") != "", F.col("employeur")).alias("employeur")))


def cells(rows: DataFrame, keys: list[str], contributors: Iterable[str] = ("person_key", "employeur")) -> DataFrame:
    """Hours (``heures_realisees``), distinct persons (``n_personnes``) and ``part_principal_contributeur``
    (largest person's or employer's hours / the cell's hours; null for a cell without hours) per ``keys``.
    An unknown employer is no contributor (its hours are not pooled into one company)."""
    out = rows.groupBy(*keys).agg(F.sum("heures").alias("heures_realisees"),
                                  F.countDistinct("person_key").alias("n_personnes"))
    tops = []
    for c in contributors:
        top = (rows.filter(F.col(c).isNotNull()).groupBy(*keys, c).agg(F.sum("heures").alias("_h"))
                   .groupBy(*keys).agg(F.max("_h").alias(f"_top_{c}")))
        out = out.join(top, keys, "left")
        tops.append(F.coalesce(F.col(f"_top_{c}"), F.lit(0.0)))
    top = F.greatest(*tops) if len(tops) > 1 else tops[0]
    share = F.when(F.col("heures_realisees") > 0, top / F.col("heures_realisees"))
    return out.withColumn(SHARE, share).drop(*[f"_top_{c}" for c in contributors])


def _periods(grains: Iterable[str]) -> Column:
    """The period cells a month of hours counts in: its year, quarter and/or month (``grains``)."""
    year, quarter, month = F.col("annee"), F.col("trimestre"), F.col("mois")
    codes = {
        "annee": F.struct(year.cast("string").alias("periode"), F.lit(0).alias("trimestre"), F.lit(0).alias("mois")),
        "trimestre": F.struct(F.concat(year.cast("string"), F.lit("-T"), quarter.cast("string")).alias("periode"),
                              quarter.alias("trimestre"), F.lit(0).alias("mois")),
        "mois": F.struct(F.concat(year.cast("string"), F.lit("-"), F.lpad(month.cast("string"), 2, "0"))
                         .alias("periode"), quarter.alias("trimestre"), month.alias("mois")),
    }
    return F.array(*[codes[g] for g in grains])


def _periodic(rows: DataFrame, key: str, total_grains: Iterable[str], each_grains: Iterable[str]) -> DataFrame:
    """Cells of ``key`` (each code, by ``each_grains``) and of all codes together (``TOTAL``, by
    ``total_grains``), one row per (code, period)."""
    each = rows.withColumn("_p", F.explode(_periods(each_grains)))
    total = rows.withColumn(key, F.lit(TOTAL)).withColumn("_p", F.explode(_periods(total_grains)))
    both = each.unionByName(total).select(key, "annee", F.col("_p.periode").alias("periode"),
                                          F.col("_p.trimestre").alias("trimestre"), F.col("_p.mois").alias("mois"),
                                          "heures", "person_key", "employeur")
    return cells(both, [key, "periode", "annee", "trimestre", "mois"])


def heures_departement(rows: DataFrame, targets: DataFrame) -> DataFrame:
    """Hours and persons by département × year, and for the whole region by year, quarter and month, with
    the targeted hours (``targets``: ``gold/heures_insertion``-like rows of ``mois`` (a date), ``departement``,
    ``heures_objectif``) of the same cells."""
    out = _periodic(rows, "departement", ("annee", "trimestre", "mois"), ("annee",))
    t = targets.select("departement", F.year("mois").alias("annee"), F.quarter("mois").alias("trimestre"),
                       F.month("mois").alias("mois"), "heures_objectif")
    t = (t.withColumn("_p", F.explode(_periods(("annee",)))).unionByName(
            t.withColumn("departement", F.lit(TOTAL)).withColumn("_p", F.explode(_periods(("annee", "trimestre",
                                                                                           "mois")))))
          .groupBy("departement", F.col("_p.periode").alias("periode"))
          .agg(F.sum("heures_objectif").alias("heures_objectif")))
    # Keep only the cells with hours realised; a target without hours is still a published target row.
    full = out.join(t, ["departement", "periode"], "full_outer")
    return full.select(
        "departement", "periode",
        F.coalesce("annee", F.split("periode", "-")[0].cast("int")).alias("annee"),
        F.coalesce("trimestre", _quarter_of(F.col("periode"))).alias("trimestre"),
        F.coalesce("mois", _month_of(F.col("periode"))).alias("mois"),
        F.coalesce("heures_realisees", F.lit(0.0)).alias("heures_realisees"),
        F.coalesce("n_personnes", F.lit(0)).cast("long").alias("n_personnes"),
        F.coalesce("heures_objectif", F.lit(0.0)).alias("heures_objectif"), SHARE)


def _quarter_of(periode: Column) -> Column:
    """Quarter of a period code (0 for a year)."""
    return (F.when(periode.contains("-T"), F.substring_index(periode, "-T", -1).cast("int"))
             .when(periode.rlike(r"^\d{4}-\d{2}$"), F.ceil(F.substring(periode, 6, 2).cast("int") / 3).cast("int"))
             .otherwise(F.lit(0)))


def _month_of(periode: Column) -> Column:
    return F.when(periode.rlike(r"^\d{4}-\d{2}$"), F.substring(periode, 6, 2).cast("int")).otherwise(F.lit(0))


def _span(rows: DataFrame) -> Column:
    """The period all the hours cover, ``2018-11/2026-10`` (first and last month, ISO 8601 interval)."""
    month = F.concat(F.col("annee").cast("string"), F.lit("-"), F.lpad(F.col("mois").cast("string"), 2, "0"))
    bounds = rows.agg(F.min(month).alias("a"), F.max(month).alias("b")).first()
    return F.lit(f"{bounds['a']}/{bounds['b']}" if bounds["a"] else "")


def heures_ept(rows: DataFrame) -> DataFrame:
    """Hours and persons by EPT since the first month of hours (``periode``): by year, most EPT cells hold
    1 to 4 persons on the demo data (the whole by year is in ``heures_departement``)."""
    return cells(rows, ["ept"]).withColumn("periode", _span(rows))


def heures_modalite(rows: DataFrame) -> DataFrame:
    """Hours and persons by legal modality since the first month of hours (as ``heures_ept``)."""
    return cells(rows, ["modalite_code"]).withColumn("periode", _span(rows))


def heures_departement_ept(rows: DataFrame) -> DataFrame:
    """Hours and persons by département × EPT since the first month of hours, with an explicit zero for
    every pair the geography allows (from the referential): the outsider knows which pairs can hold hours."""
    out = cells(rows, ["departement", "ept"])
    pairs = {(a["departement"], a["ept"] or ref.OUTSIDE_EPT) for a in ref.commune_attributes().values()}
    pairs.add((ref.NOT_ALLOCATED, ref.OUTSIDE_EPT))
    grid = rows.sparkSession.createDataFrame(sorted(pairs), "departement string, ept string")
    return (grid.join(out, ["departement", "ept"], "full_outer")
                .fillna({"heures_realisees": 0.0, "n_personnes": 0}).withColumn("periode", _span(rows)))


def heures_charte(gp: DataFrame, operations: DataFrame, rows: DataFrame) -> DataFrame:
    """Per owner × operation × programme of the Grand Paris charter: the objective (as in
    ``gold/charte_grand_paris``), the hours realised on the operations linked to its contracts (buyer SIRET +
    DECP id), their distinct persons, the realisation rate and the dominance share. An operation is one
    contract's work, its companies are public (DECP titulaires): the share is the largest person's."""
    op_uid = operations.select("operation_key", F.concat("donneur_ordre_siret", "decp_id").alias("decp_uid"))
    groups = gp.select("decp_uid", "maitre_ouvrage", "operation", "programme").distinct()
    linked = rows.join(op_uid, "operation_key").join(groups, "decp_uid")
    keys = ["maitre_ouvrage", "operation", "programme"]
    objective = gp.groupBy(*keys).agg(F.sum("heures_insertion_objectif").alias("heures_insertion_objectif"))
    out = objective.join(cells(linked, keys, ("person_key",)), keys, "left").fillna(
        {"heures_realisees": 0.0, "n_personnes": 0})
    return out.withColumn("taux_realisation_objectif",
                          F.col("heures_realisees") / F.col("heures_insertion_objectif"))


def total_hours(read: Callable[[str], DataFrame]) -> float:
    """The hours of ``heures_departement``'s yearly rows of the whole (checked against silver by the stage)."""
    df = read(HEURES_DEPARTEMENT).filter((F.col("departement") == TOTAL) & (F.col("trimestre") == 0))
    return df.agg(F.sum("heures_realisees")).first()[0] or 0.0


def build(read: Callable[[str], DataFrame], targets: DataFrame) -> dict[str, tuple[DataFrame, DataFrame]]:
    """Every table of this module: name -> (frame, silver rows it is computed from). ``targets``: the
    monthly targeted hours of ``jobs.gold.indicators.heures``."""
    h, ops = read("silver/heures_insertion"), read("silver/operations")
    rows = hour_rows(h, ops, read("silver/contrats_insertion"))
    return {
        HEURES_DEPARTEMENT: (heures_departement(rows, targets), h),
        HEURES_EPT: (heures_ept(rows), h),
        HEURES_MODALITE: (heures_modalite(rows), h),
        HEURES_DEPARTEMENT_EPT: (heures_departement_ept(rows), h),
        HEURES_CHARTE: (heures_charte(read("silver/grand_paris_contrats"), ops, rows),
                        read("silver/grand_paris_contrats")),
    }
