"""bronze -> silver for the facilitators' exports, Grand Paris, structures and SIRENE.

Values are typed (French dates, decimal commas), coded against the common referential (``schemas/``) and
checked by the rules of ``schemas.rules``. A row breaking a rule goes to ``quarantine/<table>`` with its raw
row, rule ids and messages. A label outside a referential list is never guessed: the row is quarantined
(where the rule says so) or the field set to ``INCONNU``, and the label is listed in ``quality/values_to_map``
for the data steward.
"""

from __future__ import annotations

from datetime import date

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.core import quality
from jobs.core.context import RunContext
from jobs.core.delta_io import read_table, write_table
from jobs.core.labels import code_of, literal_map, spark_fold
from jobs.core.parallel import each_table
from jobs.core.settings import Settings
from jobs.core.wap import write_audit_publish
from jobs.ingest.raw_files import landed_name
from jobs.ingest.tabular import contract_for
from jobs.silver.declared_values import apply_declared_values
from schemas import referential as ref
from schemas.rules import HEURES_MOIS_MAX, RULES, rules_for
from schemas.sources import source_contract

UNKNOWN = ref.UNKNOWN
LINEAGE = ["source_file", "source_sha256", "record_index", "load_id", "ingested_at"]


# --- typing helpers -------------------------------------------------------------------------------
def parse_date(c: str | Column) -> Column:
    c = F.trim(F.col(c) if isinstance(c, str) else c)
    return F.coalesce(F.to_date(c, "dd/MM/yyyy"), F.to_date(c, "yyyy-MM-dd"), F.to_date(c, "d/M/yyyy"))


def parse_month(c: str) -> Column:
    """First day of the month from 'MM/yyyy', 'yyyy-MM', or a full date."""
    v = F.trim(F.col(c))
    return F.coalesce(F.to_date(F.concat(F.lit("01/"), v), "dd/MM/yyyy"), F.to_date(F.concat(v, F.lit("-01")),
                      "yyyy-MM-dd"), F.trunc(parse_date(v), "month"))


def parse_decimal(c: str) -> Column:
    return F.regexp_replace(F.regexp_replace(F.col(c), r"[\s\u00a0\u202f]", ""), ",", ".").cast("double")


def parse_bool(c: str) -> Column:
    """Yes/no answers as the sources write them (``schemas/referential/booleans.csv``); None otherwise."""
    return code(c, "booleans").cast("boolean")


def code(c: str, list_name: str) -> Column:
    """Referential code of a raw label column (None when no code or several codes match)."""
    return code_of(F.col(c), list_name)


def issue(rule_id: str, when: Column, value: Column) -> Column:
    rule = RULES[rule_id]
    return F.when(when, F.struct(F.lit(rule_id).alias("rule_id"),
                                 F.concat(F.lit(f"{rule.message}: '"), F.coalesce(value, F.lit("")), F.lit("'"))
                                 .alias("message")))


def issues(*items: Column) -> Column:
    return F.filter(F.array(*items), lambda x: x.isNotNull()) if items else F.array().cast(quality.ISSUE_TYPE)


def raw_json(df: DataFrame, exclude: tuple[str, ...] = ()) -> Column:
    """The bronze row as JSON for the quarantine (``exclude``: columns that must not go further, e.g. the
    birth date, which bronze holds only for the age band)."""
    cols = [c for c in df.columns if c not in ("load_id", "ingested_at", *exclude)]
    return F.to_json(F.struct(*cols))


def latest_first(*partition: str) -> Window:
    """Rows of one key, the latest export first: latest load, then (same load) the file whose name sorts last."""
    return Window.partitionBy(*partition).orderBy(F.col("ingested_at").desc(), landed_name("source_file").desc(),
                                                  F.col("source_file").desc(), F.col("record_index").desc())


def departement_of(insee: Column) -> Column:
    attrs = ref.commune_attributes()
    mapping = literal_map({k: v["departement"] for k, v in attrs.items()})
    prefix = F.when(insee.startswith("97"), F.substring(insee, 1, 3)).otherwise(F.substring(insee, 1, 2))
    return F.coalesce(mapping[insee], F.when(insee.rlike(r"^\d[\dAB]\d{3}$"), prefix))


def ept_of(insee: Column) -> Column:
    attrs = ref.commune_attributes()
    return literal_map({k: v["ept"] for k, v in attrs.items() if v["ept"]})[insee]


