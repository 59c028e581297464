"""Silver transforms of the facilitators' exports on handmade bronze rows (real Spark, no storage)."""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import functions as F

from jobs.silver import sources as ss
from schemas import referential as ref

TODAY = date(2026, 11, 28)
LINEAGE = {"source_file": "f.csv", "source_sha256": "sha", "load_id": "l", "ingested_at": datetime(2026, 11, 1)}


def bronze(spark, rows, columns):
    data = [{**LINEAGE, "record_index": i, "facilitateur": "clause93", **{c: r.get(c) for c in columns}}
            for i, r in enumerate(rows)]
    cols = [*LINEAGE, "record_index", "facilitateur", *columns]
    types = {"ingested_at": "timestamp", "record_index": "int"}
    schema = ", ".join(f"{c} {types.get(c, 'string')}" for c in cols)
    return spark.createDataFrame([[d[c] for c in cols] for d in data], schema)


OP_COLS = ["facilitateur_marche_id", "donneur_ordre_siret", "donneur_ordre_nom", "decp_id", "objet", "type_marche",
           "modalite_juridique", "date_notification", "date_debut", "date_fin", "heures_objectif",
           "commune_execution_insee", "grand_projet", "facilitateur_structure"]


def op(**kw):
    base = {"facilitateur_marche_id": "OP1", "donneur_ordre_siret": "21750001600019", "type_marche": "Travaux",
            "modalite_juridique": "Article 38", "date_debut": "01/03/2024", "date_fin": "31/12/2024",
            "heures_objectif": "1 250,5", "commune_execution_insee": "93066"}
    return {**base, **kw}


def test_spark_fold_is_the_python_fold_for_every_referential_label(spark):
    labels = sorted({label for name in ref.MAPPED_LISTS for label in ref.mapping(name)._lookup}
                    | {"Maître d'ouvrage", "  CDD   d’insertion ", "Niveau V bis", "Épinay"})
    df = spark.createDataFrame([(x,) for x in labels], "v string").select("v", ss.spark_fold(F.col("v")).alias("f"))
    assert {r.v: r.f for r in df.collect()} == {x: ref.fold(x) for x in labels}


def test_operations_are_typed_coded_and_checked(spark):
    rows = [op(), op(facilitateur_marche_id="OP2", modalite_juridique="clause spéciale n°7"),
            op(facilitateur_marche_id="OP3", donneur_ordre_siret="21750001630066"),
            op(facilitateur_marche_id="OP4", date_fin="01/01/2024"), op(facilitateur_marche_id=None)]
    typed = ss.typed_operations(bronze(spark, rows, OP_COLS))
    silver, quarantine = ss.finish(typed, "operations", TODAY, "operation_key")
    from jobs.core import quality

    assert quality.audit(silver, ss.contract("operations", silver, TODAY)) == []
    assert quality.audit(silver.withColumn("heures_objectif", F.lit(-1.0)),
                         ss.contract("operations", silver, TODAY)) != []
    [ok] = silver.collect()
    assert (ok.operation_key, ok.modalite_code, ok.type_marche_code) == ("clause93:OP1", "CLAUSE_EXECUTION_L2112_2",
                                                                         "TRAVAUX")
    assert ok.heures_objectif == 1250.5 and ok.date_debut == date(2024, 3, 1)
    assert (ok.departement, ok.ept) == ("93", "T6")
    got = {tuple(r.rule_ids) for r in quarantine.collect()}
    assert got == {("operations.modalite_juridique_mapped",), ("operations.donneur_ordre_siret",),
                   ("operations.dates_ordered",), ("operations.key_present",)}
    to_map = ss.values_to_map({"operations": typed}).collect()
    assert [(r.source, r.column, r.value, r.rows) for r in to_map] == [
        ("clause93", "modalite_juridique", "clause spéciale n°7", 1)]


PART_COLS = ["participant_id", "sexe", "date_naissance_annee", "annee_naissance", "niveau_diplome",
             "criteres_eligibilite", "commune_residence_insee", "qpv", "prescripteur", "date_entree"]


