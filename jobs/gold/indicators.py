"""silver -> gold: the observatory's indicators (definitions in docs/indicators.md).

Every cell carries its population (``n_personnes`` or ``n_marches``) and ``secret_statistique``: true when
the population is positive but under the small-cell threshold, so publications suppress it.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.core.context import RunContext
from jobs.core.delta_io import write_by_period
from jobs.core.labels import literal_map
from jobs.core.parallel import each_table
from jobs.gold import published
from jobs.gold.marches import consideration_categories
from schemas import referential as ref

HEURES = "gold/heures_insertion"
BENEFICIAIRES = "gold/beneficiaires"
CONTRATS_TYPE = "gold/contrats_insertion_par_type"
SORTIES = "gold/sorties_6_mois"
CHARTE_GP = "gold/charte_grand_paris"
MARCHES_CLAUSES = "gold/marches_clauses"
PART_CLAUSES = "gold/part_marches_consideration_sociale"
STRUCTURES = "gold/structures_inclusion"
FICHES_ACHETEURS = "gold/fiches_acheteurs"
FICHES_TERRITOIRES = "gold/fiches_territoires"
HEURES_EPT = "gold/heures_insertion_ept"
NATIONAL_TARGET = ref.target("PART_MARCHES_CONSIDERATION_SOCIALE")
NOT_ALLOCATED = ref.NOT_ALLOCATED
DYNAMIC_OUTCOMES = ref.dynamic_outcomes()
TPE_PME_TARGET = ref.target("PART_TPE_PME_GRAND_PARIS")


def secret(population: Column, threshold: int) -> Column:
    return (population > 0) & (population < threshold)


def _months(start: Column, end: Column) -> Column:
    """First days of the months from start to end (end defaults to start + 11 months)."""
    first = F.trunc(start, "month")
    last = F.trunc(F.coalesce(end, F.add_months(start, 11)), "month")
    return F.sequence(first, F.greatest(first, last), F.expr("interval 1 month"))


def dated_value(day: Column, referential: str, value: str) -> Column:
    """The ``value`` of the referential row (``schemas/referential/<referential>.csv``) whose
    [date_debut, date_fin] holds ``day`` (open bounds when empty); null when no row does or the day is null."""
    expr = None
    for row in ref.code_rows(referential):
        cond = day.isNotNull()
        if row["date_debut"]:
            cond = cond & (day >= F.lit(row["date_debut"]).cast("date"))
        if row["date_fin"]:
            cond = cond & (day <= F.lit(row["date_fin"]).cast("date"))
        v = F.lit(float(row[value]))
        expr = F.when(cond, v) if expr is None else expr.when(cond, v)
    return expr


def heures(h: DataFrame, operations: DataFrame, acheteurs: DataFrame, threshold: int) -> DataFrame:
    """Hours realised (from the monthly hours) and targeted (each operation's objective spread evenly over
    its months) by month x territory x legal modality x market type x buyer category x grand project."""
    ops = operations.select(
        "operation_key", F.col("donneur_ordre_siret").alias("siret"), "type_marche_code", "modalite_code",
        F.coalesce("departement", F.lit(NOT_ALLOCATED)).alias("departement"),
        F.coalesce("ept", F.lit(ref.OUTSIDE_EPT)).alias("ept"),
        F.coalesce("grand_projet_code", F.lit(ref.UNKNOWN)).alias("grand_projet"),
        "heures_objectif", "date_debut", "date_fin",
    ).join(acheteurs.select("siret", "categorie_acheteur"), "siret", "left").withColumn(
        "categorie_acheteur", F.coalesce("categorie_acheteur", F.lit(ref.UNKNOWN)))
    dims = ["departement", "ept", "modalite_code", "type_marche_code", "categorie_acheteur", "grand_projet"]
    # Silver hours all have a valid operation (the others are quarantined); the left join and the defaults only
    # keep the total equal to silver's should that ever change.
    realised = (h.select("operation_key", "mois", "heures", "person_key", "contrat_key")
                 .join(ops.select("operation_key", *dims), "operation_key", "left")
                 .fillna({"departement": NOT_ALLOCATED, "ept": ref.OUTSIDE_EPT, "modalite_code": ref.UNKNOWN,
                          "type_marche_code": ref.UNKNOWN, "categorie_acheteur": ref.UNKNOWN,
                          "grand_projet": ref.UNKNOWN})
                 .groupBy("mois", *dims)
                 .agg(F.sum("heures").alias("heures_realisees"), F.countDistinct("person_key").alias("n_personnes"),
                      F.countDistinct("contrat_key").alias("n_contrats")))
    spread = ops.withColumn("mois", F.explode(_months(F.col("date_debut"), F.col("date_fin")))).withColumn(
        "n_mois", F.size(_months(F.col("date_debut"), F.col("date_fin"))))
    targeted = (spread.groupBy("mois", *dims)
                      .agg(F.sum(F.col("heures_objectif") / F.col("n_mois")).alias("heures_objectif"),
                           F.countDistinct("operation_key").alias("n_operations")))
    out = realised.join(targeted, ["mois", *dims], "full_outer").fillna(
        {"heures_realisees": 0.0, "n_personnes": 0, "n_contrats": 0, "heures_objectif": 0.0, "n_operations": 0})
    return out.withColumn("annee", F.year("mois")).withColumn(
        "secret_statistique", secret(F.col("n_personnes"), threshold))


PERSON_DIMENSIONS = ["sexe", "tranche_age", "niveau_diplome", "departement_residence", "qpv", "prescripteur"]


def person_profiles(participants: DataFrame) -> DataFrame:
    """One profile per person (a person followed by several facilitators has one participant row each): the
    row of the earliest entry (profile at entry), then the facilitator and participant key for a stable pick.
    The age band is the person's whatever the row (computed once per person in silver)."""
    first = Window.partitionBy("person_key").orderBy(F.col("date_entree").asc_nulls_last(), "facilitateur",
                                                     "participant_key")
    return participants.withColumn("_rank", F.row_number().over(first)).filter("_rank = 1").drop("_rank")