# --- typed frames (pure transforms) ----------------------------------------------------------------
def typed_operations(b: DataFrame) -> DataFrame:
    """Operations coded on the referential. An unknown market type or legal modality quarantines the operation
    (and so its hours); an unknown grand project label is kept as ``INCONNU`` and listed for mapping."""
    insee = F.trim(F.col("commune_execution_insee"))
    grand_projet = F.trim("grand_projet")
    df = b.select(
        *LINEAGE, raw_json(b).alias("raw_json"), "facilitateur",
        F.concat_ws(":", "facilitateur", "facilitateur_marche_id").alias("operation_key"),
        F.col("facilitateur_marche_id"),
        F.regexp_replace("donneur_ordre_siret", r"[\s.]", "").alias("donneur_ordre_siret"),
        "donneur_ordre_nom", F.trim("decp_id").alias("decp_id"), "objet",
        "type_marche", code("type_marche", "market_types").alias("type_marche_code"),
        "modalite_juridique", code("modalite_juridique", "legal_modalities").alias("modalite_code"),
        parse_date("date_notification").alias("date_notification"), parse_date("date_debut").alias("date_debut"),
        parse_date("date_fin").alias("date_fin"), parse_decimal("heures_objectif").alias("heures_objectif"),
        insee.alias("commune_execution"), departement_of(insee).alias("departement"), ept_of(insee).alias("ept"),
        grand_projet.alias("grand_projet"),
        F.when(F.coalesce(grand_projet, F.lit("")) == "", F.lit("AUCUN"))
         .otherwise(F.coalesce(code_of(grand_projet, "grand_projects"), F.lit(UNKNOWN))).alias("grand_projet_code"),
        "facilitateur_structure",
    ).withColumn("operation_key", F.when(F.col("facilitateur_marche_id").isNotNull(), F.col("operation_key")))
    return df.withColumn("issues", issues(
        issue("operations.type_marche_mapped", F.col("type_marche").isNotNull() & F.col("type_marche_code").isNull(),
              F.col("type_marche")),
        issue("operations.modalite_juridique_mapped",
              F.col("modalite_juridique").isNotNull() & F.col("modalite_code").isNull(), F.col("modalite_juridique")),
    ))


def typed_entreprises(b: DataFrame) -> DataFrame:
    """Companies working on an operation (titulaires, co- and sub-contractors, structures lending staff)."""
    df = b.select(
        *LINEAGE, raw_json(b).alias("raw_json"), "facilitateur",
        F.when(F.col("facilitateur_marche_id").isNotNull(), F.concat_ws(":", "facilitateur", "facilitateur_marche_id"))
        .alias("operation_key"),
        F.regexp_replace("siret", r"[\s.]", "").alias("siret"), "raison_sociale",
        F.coalesce(code("role", "company_roles"), F.lit(UNKNOWN)).alias("role"), F.col("role").alias("_role_raw"),
        "type_structure", code("type_structure", "structure_kinds").alias("kind"),
    ).withColumn("entreprise_key", F.concat_ws("|", "operation_key", "siret", "role"))
    return df.withColumn("issues", issues(
        issue("entreprises.type_structure_mapped", F.col("type_structure").isNotNull() & F.col("kind").isNull(),
              F.col("type_structure"))))


# --- persons -----------------------------------------------------------------------------------------
BIRTH_DATE = "date_naissance"  # bronze only: read by ``age_bands``, never written to silver, gold or quarantine
LINK_BY_NAME, LINK_BY_LOCAL_ID = "nom_prenom_naissance", "id_local"


def person_links(b: DataFrame) -> DataFrame:
    """Each facilitator's participant (local id, pseudonymised) -> the person: the cross-facilitator key made at
    bronze from (last name, first name, full birth date), else the local pseudonym (``person_key_method`` says
    which). One row per participant, from its latest export."""
    link = F.col("personne_id") if "personne_id" in b.columns else F.lit(None).cast("string")
    latest = b.filter(F.col("participant_id").isNotNull()).withColumn(
        "_rank", F.row_number().over(latest_first("participant_id"))).filter("_rank = 1")
    return latest.select(
        F.col("participant_id").alias("participant_key"), F.coalesce(link, "participant_id").alias("person_key"),
        F.when(link.isNotNull(), F.lit(LINK_BY_NAME)).otherwise(F.lit(LINK_BY_LOCAL_ID)).alias("person_key_method"))