def test_participants_get_age_bands_and_codes_not_birth_years(spark):
    rows = [{"participant_id": "p1", "sexe": "F", "date_naissance_annee": "2001", "niveau_diplome": "Niveau V",
             "criteres_eligibilite": "DELD|RSA", "commune_residence_insee": "75056", "qpv": "oui",
             "prescripteur": "Pôle emploi", "date_entree": "15/01/2024"},
            {"participant_id": "p2", "sexe": "X", "annee_naissance": "1970", "niveau_diplome": "bac",
             "criteres_eligibilite": "senior, inconnu", "qpv": "non", "prescripteur": "voisin",
             "date_entree": "2024-02-01"}]
    typed = ss.typed_participants(bronze(spark, rows, PART_COLS))
    silver, quarantine = ss.finish(typed, "participants", TODAY, "person_key")
    got = {r.person_key: r for r in silver.collect()}
    assert quarantine.count() == 0
    assert (got["p1"].tranche_age, got["p1"].niveau_diplome, got["p1"].prescripteur) == ("MOINS_26", "NIV_3",
                                                                                         "FRANCE_TRAVAIL")
    assert got["p1"].criteres == ["DELD", "RSA"] and got["p1"].qpv is True
    assert (got["p2"].sexe, got["p2"].tranche_age, got["p2"].prescripteur) == ("INCONNU", "PLUS_50", "INCONNU")
    assert not {"date_naissance_annee", "annee_naissance"} & set(silver.columns)
    to_map = {(r.column, r.value) for r in ss.values_to_map({"participants": typed}).collect()}
    assert to_map == {("sexe", "X"), ("prescripteur", "voisin"), ("criteres_eligibilite", "inconnu")}


def test_hours_are_checked_against_their_contract(spark):
    contrats = spark.createDataFrame(
        [("clause93:C1", "pk", "clause93:OP1", "clause93", date(2024, 3, 10), date(2024, 5, 20))],
        "contrat_key string, person_key string, operation_key string, facilitateur string, date_debut date, "
        "date_fin date")
    operations = spark.createDataFrame([("clause93:OP1", "CLAUSE_EXECUTION_L2112_2", "93", "T6", "TRAVAUX")],
                                       "operation_key string, modalite_code string, departement string, ept string, "
                                       "type_marche_code string")
    rows = [{"contrat_id": "C1", "mois": "03/2024", "heures_realisees": "151,67"},
            {"contrat_id": "C1", "mois": "2024-04", "heures_realisees": "-7"},
            {"contrat_id": "C1", "mois": "09/2024", "heures_realisees": "20"},
            {"contrat_id": "C9", "mois": "04/2024", "heures_realisees": "20"},
            {"contrat_id": "C1", "mois": "03/2024", "heures_realisees": "150"}]
    typed = ss.typed_heures(bronze(spark, rows, ["contrat_id", "mois", "heures_realisees"]), contrats, operations)
    silver, quarantine = ss.finish(typed, "heures", TODAY, "heures_key")
    [ok] = silver.collect()
    assert (ok.mois, ok.modalite_code, ok.person_key) == (date(2024, 3, 1), "CLAUSE_EXECUTION_L2112_2", "pk")
    assert ok.heures in (151.67, 150.0)
    rules = sorted(r for q in quarantine.collect() for r in q.rule_ids)
    assert rules == ["heures.contrat_known", "heures.duplicate", "heures.not_after_contract", "heures.value_valid"]


def test_entity_resolution_by_siret_then_siren_and_buyer_categories(spark):
    from jobs.silver import resolution as er

    sirene = spark.createDataFrame(
        [("55204599900869", "552045999", "PME", False, "4120A", "ACME", "5710", "93066", "93"),
         ("21750001600019", "217500016", None, False, "8411Z", "VILLE DE PARIS", "7210", "75056", "75")],
        "siret string, siren string, categorie_entreprise string, ess boolean, naf string, denomination string, "
        "categorie_juridique string, commune string, departement string")
    structures = spark.createDataFrame([("80746931700018", "EI", "SIAE")], "siret string, kind string, famille string")
    companies = spark.createDataFrame(
        [("decp", "u1", "55204599900869"), ("decp", "u2", "55204599900877"), ("decp", "u3", "80746931700026"),
         ("decp", "u4", "12345678900022")], "source string, source_key string, siret string")
    got = {r.source_key: (r.sirene_match, r.structure_match, r.structure_kind)
           for r in er.resolve(companies, sirene, structures).collect()}
    assert got == {"u1": ("siret", "aucun", None), "u2": ("siren", "aucun", None), "u3": ("aucun", "siren", "EI"),
                   "u4": ("aucun", "aucun", None)}
    marches = spark.createDataFrame([("21750001600019", None), ("21750001600019", "Ville"), ("13000000000013", "X")],
                                    "acheteur_id string, acheteur_nom string")
    b = {r.siret: (r.nom, r.categorie_acheteur, r.nb_marches) for r in er.buyers(marches, sirene).collect()}
    assert b == {"21750001600019": ("VILLE DE PARIS", "COMMUNE", 2), "13000000000013": ("X", "INCONNU", 1)}
    cats = spark.createDataFrame([("7346",), ("4110",), ("9220",), ("7364",)], "c string")
    assert [r[0] for r in cats.select(er.buyer_category(F.col("c"))).collect()] == [
        "INTERCOMMUNALITE", "EPIC", "AUTRE", "HOPITAL"]