def beneficiaires(h: DataFrame, participants: DataFrame, threshold: int) -> DataFrame:
    """Distinct persons with a valid hours line in the year (a person on several contracts, or followed by
    several facilitators, counts once), by each profile dimension, plus every eligibility criterion."""
    active = h.select("person_key", F.year("mois").alias("annee")).distinct()
    p = person_profiles(participants).select("person_key", *PERSON_DIMENSIONS, "criteres")
    joined = active.join(p, "person_key", "left")
    parts = [joined.select("annee", "person_key", F.lit("ensemble").alias("dimension"),
                           F.lit(ref.TOTAL).alias("valeur"))]
    for d in PERSON_DIMENSIONS:
        parts.append(joined.select("annee", "person_key", F.lit(d).alias("dimension"),
                                   F.coalesce(F.col(d).cast("string"), F.lit(ref.UNKNOWN)).alias("valeur")))
    parts.append(joined.select("annee", "person_key", F.lit("critere").alias("dimension"),
                               F.explode_outer("criteres").alias("valeur")).fillna({"valeur": ref.UNKNOWN}))
    long = parts[0]
    for part in parts[1:]:
        long = long.unionByName(part)
    return (long.groupBy("annee", "dimension", "valeur").agg(F.countDistinct("person_key").alias("n_personnes"))
                .withColumn("secret_statistique", secret(F.col("n_personnes"), threshold)))


def contrats_par_type(contrats: DataFrame, threshold: int) -> DataFrame:
    return (contrats.groupBy(F.year("date_debut").alias("annee"), "type_contrat", "modalite_realisation")
                    .agg(F.count("*").alias("n_contrats"), F.countDistinct("person_key").alias("n_personnes"))
                    .withColumn("secret_statistique", secret(F.col("n_personnes"), threshold)))