def _linked(df: DataFrame, links: DataFrame) -> DataFrame:
    """``participant_key`` (the local pseudonym, kept for lineage) and ``person_key`` (the linked person); a
    participant absent from the participants' exports stands for itself (method ``id_local``)."""
    out = df.join(links, "participant_key", "left")
    return out.withColumn("person_key", F.coalesce("person_key", "participant_key")).withColumn(
        "person_key_method", F.coalesce("person_key_method", F.lit(LINK_BY_LOCAL_ID)))


def completed_years(born: Column, on: Column) -> Column:
    """Age in completed years on a date (a birthday not yet reached that year does not count)."""
    before_birthday = (F.month(on) < F.month(born)) | ((F.month(on) == F.month(born))
                                                       & (F.dayofmonth(on) < F.dayofmonth(born)))
    return F.year(on) - F.year(born) - before_birthday.cast("int")


def age_band(age: Column) -> Column:
    expr = None
    for code_, lo, hi in ref.age_bands():
        cond = age.between(lo, hi)
        expr = F.when(cond, F.lit(code_)) if expr is None else expr.when(cond, F.lit(code_))
    return expr.otherwise(F.lit(UNKNOWN))


def age_bands(b: DataFrame, links: DataFrame, contrats: DataFrame, heures: DataFrame) -> DataFrame:
    """Age band of each person: completed years on the start date of the person's first work contract with a
    valid hours line. The only reader of the birth date (bronze). With a birth year only, the band is given
    when both possible ages fall in the same band; otherwise (or without any date) ``INCONNU``."""
    latest = b.filter(F.col("participant_id").isNotNull()).withColumn(
        "_rank", F.row_number().over(latest_first("participant_id"))).filter("_rank = 1")
    births = _linked(latest.select(F.col("participant_id").alias("participant_key"),
                                   F.to_date(BIRTH_DATE, "yyyy-MM-dd").alias("born"),
                                   F.col("annee_naissance").cast("int").alias("year")), links)
    births = births.groupBy("person_key").agg(F.max("born").alias("born"), F.max("year").alias("year"))
    worked = contrats.join(heures.select("contrat_key").distinct(), "contrat_key")
    first = worked.groupBy("person_key").agg(F.min("date_debut").alias("premier_contrat"))
    df = first.join(births, "person_key", "left")
    exact = age_band(completed_years(F.col("born"), F.col("premier_contrat")))
    oldest = age_band(F.year("premier_contrat") - F.col("year"))
    youngest = age_band(F.year("premier_contrat") - F.col("year") - 1)
    from_year = F.when(F.col("year").isNotNull() & (oldest == youngest), oldest)
    band = F.when(F.col("born").isNotNull(), exact).otherwise(F.coalesce(from_year, F.lit(UNKNOWN)))
    return df.select("person_key", band.alias("tranche_age"))


def typed_participants(b: DataFrame, links: DataFrame, bands: DataFrame) -> DataFrame:
    """Participants coded on the referential, with their person and its age band; no birth date, no identifier
    (the quarantine's raw row leaves the birth date out too)."""
    entry = parse_date("date_entree")
    insee = F.trim(F.col("commune_residence_insee"))
    crit = F.filter(F.split(F.coalesce(F.col("criteres_eligibilite"), F.lit("")), r"\s*[|;,/]\s*"),
                    lambda x: x != "")
    df = b.select(
        *LINEAGE, raw_json(b, exclude=(BIRTH_DATE, "personne_id")).alias("raw_json"), "facilitateur",
        F.col("participant_id").alias("participant_key"),
        F.coalesce(code("sexe", "sexes"), F.lit(UNKNOWN)).alias("sexe"), F.col("sexe").alias("_sexe_raw"),
        F.coalesce(code("niveau_diplome", "diploma_levels"), F.lit(UNKNOWN)).alias("niveau_diplome"),
        F.col("niveau_diplome").alias("_diplome_raw"),
        crit.alias("_criteres_raw"),
        insee.alias("commune_residence"), departement_of(insee).alias("departement_residence"),
        parse_bool("qpv").alias("qpv"),
        F.coalesce(code("prescripteur", "prescribers"), F.lit(UNKNOWN)).alias("prescripteur"),
        F.col("prescripteur").alias("_prescripteur_raw"), entry.alias("date_entree"),
    )
    df = _linked(df, links).join(bands, "person_key", "left").fillna({"tranche_age": UNKNOWN})
    return df.withColumn("criteres", F.array_distinct(F.transform("_criteres_raw", lambda x: F.coalesce(
        code_of(x, "eligibility_criteria"), F.lit(UNKNOWN))))).withColumn("issues", issues())