OUTCOME_CODES = tuple(r["code"] for r in ref.code_rows("outcomes") if r["code"] != "NON_REPONSE")


def sorties(s: DataFrame, contrats: DataFrame, hours: DataFrame, today: date, window: tuple[int, int],
            target: int, threshold: int) -> DataFrame:
    """Situation about 6 months after the end of the insertion contract, by year of contract end.

    Exits = ended work contracts with a valid hours line whose observation window (``window`` months after the
    end) is over. Each exit gets one situation: the one observed in the window nearest to ``target`` months
    (then the latest); none, or "sans nouvelle", is a non-response. Rates of durable jobs, transition jobs,
    positive exits, other exits and dynamic exits are over the responses (``n_reponses``); ``taux_reponse`` =
    responses / exits."""
    lo, hi = window
    worked = hours.select("contrat_key").distinct()
    exits = (contrats.filter(F.col("date_fin").isNotNull()
                             & (F.add_months(F.col("date_fin"), hi) < F.lit(today)))
             .join(worked, "contrat_key").select("contrat_key", "person_key", "date_fin"))
    nearest = Window.partitionBy("contrat_key", "person_key").orderBy(
        F.abs(F.col("mois_apres_fin") - F.lit(target)), F.col("date_situation").desc(), F.col("ingested_at").desc())
    observed = (s.filter(F.col("dans_fenetre") & F.col("contrat_key").isNotNull())
                 .withColumn("_rank", F.row_number().over(nearest)).filter("_rank = 1")
                 .select("contrat_key", "person_key", "sortie"))
    one = exits.join(observed, ["contrat_key", "person_key"], "left").withColumn(
        "sortie", F.coalesce("sortie", F.lit("NON_REPONSE")))
    count = lambda code: F.sum((F.col("sortie") == code).cast("int"))  # noqa: E731
    out = one.groupBy(F.year("date_fin").alias("annee")).agg(
        F.count("*").alias("n_sorties"), F.sum((F.col("sortie") != "NON_REPONSE").cast("int")).alias("n_reponses"),
        count("NON_REPONSE").alias("non_reponse"), *[count(o).alias(o.lower()) for o in OUTCOME_CODES])
    answered = F.col("n_reponses")
    for o in OUTCOME_CODES:
        out = out.withColumn(f"taux_{o.lower()}", F.col(o.lower()) / answered)
    dynamic = sum(F.col(o.lower()) for o in DYNAMIC_OUTCOMES)
    return (out.withColumn("taux_sorties_dynamiques", dynamic / answered)
               .withColumn("taux_reponse", answered / F.col("n_sorties"))
               .withColumn("fenetre_mois", F.lit(f"{lo}-{hi}"))
               .withColumn("secret_statistique", secret(F.col("n_sorties"), threshold) | secret(answered, threshold)))


# A declared objective within one hour of the charter's is the same objective (declared in whole hours).
GP_OBJECTIVE_TOLERANCE_HOURS = 1.0


def charte_grand_paris(gp: DataFrame, operations: DataFrame, h: DataFrame, threshold: int) -> DataFrame:
    """Per Grand Paris contract, then per operation and owner: insertion hours realised vs the charter's
    objective and share of the amount to TPE/PME.

    The charter's objective is computed here from the data: the rate of the charter in force at the
    contract's notification (``schemas/referential/grand_paris_charter.csv``: 5 % of the worked hours before
    October 2020, 10 % since) × the worked hours planned. It is compared with the objective the owner
    declared (``heures_insertion_objectif``): contracts where they differ by more than an hour are counted,
    and those declaring less than the charter. The objective retained (``heures_insertion_objectif``) is the
    charter's where it can be computed, else the declared one (counted in ``n_marches_objectif_declare_seul``).
    """
    op_hours = (h.groupBy("operation_key").agg(F.sum("heures").alias("heures_realisees"),
                                               F.countDistinct("person_key").alias("n_personnes"))
                 .join(operations.select("operation_key", F.concat("donneur_ordre_siret", "decp_id").alias("decp_uid")),
                       "operation_key"))
    per_contract = gp.join(op_hours.groupBy("decp_uid").agg(F.sum("heures_realisees").alias("heures_realisees"),
                                                            F.sum("n_personnes").alias("n_personnes")),
                           "decp_uid", "left").fillna({"heures_realisees": 0.0, "n_personnes": 0})
    rate = dated_value(F.col("date_notification"), "grand_paris_charter", "taux_heures_insertion")
    charter = rate * F.col("heures_travaillees_prevues")
    declared = F.col("heures_insertion_objectif")
    gap = F.abs(declared - charter) > GP_OBJECTIVE_TOLERANCE_HOURS
    below = declared < charter - GP_OBJECTIVE_TOLERANCE_HOURS
    per_contract = per_contract.select(
        "*", rate.alias("taux_charte"), charter.alias("objectif_charte"),
        F.coalesce(gap, F.lit(False)).alias("ecart"), F.coalesce(below, F.lit(False)).alias("sous_charte"),
        F.coalesce(charter, declared).alias("objectif_retenu"))
    out = per_contract.groupBy("maitre_ouvrage", "operation", "programme").agg(
        F.count("*").alias("n_marches"), F.sum("montant_ht").alias("montant_ht"),
        F.sum("heures_travaillees_prevues").alias("heures_travaillees_prevues"),
        F.sum("objectif_retenu").alias("heures_insertion_objectif"),
        F.sum("objectif_charte").alias("heures_insertion_objectif_charte"),
        F.sum(declared).alias("heures_insertion_objectif_declare"),
        F.sum(F.col("ecart").cast("int")).alias("n_marches_objectif_ecart"),
        F.sum(F.col("sous_charte").cast("int")).alias("n_marches_objectif_sous_charte"),
        F.sum((F.col("objectif_charte").isNull() & declared.isNotNull()).cast("int"))
        .alias("n_marches_objectif_declare_seul"),
        F.sum(F.col("objectif_retenu").isNull().cast("int")).alias("n_marches_sans_objectif"),
        F.sum("heures_realisees").alias("heures_realisees"), F.sum("n_personnes").alias("n_personnes"),
        F.sum("montant_tpe_pme").alias("montant_tpe_pme"),
    )
    return (out.withColumn("taux_realisation_objectif", F.col("heures_realisees") / F.col("heures_insertion_objectif"))
               .withColumn("part_heures_insertion", F.col("heures_realisees") / F.col("heures_travaillees_prevues"))
               .withColumn("part_tpe_pme", F.col("montant_tpe_pme") / F.col("montant_ht"))
               .withColumn("objectif_tpe_pme_atteint", F.col("part_tpe_pme") >= F.lit(TPE_PME_TARGET))
               .withColumn("secret_statistique", secret(F.col("n_personnes"), threshold)))


def market_type(cpv: Column) -> Column:
    mapping = ref.cpv_market_type()
    return F.coalesce(literal_map(mapping)[F.substring(cpv, 1, 2)], F.lit(ref.UNKNOWN))