def typed_contrats(b: DataFrame, links: DataFrame) -> DataFrame:
    df = b.select(
        *LINEAGE, raw_json(b).alias("raw_json"), "facilitateur",
        F.when(F.col("contrat_id").isNotNull(), F.concat_ws(":", "facilitateur", "contrat_id")).alias("contrat_key"),
        F.col("participant_id").alias("participant_key"),
        F.concat_ws(":", "facilitateur", "facilitateur_marche_id").alias("operation_key"),
        F.regexp_replace("entreprise_siret", r"[\s.]", "").alias("entreprise_siret"),
        F.coalesce(code("modalite_realisation", "realisation_modalities"), F.lit(UNKNOWN))
        .alias("modalite_realisation"),
        F.col("modalite_realisation").alias("_realisation_raw"),
        F.coalesce(code("type_contrat", "contract_types"), F.lit(UNKNOWN)).alias("type_contrat"),
        F.col("type_contrat").alias("_type_contrat_raw"),
        parse_date("date_debut").alias("date_debut"), parse_date("date_fin").alias("date_fin"),
    )
    linked = _linked(df, links).withColumn(
        "person_key", F.when(F.col("participant_key").isNotNull(), F.col("person_key")))
    return linked.withColumn("issues", issues())


# --- hours ---------------------------------------------------------------------------------------------
def typed_heures(b: DataFrame, contrats: DataFrame, operations: DataFrame, operations_typed: DataFrame) -> DataFrame:
    """Hour lines joined to their (valid) contract and operation: person, legal modality, the periods they are
    checked against. A line whose operation is missing or quarantined is refused, with the operation's legal
    modality label when that label is what is unknown: its hours are never counted under a modality."""
    c = contrats.select("contrat_key", "person_key", "participant_key", "operation_key", "facilitateur",
                        F.trunc("date_debut", "month").alias("contrat_debut_mois"),
                        F.trunc("date_fin", "month").alias("contrat_fin_mois"))
    o = operations.select("operation_key", "modalite_code", "departement", "ept", "type_marche_code",
                          F.trunc("date_debut", "month").alias("operation_debut_mois"),
                          F.trunc("date_fin", "month").alias("operation_fin_mois"),
                          F.lit(True).alias("_operation_valid"))
    labels = (operations_typed.filter(F.col("operation_key").isNotNull())
              .withColumn("_rank", F.row_number().over(latest_first("operation_key"))).filter("_rank = 1")
              .select("operation_key", F.coalesce("modalite_juridique", F.lit("(absent)")).alias("_modalite_label"),
                      F.col("modalite_code").alias("_label_code")))
    h = b.select(
        *LINEAGE, raw_json(b).alias("raw_json"),
        F.concat_ws(":", "facilitateur", "contrat_id").alias("contrat_key"), parse_month("mois").alias("mois"),
        parse_decimal("heures_realisees").alias("heures"),
    )
    df = h.join(c, "contrat_key", "left").join(o, "operation_key", "left").join(labels, "operation_key", "left")
    contract_known, op_missing = F.col("contrat_debut_mois").isNotNull(), F.col("_operation_valid").isNull()
    label_unknown = F.col("_modalite_label").isNotNull() & F.col("_label_code").isNull()
    return df.withColumn("heures_key", F.concat_ws("|", "contrat_key", F.col("mois").cast("string"))).withColumn(
        "issues", issues(
            issue("heures.modalite_known", contract_known & op_missing & label_unknown, F.col("_modalite_label")),
            issue("heures.operation_known", contract_known & op_missing & ~F.coalesce(label_unknown, F.lit(False)),
                  F.col("operation_key"))))