def marches_clauses(marches: DataFrame, acheteurs: DataFrame, threshold: int) -> DataFrame:
    """Contracts and amounts by year x market type x procedure x buyer category x département x social
    consideration (each contract once under ``TOUTES``)."""

    m = consideration_categories(marches).join(
        acheteurs.select(F.col("siret").alias("acheteur_id"), "categorie_acheteur"), "acheteur_id", "left")
    rows = m.select(F.year("date_notification").alias("annee"), market_type(F.col("code_cpv")).alias("type_marche"),
                    F.coalesce("procedure", F.lit(ref.UNKNOWN)).alias("procedure"),
                    F.coalesce("categorie_acheteur", F.lit(ref.UNKNOWN)).alias("categorie_acheteur"),
                    F.coalesce("departement_execution", F.lit(NOT_ALLOCATED)).alias("departement"),
                    F.explode("categories").alias("consideration_sociale"), "uid", "montant", "montant_exclu_motif")
    out = rows.groupBy("annee", "type_marche", "procedure", "categorie_acheteur", "departement",
                       "consideration_sociale").agg(
        F.countDistinct("uid").alias("n_marches"), F.coalesce(F.sum("montant"), F.lit(0.0)).alias("montant"),
        F.countDistinct(F.when(F.col("montant_exclu_motif").isNotNull(), F.col("uid")))
        .alias("n_marches_montant_exclu"))
    return out.withColumn("secret_statistique", F.lit(False))  # contracts are public data: no suppression


def idf_buyers(acheteurs: DataFrame) -> DataFrame:
    """SIRETs of the buyers established in Île-de-France: their SIRENE establishment's commune is an IDF
    commune of the referential (a buyer not found in SIRENE, or in a commune the referential does not hold,
    is not an IDF buyer)."""
    return acheteurs.filter(F.col("commune").isin(list(ref.commune_attributes()))).select(
        F.col("siret").alias("acheteur_id"), F.lit(True).alias("acheteur_idf"))


def part_consideration_sociale(marches: DataFrame, acheteurs: DataFrame) -> DataFrame:
    """Share of contracts declaring a social consideration, by number and by amount, beside the national 30 %
    target, on a stated scope: per notification year, contracts whose declaration is known (2022 format,
    field present), of buyers established in IDF (``idf_buyers``), whose amount is known (not excluded) and at
    least the DECP publication threshold at notification (``schemas/referential/decp_thresholds.csv``).

    What the scope leaves out is counted (``n_exclus_*``, first failing criterion in that order), so
    ``n_marches`` + the exclusions = the year's 2022-format records. The 2019 format cannot say: years with no
    2022-format record are absent, never 0 %.
    """
    social = F.exists(F.coalesce("considerations_sociales", F.array()),
                      lambda v: v.isin(*ref.social_considerations()))
    threshold = dated_value(F.col("date_notification"), "decp_thresholds", "seuil_eur_ht")
    m = marches.filter(F.col("decp_format") == "2022").join(idf_buyers(acheteurs), "acheteur_id", "left").select(
        F.year("date_notification").alias("annee"), "montant", social.alias("social"), threshold.alias("seuil"),
        F.when(F.col("considerations_sociales").isNull(), "declaration_absente")
         .when(F.col("acheteur_idf").isNull(), "acheteur_hors_idf")
         .when(F.col("montant").isNull(), "montant_inconnu")
         .when(F.col("montant") < threshold, "sous_seuil").alias("exclusion"))
    scope = F.col("exclusion").isNull()
    in_scope = lambda c: F.when(scope, c)  # noqa: E731
    out = m.groupBy("annee").agg(
        F.count(in_scope(F.lit(1))).alias("n_marches"),
        F.count(in_scope(F.when(F.col("social"), 1))).alias("n_marches_consideration_sociale"),
        F.sum(in_scope(F.col("montant"))).alias("montant"),
        F.sum(in_scope(F.when(F.col("social"), F.col("montant")))).alias("montant_consideration_sociale"),
        F.max("seuil").alias("seuil_eur_ht"),
        *[F.count(F.when(F.col("exclusion") == e, 1)).alias(f"n_exclus_{e}")
          for e in ("declaration_absente", "acheteur_hors_idf", "montant_inconnu", "sous_seuil")])
    return (out.fillna({"montant": 0.0, "montant_consideration_sociale": 0.0})
               .withColumn("part", F.col("n_marches_consideration_sociale") / F.col("n_marches"))
               .withColumn("part_montant", F.col("montant_consideration_sociale") / F.col("montant"))
               .withColumn("objectif_national", F.lit(NATIONAL_TARGET))
               .withColumn("secret_statistique", F.lit(False)))


def structures_inclusion(structures: DataFrame, titulaires: DataFrame, resolution: DataFrame,
                         marches: DataFrame, hours: DataFrame, contrats: DataFrame, threshold: int) -> DataFrame:
    """Presence of insertion and disability structures by département and kind, and, per year, the share
    of contract amounts (as titulaires) and of insertion hours (as employers) that goes to them."""
    presence = structures.groupBy(F.coalesce("departement", F.lit(NOT_ALLOCATED)).alias("departement"),
                                  F.coalesce("famille", F.lit(ref.UNKNOWN)).alias("famille"),
                                  F.coalesce("kind", F.lit(ref.UNKNOWN)).alias("type_structure")).agg(
        F.count("*").alias("n_structures"))
    presence = presence.select(F.lit("presence").alias("indicateur"), F.lit(None).cast("int").alias("annee"),
                               "departement", "famille", "type_structure", F.col("n_structures").cast("double")
                               .alias("valeur"), F.col("n_structures").alias("population"))
    is_structure = resolution.filter((F.col("source") == "decp_titulaire") & (F.col("structure_match") != "aucun"))
    t = titulaires.join(marches.select("uid", F.year("date_notification").alias("annee")), "uid").join(
        is_structure.select(F.col("source_key").alias("uid"), F.col("siret").alias("titulaire_id"),
                            F.lit(True).alias("structure")).dropDuplicates(["uid", "titulaire_id"]),
        ["uid", "titulaire_id"], "left")
    amounts = t.groupBy("annee").agg(
        (F.sum(F.when(F.col("structure"), F.col("montant_part")).otherwise(0.0)) / F.sum("montant_part"))
        .alias("valeur"), F.countDistinct(F.when(F.col("structure"), F.col("uid"))).alias("population"))
    amounts = amounts.select(F.lit("part_montant_titulaires").alias("indicateur"), "annee",
                             F.lit("IDF").alias("departement"), F.lit(ref.ALL).alias("famille"),
                             F.lit("TOUS").alias("type_structure"), "valeur", "population")
    employers = structures.select(F.substring("siret", 1, 9).alias("siren")).distinct().withColumn("structure",
                                                                                                     F.lit(True))
    hc = hours.select("contrat_key", "mois", "heures", "person_key").join(
        contrats.select("contrat_key", F.substring("entreprise_siret", 1, 9).alias("siren")),
                    "contrat_key", "left").join(employers, "siren", "left")
    hours_share = hc.groupBy(F.year("mois").alias("annee")).agg(
        (F.sum(F.when(F.col("structure"), F.col("heures")).otherwise(0.0)) / F.sum("heures")).alias("valeur"),
        F.countDistinct(F.when(F.col("structure"), F.col("person_key"))).alias("population"))
    hours_share = hours_share.select(F.lit("part_heures_employeurs").alias("indicateur"), "annee",
                                     F.lit("IDF").alias("departement"), F.lit(ref.ALL).alias("famille"),
                                     F.lit("TOUS").alias("type_structure"), "valeur", "population")
    out = presence.unionByName(amounts).unionByName(hours_share)
    return out.withColumn("secret_statistique", (F.col("indicateur") == "part_heures_employeurs")
                          & secret(F.col("population"), threshold))