def finish_heures(checked: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Checked hour lines -> (one row per contract-month, quarantined lines). Valid lines of one contract-month
    in one export are summed (split lines, corrections written as extra lines); the latest export of the
    facilitator holding that contract-month replaces the earlier ones (their lines are quarantined, naming
    the export that replaced them). ``n_lignes`` says how many input lines a row stands for."""
    valid, invalid = quality.split_valid(checked)
    export = Window.partitionBy("contrat_key", "mois", "source_file")
    valid = valid.withColumn("_total", F.sum("heures").over(export))
    over = valid.filter(F.col("_total") > HEURES_MOIS_MAX)
    over = over.withColumn("issues", F.array(F.struct(
        F.lit("heures.month_total_plausible").alias("rule_id"),
        F.concat(F.lit(RULES["heures.month_total_plausible"].message + ": "), F.col("_total").cast("string"))
        .alias("message"))))
    valid = valid.filter(F.col("_total") <= HEURES_MOIS_MAX)
    recency = Window.partitionBy("contrat_key", "mois").orderBy(
        F.col("ingested_at").desc(), landed_name("source_file").desc(), F.col("source_file").desc())
    ranked = valid.withColumn("_rank", F.dense_rank().over(recency)).withColumn(
        "_latest", F.first(landed_name("source_file")).over(recency))
    rule = RULES["heures.duplicate"]
    superseded = ranked.filter("_rank > 1").withColumn("issues", F.array(F.struct(
        F.lit(rule.id).alias("rule_id"), F.concat(F.lit(f"{rule.message}: '"), F.col("_latest"), F.lit("'"))
        .alias("message"))))
    kept = ranked.filter("_rank = 1")
    dims = ["person_key", "participant_key", "operation_key", "facilitateur", "modalite_code", "departement", "ept",
            "type_marche_code", "contrat_debut_mois", "contrat_fin_mois", "operation_debut_mois", "operation_fin_mois"]
    first_line = F.min(F.struct("record_index", "source_sha256", "load_id", "ingested_at"))
    rows = kept.groupBy("contrat_key", "mois", "source_file").agg(
        first_line.alias("_first"), F.sum("heures").alias("heures"), F.count("*").alias("n_lignes"),
        *[F.first(d).alias(d) for d in dims])
    rows = rows.select("source_file", "_first.source_sha256", "_first.record_index", "_first.load_id",
                       "_first.ingested_at", "contrat_key", "mois", "heures", "n_lignes", *dims,
                       F.concat_ws("|", "contrat_key", F.col("mois").cast("string")).alias("heures_key"))
    bad = invalid.unionByName(over.drop("_total")).unionByName(superseded.drop("_total", "_rank", "_latest"))
    quarantine = bad.select(*LINEAGE, F.transform("issues", lambda x: x["rule_id"]).alias("rule_ids"),
                            F.transform("issues", lambda x: x["message"]).alias("messages"), "raw_json")
    return rows, quarantine


# --- outcomes ------------------------------------------------------------------------------------------
def typed_sorties(b: DataFrame, contrats: DataFrame, links: DataFrame, window: tuple[int, int],
                  target: int) -> DataFrame:
    """Situations of persons after an insertion contract. The contract is the one the export names; when it
    names none, the person's contract whose observation window holds the situation date (nearest to
    ``target`` months; ``contrat_deduit``). ``dans_fenetre``: observed ``window`` months after the end."""
    lo, hi = window
    s = b.select(
        *LINEAGE, raw_json(b).alias("raw_json"), "facilitateur", F.col("participant_id").alias("participant_key"),
        F.when(F.col("contrat_id").isNotNull(), F.concat_ws(":", "facilitateur", "contrat_id")).alias("contrat_key"),
        parse_date("date_situation").alias("date_situation"), "situation",
        code("situation", "outcomes").alias("sortie"),
    )
    s = _linked(s, links).withColumn("person_key", F.when(F.col("participant_key").isNotNull(), F.col("person_key")))
    s = s.withColumn("_row", F.concat_ws("#", "source_file", F.col("record_index").cast("string")))
    ends = contrats.filter(F.col("date_fin").isNotNull()).select(
        F.col("contrat_key").alias("_candidate"), F.col("person_key").alias("_person"),
        F.col("date_fin").alias("_fin"))
    gap = F.months_between("date_situation", "_fin")
    candidates = (s.filter(F.col("contrat_key").isNull() & F.col("person_key").isNotNull())
                   .select("_row", "person_key", "date_situation")
                   .join(ends, (F.col("person_key") == F.col("_person")) & gap.between(lo, hi))
                   .withColumn("_rank", F.row_number().over(Window.partitionBy("_row").orderBy(
                       F.abs(gap - F.lit(target)), F.col("_candidate"))))
                   .filter("_rank = 1").select("_row", "_candidate"))
    s = s.join(candidates, "_row", "left").withColumn("contrat_deduit", F.col("contrat_key").isNull()
                                                      & F.col("_candidate").isNotNull())
    s = s.withColumn("contrat_key", F.coalesce("contrat_key", "_candidate")).drop("_row", "_candidate")
    s = s.join(contrats.select("contrat_key", F.col("date_fin").alias("contrat_date_fin")), "contrat_key", "left")
    months = F.months_between("date_situation", "contrat_date_fin")
    s = s.withColumn("mois_apres_fin", F.round(months, 2)).withColumn(
        "dans_fenetre", F.coalesce(months.between(lo, hi), F.lit(False))).withColumn(
        "sortie_key", F.concat_ws("|", "person_key", F.coalesce("contrat_key", F.lit("")),
                                  F.col("date_situation").cast("string")))
    return s.withColumn("issues", issues(
        issue("sorties.situation_mapped", F.col("situation").isNotNull() & F.col("sortie").isNull(),
              F.col("situation"))))


def typed_structures(b: DataFrame) -> DataFrame:
    kinds = {r["code"]: r["family"] for r in ref.code_rows("structure_kinds")}
    family = literal_map(kinds)
    df = b.select(*LINEAGE, raw_json(b).alias("raw_json"), F.regexp_replace("siret", r"[\s.]", "").alias("siret"),
                  "raison_sociale", "type_structure", code("type_structure", "structure_kinds").alias("kind"),
                  F.col("code_postal"), F.col("commune"), F.col("departement"),
                  F.col("latitude").cast("double").alias("latitude"),
                  F.col("longitude").cast("double").alias("longitude"), F.col("origine"))
    return df.withColumn("famille", family[F.col("kind")]).withColumn("issues", issues(
        issue("structures.type_structure_mapped", F.col("type_structure").isNotNull() & F.col("kind").isNull(),
              F.col("type_structure"))))


def typed_companies(etab: DataFrame, ul: DataFrame) -> DataFrame:
    u = ul.select("siren", "denominationUniteLegale", "categorieJuridiqueUniteLegale", "categorieEntreprise",
                  "economieSocialeSolidaireUniteLegale")
    u = u.dropDuplicates(["siren"])
    df = etab.join(u, "siren", "left")
    insee = F.col("codeCommuneEtablissement")
    return df.select(
        *LINEAGE, raw_json(etab).alias("raw_json"), F.col("siret"), F.col("siren"),
        F.col("denominationUniteLegale").alias("denomination"),
        F.col("categorieJuridiqueUniteLegale").alias("categorie_juridique"),
        F.col("categorieEntreprise").alias("categorie_entreprise"),
        (F.col("economieSocialeSolidaireUniteLegale") == "O").alias("ess"),
        F.regexp_replace("activitePrincipaleEtablissement", r"\.", "").alias("naf"),
        F.col("trancheEffectifsEtablissement").alias("tranche_effectifs"),
        insee.alias("commune"), departement_of(insee).alias("departement"),
        (F.col("etatAdministratifEtablissement") == "A").alias("actif"),
    ).withColumn("issues", issues())


def typed_grand_paris(b: DataFrame) -> DataFrame:
    siret = F.regexp_replace("acheteur_siret", r"[\s.]", "")
    return b.select(
        *LINEAGE, raw_json(b).alias("raw_json"), "maitre_ouvrage", "operation", "programme",
        siret.alias("acheteur_siret"), F.trim("marche_id").alias("marche_id"),
        F.when(F.col("marche_id").isNotNull() & siret.isNotNull(), F.concat(siret, F.trim("marche_id")))
        .alias("decp_uid"),
        F.regexp_replace("titulaire_siret", r"[\s.]", "").alias("titulaire_siret"),
        parse_decimal("montant_ht").alias("montant_ht"), parse_date("date_notification").alias("date_notification"),
        parse_decimal("heures_travaillees_prevues").alias("heures_travaillees_prevues"),
        parse_decimal("objectif_insertion_pct").alias("objectif_insertion_pct"),
        parse_decimal("heures_insertion_objectif").alias("heures_insertion_objectif"),
        parse_decimal("engagement_tpe_pme_pct").alias("engagement_tpe_pme_pct"),
        parse_decimal("montant_tpe_pme").alias("montant_tpe_pme"),
    ).withColumn("issues", issues())


# --- checks, deduplication, outputs ---------------------------------------------------------------
def finish(typed: DataFrame, table: str, today: date, key: str | None) -> tuple[DataFrame, DataFrame]:
    """Rules -> (valid rows deduplicated on ``key``, quarantine rows). Nothing is dropped."""
    return finish_checked(quality.apply_rules(typed, table, today), table, key)


def finish_checked(checked: DataFrame, table: str, key: str | None) -> tuple[DataFrame, DataFrame]:
    """Rows with their issues -> (valid rows deduplicated on ``key``, quarantine rows)."""
    valid, invalid = quality.split_valid(checked)
    superseded = None
    if key is not None:
        # The latest export wins: latest load, then (same load) the file whose name sorts last.
        ranked = valid.withColumn("_rank", F.row_number().over(latest_first(key)))
        rule = RULES[f"{table}.duplicate"]
        superseded = ranked.filter("_rank > 1").withColumn("issues", F.array(F.struct(
            F.lit(rule.id).alias("rule_id"), F.lit(rule.message).alias("message")))).drop("_rank")
        valid = ranked.filter("_rank = 1").drop("_rank")
    bad = invalid if superseded is None else invalid.unionByName(superseded)
    quarantine = bad.select(*LINEAGE, F.transform("issues", lambda x: x["rule_id"]).alias("rule_ids"),
                            F.transform("issues", lambda x: x["message"]).alias("messages"), "raw_json")
    keep = [c for c in valid.columns if c not in ("issues", "raw_json") and not c.startswith("_")]
    return valid.select(*keep), quarantine


def values_to_map(frames: dict[str, DataFrame]) -> DataFrame:
    """Labels that matched no referential entry (or several): (source, table, column, list, value, rows, files)
    for the data steward; ``files`` = the exports the label came from (landed names)."""
    specs = {
        "operations": [("type_marche", "type_marche_code", "market_types"),
                       ("modalite_juridique", "modalite_code", "legal_modalities"),
                       ("grand_projet", "grand_projet_code", "grand_projects")],
        "participants": [("_sexe_raw", "sexe", "sexes"), ("_diplome_raw", "niveau_diplome", "diploma_levels"),
                         ("_prescripteur_raw", "prescripteur", "prescribers")],
        "contrats": [("_realisation_raw", "modalite_realisation", "realisation_modalities"),
                     ("_type_contrat_raw", "type_contrat", "contract_types")],
        "sorties": [("situation", "sortie", "outcomes")],
        "structures": [("type_structure", "kind", "structure_kinds")],
        "entreprises": [("type_structure", "kind", "structure_kinds"), ("_role_raw", "role", "company_roles")],
    }
    counted = (F.count("*").alias("rows"), F.array_sort(F.collect_set(landed_name("source_file"))).alias("files"))
    parts = []
    for table, cols in specs.items():
        if table not in frames:
            continue
        df = frames[table]
        for raw, mapped, list_name in cols:
            unmapped = df.filter(F.col(raw).isNotNull() & (F.col(mapped).isNull() | (F.col(mapped) == UNKNOWN)))
            source = F.col("facilitateur") if "facilitateur" in df.columns else F.lit(table)
            parts.append(unmapped.groupBy(source.alias("source"), F.col(raw).alias("value")).agg(*counted).select(
                "source", F.lit(table).alias("table"), F.lit(raw.strip("_").removesuffix("_raw")).alias("column"),
                F.lit(list_name).alias("code_list"), "value", "rows", "files"))
    if "participants" in frames:
        crit = frames["participants"].select("facilitateur", "source_file",
                                             F.explode("_criteres_raw").alias("value")).filter(
            code_of(F.col("value"), "eligibility_criteria").isNull())
        parts.append(crit.groupBy(F.col("facilitateur").alias("source"), "value").agg(*counted).select(
            "source", F.lit("participants").alias("table"), F.lit("criteres_eligibilite").alias("column"),
            F.lit("eligibility_criteria").alias("code_list"), "value", "rows", "files"))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


BRONZE = {  # silver name -> (source, entity) of its bronze table
    "operations": ("facilitateurs", "operations"), "participants": ("facilitateurs", "participants"),
    "entreprises": ("facilitateurs", "entreprises"),
    "contrats": ("facilitateurs", "contrats"), "heures": ("facilitateurs", "heures"),
    "sorties": ("facilitateurs", "sorties"), "structures": ("structures", "structures"),
    "etablissements": ("sirene", "etablissements"), "unites_legales": ("sirene", "unites_legales"),
    "grand_paris": ("grand_paris", "contrats"),
}
SILVER = {"operations": "silver/operations", "participants": "silver/participants",
          "entreprises": "silver/entreprises_operations",
          "contrats": "silver/contrats_insertion", "heures": "silver/heures_insertion", "sorties": "silver/sorties",
          "structures": "silver/structures", "companies": "silver/entreprises_sirene",
          "grand_paris": "silver/grand_paris_contrats"}
KEYS = {"operations": "operation_key", "participants": "participant_key", "entreprises": "entreprise_key",
        "contrats": "contrat_key", "heures": "heures_key", "sorties": "sortie_key", "structures": "siret",
        "companies": "siret", "grand_paris": "decp_uid"}


def contract(name: str, silver: DataFrame, today: date):
    """Pandera schema of a silver table: the columns its rules check, with the rules' predicates."""
    checked = {r.column for r in rules_for(name) if r.column}
    return quality.pandera_schema(name, {f.name: f.dataType for f in silver.schema.fields if f.name in checked},
                                  today)


def _bronze(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    source, entity = BRONZE[name]
    ent = source_contract(source).entities[entity]
    schema = T.StructType([T.StructField(c, T.StringType()) for c in
                           ["source_file", "source_sha256", "facilitateur", *ent.output_columns, "extra_fields",
                            "row_issue", "load_id"]]
                          + [T.StructField("record_index", T.IntegerType()),
                             T.StructField("ingested_at", T.TimestampType())])
    return read_table(spark, settings, ent.table, schema)


def run(ctx: RunContext) -> dict:
    """Reads the bronze tables of the facilitators, Grand Paris, structures and SIRENE; writes their silver
    tables (typed, coded on the referential, checked, deduplicated), one quarantine per table, and
    ``quality/values_to_map`` (labels no referential entry matched, for the data steward)."""
    spark, settings, today = ctx.spark, ctx.settings, ctx.today
    declared = contract_for(settings, "facilitateurs")  # wrong declarations raise here, before any write
    b = {name: _bronze(spark, settings, name) for name in BRONZE}
    b.update({name: apply_declared_values(b[name], entity, declared, spark_fold)
              for name, (source, entity) in BRONZE.items() if source == "facilitateurs"})
    typed: dict[str, DataFrame] = {}
    reports = []

    def publish(name: str) -> dict:
        # Typed and checked once (joins, SIRET checks in Python), cached, not once per output (bench, issue 8).
        checked = quality.apply_rules(typed[name], name, today).persist(StorageLevel.MEMORY_AND_DISK)
        if name == "heures":  # lines summed per contract-month: a row stands for ``n_lignes`` input lines
            silver, quarantine = finish_heures(checked)
            silver = silver.persist(StorageLevel.MEMORY_AND_DISK)
            rows = silver.count()
            report = write_audit_publish(settings, SILVER[name], silver, quarantine=quarantine,
                                         rows_in=checked.count(), schema=contract(name, silver, today),
                                         written_weight="n_lignes")
            report["details"].update(table_rows=rows, lines_summed=report["rows_written"] - rows)
            silver.unpersist()
        else:
            silver, quarantine = finish_checked(checked, name, KEYS[name])
            report = write_audit_publish(settings, SILVER[name], silver, quarantine=quarantine,
                                         rows_in=checked.count(), schema=contract(name, silver, today))
        checked.unpersist()
        return report

    def publish_all(**frames: DataFrame) -> list[DataFrame]:
        """Tables that do not read each other, written side by side; their silver tables as written."""
        typed.update(frames)
        reports.extend(each_table(settings, publish, list(frames), spark))
        return [spark.read.format("delta").load(settings.table_uri(SILVER[name])) for name in frames]

    links = person_links(b["participants"]).persist(StorageLevel.MEMORY_AND_DISK)
    operations, _, contrats, *_ = publish_all(
        operations=typed_operations(b["operations"]), entreprises=typed_entreprises(b["entreprises"]),
        contrats=typed_contrats(b["contrats"], links), structures=typed_structures(b["structures"]),
        companies=typed_companies(b["etablissements"], b["unites_legales"]),
        grand_paris=typed_grand_paris(b["grand_paris"]))
    heures, = publish_all(heures=typed_heures(b["heures"], contrats, operations, typed["operations"]))
    # The age band needs the first contract with a valid hours line: participants come after the hours.
    bands = age_bands(b["participants"], links, contrats, heures)
    publish_all(sorties=typed_sorties(b["sorties"], contrats, links, settings.outcome_window_months,
                                      settings.outcome_months),
                participants=typed_participants(b["participants"], links, bands))
    links.unpersist()
    to_map = values_to_map(typed)
    write_table(to_map.withColumn("load_id", F.lit(ctx.run_id)), settings, "quality/values_to_map")
    values = [r.asDict() for r in spark.read.format("delta").load(settings.table_uri("quality/values_to_map"))
              .orderBy(F.desc("rows")).limit(50).collect()]
    return {"stage": "silver_sources", "tables": reports, "values_to_map": values}