def fiches(marches: DataFrame, hours: DataFrame, operations: DataFrame, threshold: int) -> tuple[DataFrame, DataFrame]:
    """Per buyer and per territory, per year (``trimestre`` 0) and per quarter (1-4): contracts, amounts,
    contracts with a social consideration, insertion hours and distinct persons — the figures of the
    periodic sheets (distinct persons cannot be added up from months, so each period is counted)."""
    social = F.exists(F.coalesce("considerations_sociales", F.array()),
                      lambda v: v.isin(*ref.social_considerations()))
    m = marches.select("acheteur_id", F.coalesce("departement_execution", F.lit(NOT_ALLOCATED)).alias("departement"),
                       F.year("date_notification").alias("annee"), F.quarter("date_notification").alias("trimestre"),
                       "uid", "montant", social.alias("social"), "montant_exclu_motif")
    h = hours.select("operation_key", "mois", "heures", "person_key").join(operations.select(
        "operation_key", F.col("donneur_ordre_siret").alias("acheteur_id"),
                                     F.coalesce("departement", F.lit(NOT_ALLOCATED)).alias("departement")),
                   "operation_key", "left").select(
        F.coalesce("acheteur_id", F.lit(ref.UNKNOWN)).alias("acheteur_id"),
        F.coalesce("departement", F.lit(NOT_ALLOCATED)).alias("departement"), F.year("mois").alias("annee"),
        F.quarter("mois").alias("trimestre"), "heures", "person_key")

    def period(key: str, quarter: bool) -> DataFrame:
        keys = [key, "annee", "trimestre"] if quarter else [key, "annee"]
        cm = m.groupBy(*keys).agg(F.countDistinct("uid").alias("n_marches"), F.sum("montant").alias("montant"),
                                  F.sum(F.col("social").cast("int")).alias("n_marches_consideration_sociale"),
                                  F.count(F.col("montant_exclu_motif")).alias("n_marches_montant_exclu"))
        ch = h.groupBy(*keys).agg(F.sum("heures").alias("heures_realisees"),
                                  F.countDistinct("person_key").alias("n_personnes"))
        out = cm.join(ch, keys, "full_outer").fillna(
            {"n_marches": 0, "montant": 0.0, "n_marches_consideration_sociale": 0, "n_marches_montant_exclu": 0,
             "heures_realisees": 0.0, "n_personnes": 0})
        if not quarter:
            out = out.withColumn("trimestre", F.lit(0))
        return out.withColumn("secret_statistique", secret(F.col("n_personnes"), threshold))

    def by(key: str) -> DataFrame:
        return period(key, False).unionByName(period(key, True))

    return by("acheteur_id"), by("departement")


def heures_ept(hours: DataFrame, operations: DataFrame, threshold: int) -> DataFrame:
    """Insertion hours and distinct persons per year and EPT of the Métropole du Grand Paris (``HORS_EPT``
    outside it): the territories elected officials of the Métropole ask about."""
    ops = operations.select("operation_key", F.coalesce("ept", F.lit(ref.OUTSIDE_EPT)).alias("ept"))
    out = (hours.select("operation_key", F.year("mois").alias("annee"), "heures", "person_key")
           .join(ops, "operation_key", "left").fillna({"ept": ref.OUTSIDE_EPT})
           .groupBy("annee", "ept").agg(F.sum("heures").alias("heures_realisees"),
                                        F.countDistinct("person_key").alias("n_personnes")))
    return out.withColumn("secret_statistique", secret(F.col("n_personnes"), threshold))


# The indicator tables this stage writes (beside gold/marches_par_mois_departement and jobs/gold/published.py);
# what is published, and how: jobs/publish/opendata.TABLES, schemas/disclosure.yaml.
PUBLISHED = (HEURES, BENEFICIAIRES, CONTRATS_TYPE, SORTIES, CHARTE_GP, MARCHES_CLAUSES, PART_CLAUSES, STRUCTURES,
             FICHES_ACHETEURS, FICHES_TERRITOIRES, HEURES_EPT)

# The period column of each gold table: a monthly run rewrites only the periods whose cells changed.
PERIODS = {HEURES: "mois", BENEFICIAIRES: "annee", CONTRATS_TYPE: "annee", SORTIES: "annee",
           MARCHES_CLAUSES: "annee", PART_CLAUSES: "annee", FICHES_ACHETEURS: "annee", FICHES_TERRITOIRES: "annee",
           HEURES_EPT: "annee"}


def rounded(df: DataFrame) -> DataFrame:
    """Doubles rounded to 6 decimals: sums do not depend on the order Spark adds them in."""
    return df.select(*[F.round(F.col(f.name), 6).alias(f.name) if f.dataType.typeName() == "double"
                       else F.col(f.name) for f in df.schema.fields])


def run(ctx: RunContext) -> dict:
    """Reads the silver tables; writes the indicator tables (``PUBLISHED``), rewriting only the periods whose
    cells changed. Checks that gold holds exactly the hours of silver."""
    spark, settings = ctx.spark, ctx.settings
    full = settings.gold_full_recompute
    read = lambda name: spark.read.format("delta").load(settings.table_uri(name))  # noqa: E731
    t = settings.small_cell_threshold
    h, ops = read("silver/heures_insertion"), read("silver/operations")
    contrats, s, gp = read("silver/contrats_insertion"), read("silver/sorties"), read("silver/grand_paris_contrats")
    marches, acheteurs = read("silver/marches"), read("silver/acheteurs")
    fiche_acheteurs, fiche_territoires = fiches(marches, h, ops, t)
    tables = {  # gold table -> (frame, silver rows it is computed from)
        HEURES: (heures(h, ops, read("silver/acheteurs"), t), h),
        BENEFICIAIRES: (beneficiaires(h, read("silver/participants"), t), h),
        CONTRATS_TYPE: (contrats_par_type(contrats, t), contrats),
        SORTIES: (sorties(s, contrats, h, ctx.today, settings.outcome_window_months, settings.outcome_months, t), s),
        CHARTE_GP: (charte_grand_paris(gp, ops, h, t), gp),
        MARCHES_CLAUSES: (marches_clauses(marches, acheteurs, t), marches),
        PART_CLAUSES: (part_consideration_sociale(marches, acheteurs), marches),
        STRUCTURES: (structures_inclusion(read("silver/structures"), read("silver/marches_titulaires"),
                                          read("silver/resolution_entreprises"), marches, h, contrats, t),
                     read("silver/structures")),
        FICHES_ACHETEURS: (fiche_acheteurs, marches),
        FICHES_TERRITOIRES: (fiche_territoires, marches),
        HEURES_EPT: (heures_ept(h, ops, t), h),
    }
    tables.update(published.build(read, tables[HEURES][0]))
    periods = {**PERIODS, **published.TABLES}
    sources = list({id(source): source for _, source in tables.values()}.values())  # counted once each
    counts = each_table(settings, lambda source: source.count(), sources, spark)
    rows_in = dict(zip(map(id, sources), counts, strict=True))

    def write(name: str) -> tuple[list, int]:
        rewritten = write_by_period(spark, rounded(tables[name][0]), settings, name, periods.get(name), full=full)
        return rewritten, read(name).count()

    reports = [{"table": name, "rows_in": rows_in[id(tables[name][1])], "rows_written": written,
                "rows_quarantined": 0, "details": {"periods_rewritten": [str(p) for p in rewritten]}}
               for name, (rewritten, written) in zip(tables, each_table(settings, write, tables, spark), strict=True)]
    gold_hours = read(HEURES).agg(F.sum("heures_realisees")).first()[0] or 0.0
    silver_hours = h.agg(F.sum("heures")).first()[0] or 0.0
    if abs(gold_hours - silver_hours) > 1e-6 * max(1.0, silver_hours):
        raise RuntimeError(f"gold hours {gold_hours} != silver hours {silver_hours}: hours were lost")
    if abs((published_hours := published.total_hours(read)) - silver_hours) > 1e-6 * max(1.0, silver_hours):
        raise RuntimeError(f"published hours {published_hours} != silver hours {silver_hours}: hours were lost")
    return {"stage": "gold_indicators", "tables": reports,
            "checks": {"heures_gold": round(gold_hours, 2), "heures_silver": round(silver_hours, 2)}}
