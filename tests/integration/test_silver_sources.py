"""Silver transforms of the facilitators' exports on handmade bronze rows (real Spark, no storage)."""

from __future__ import annotations

import json
from datetime import date, datetime

from pyspark.sql import functions as F

from jobs.core import quality
from jobs.core.labels import code_of, literal_map, spark_fold
from jobs.silver import sources as ss
from schemas import referential as ref

TODAY = date(2026, 11, 28)
RAW = "file:/lake/raw/facilitateurs/landed_date=2026-11-01/0123456789abcdef_"
LINEAGE = {"source_file": RAW + "clause93_x_2024.csv", "source_sha256": "sha", "load_id": "l",
           "ingested_at": datetime(2026, 11, 1)}


def bronze(spark, rows, columns):
    """Bronze rows; a row may name its export (``file``, the landed name) to play a later or another export."""
    data = [{**LINEAGE, "record_index": i, "facilitateur": r.get("facilitateur", "clause93"),
             **({"source_file": RAW + r["file"]} if "file" in r else {}), **{c: r.get(c) for c in columns}}
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
            "modalite_juridique": "Article 38", "date_debut": "01/03/2024", "date_fin": "31/10/2024",
            "heures_objectif": "1 250,5", "commune_execution_insee": "93066"}
    return {**base, **kw}


# Labels the Spark fold must key exactly as the Python fold: every referential label, hand-written variants.
VARIANTS = ["Maître d'ouvrage", "  CDD   d’insertion ", "Niveau V bis", "Épinay", "Clause d'insertion (art. 14)",
            "Art.38", "ART 38", "article L.2112-2 du CCP", "L 2112-2", "Article R.2152-7 du code de la commande "
            "publique", "Marché réservé (L2113-13-1)", "art. 36-II de l'ordonnance 2015-899", "article 14 et "
            "article 38", "Clause\u00a0sociale\u202fd’insertion", "Clause\u2009sociale\u2007d‘insertion",
            "Critère social", "Marché réservé", "Convention hors marché public (ANRU)", "CDD ≥ 6 mois",
            "CDD >= 6 mois", "CDD < 6 mois", "+50 ans", "Objectif insertion (%)", "Œuvre d'ÉTÉ", "N° opé",
            "Straße", "ÆSOP", "Ĳssel", "ŉ", "½ temps", "Ḿ", "dʼinsertion", "Hors marchés publics - charte d'insertion",
            "Art 62 décret 2016-360", "R2123-1 3°", "Mise à disposition", "1", "2", "", "   "]


def test_spark_fold_is_the_python_fold_for_every_referential_label_and_variant(spark):
    written = {label for name in ref.MAPPED_LISTS for row in ref.code_rows(name)
               for label in [*(row.get("aliases") or row.get("legacy_labels") or "").split("|"),
                             row.get("label_fr", ""), row["code"], row.get("article") or ""]}
    labels = sorted({k for name in ref.MAPPED_LISTS for k in ref.mapping(name)._lookup} | written | set(VARIANTS))
    df = spark.createDataFrame([(x,) for x in labels], "v string").select(
        "v", spark_fold(F.col("v")).alias("f"), *[code_of(F.col("v"), n).alias(n) for n in ref.MAPPED_LISTS])
    rows = df.collect()
    assert {r.v: r.f for r in rows} == {x: ref.fold(x) for x in labels}
    for name in ref.MAPPED_LISTS:  # codes too (aliases, then ``contains`` phrases)
        assert {r.v: r[name] for r in rows} == {x: ref.mapping(name).canonical(x) for x in labels}, name
    got = {r.v: r.legal_modalities for r in rows}
    assert (got["Convention hors marché public (ANRU)"], got["Art.38"], got["Marché réservé"]) == (
        "HORS_MARCHE_PUBLIC", "CLAUSE_EXECUTION_L2112_2", "MARCHE_RESERVE")


def test_operations_are_typed_coded_and_checked(spark):
    rows = [op(grand_projet="GPE ligne 15 Sud"),
            op(facilitateur_marche_id="OP2", modalite_juridique="clause spéciale n°7"),
            op(facilitateur_marche_id="OP3", donneur_ordre_siret="21750001630066"),
            op(facilitateur_marche_id="OP4", date_fin="01/01/2024"), op(facilitateur_marche_id=None),
            op(facilitateur_marche_id="OP5", modalite_juridique="Clause d'insertion (art. 14)", grand_projet="oui",
               file="clause93_operations_2025.csv"),
            op(facilitateur_marche_id="OP6", modalite_juridique="Convention hors marché public (NPNRU)"),
            op(facilitateur_marche_id="OP7", modalite_juridique="Autre", type_marche="Mixte"),
            op(facilitateur_marche_id="OP8", modalite_juridique=None),
            op(facilitateur_marche_id="OP9", type_marche=None)]
    typed = ss.typed_operations(bronze(spark, rows, OP_COLS))
    silver, quarantine = ss.finish(typed, "operations", TODAY, "operation_key")
    from jobs.core import quality

    assert quality.audit(silver, ss.contract("operations", silver, TODAY)) == []
    assert quality.audit(silver.withColumn("heures_objectif", F.lit(-1.0)),
                         ss.contract("operations", silver, TODAY)) != []
    got = {r.operation_key: r for r in silver.collect()}
    assert set(got) == {"clause93:OP1", "clause93:OP5", "clause93:OP6"}
    ok = got["clause93:OP1"]
    assert (ok.modalite_code, ok.type_marche_code, ok.grand_projet_code) == ("CLAUSE_EXECUTION_L2112_2", "TRAVAUX",
                                                                             "GPE")
    assert ok.heures_objectif == 1250.5 and ok.date_debut == date(2024, 3, 1)
    assert (ok.departement, ok.ept) == ("93", "T6")
    assert (got["clause93:OP5"].modalite_code, got["clause93:OP5"].grand_projet_code) == (
        "CLAUSE_EXECUTION_L2112_2", "INCONNU")  # "oui": which project? kept, flagged, listed
    assert (got["clause93:OP6"].modalite_code, got["clause93:OP6"].grand_projet_code) == ("HORS_MARCHE_PUBLIC",
                                                                                          "AUCUN")
    got_q = {tuple(r.rule_ids) for r in quarantine.collect()}
    assert got_q == {("operations.modalite_juridique_mapped",), ("operations.donneur_ordre_siret",),
                     ("operations.dates_ordered",), ("operations.key_present",),
                     ("operations.type_marche_mapped", "operations.modalite_juridique_mapped"),
                     ("operations.modalite_juridique_present",), ("operations.type_marche_present",)}
    to_map = sorted((r.source, r.column, r.value, r.rows, tuple(r.files))
                    for r in ss.values_to_map({"operations": typed}).collect())
    assert to_map == [("clause93", "grand_projet", "oui", 1, ("clause93_operations_2025.csv",)),
                      ("clause93", "modalite_juridique", "Autre", 1, ("clause93_x_2024.csv",)),
                      ("clause93", "modalite_juridique", "clause spéciale n°7", 1, ("clause93_x_2024.csv",)),
                      ("clause93", "type_marche", "Mixte", 1, ("clause93_x_2024.csv",))]


PART_COLS = ["participant_id", "personne_id", "sexe", "date_naissance", "annee_naissance", "niveau_diplome",
             "criteres_eligibilite", "commune_residence_insee", "qpv", "prescripteur", "date_entree"]


def contracts_and_hours(spark, contracts):
    """Silver-like contracts (key, person, start) and one valid hours row for those flagged ``True``."""
    c = spark.createDataFrame([(k, p, d) for k, p, d, _ in contracts],
                              "contrat_key string, person_key string, date_debut date")
    h = spark.createDataFrame([(k,) for k, _, _, worked in contracts if worked], "contrat_key string")
    return c, h


def test_age_band_on_the_first_contract_with_a_valid_hours_line(spark):
    rows = [{"participant_id": "p1", "personne_id": "K1", "date_naissance": "2000-03-15"},
            {"participant_id": "p2", "annee_naissance": "1970"}, {"participant_id": "p3", "annee_naissance": "1998"},
            {"participant_id": "p4", "personne_id": "K4", "date_naissance": "1974-06-30"},
            {"participant_id": "p5", "personne_id": "K5", "date_naissance": "1990-01-01"}]
    b = bronze(spark, rows, PART_COLS)
    links = ss.person_links(b)
    contrats, heures = contracts_and_hours(spark, [
        ("c0", "K1", date(2025, 1, 1), False),  # earlier, but no valid hours line: not the first contract
        ("c1", "K1", date(2026, 3, 14), True),  # the day before the 26th birthday
        ("c2", "p2", date(2024, 2, 1), True),  # 53 or 54: ≥ 50 either way
        ("c3", "p3", date(2024, 6, 1), True),  # 25 or 26: the year alone cannot say
        ("c4", "K4", date(2024, 6, 29), True),  # the day before the 50th birthday
        ("c5", "K5", date(2024, 1, 1), False)])
    got = {r.person_key: r.tranche_age for r in ss.age_bands(b, links, contrats, heures).collect()}
    assert got == {"K1": "MOINS_26", "p2": "PLUS_50", "p3": "INCONNU", "K4": "DE_26_A_49"}


def test_participants_get_codes_persons_and_bands_but_no_birth_date(spark):
    rows = [{"participant_id": "p1", "personne_id": "K1", "sexe": "F", "date_naissance": "2001-05-02",
             "niveau_diplome": "Niveau V", "criteres_eligibilite": "DELD|RSA", "commune_residence_insee": "75056",
             "qpv": "oui", "prescripteur": "Pôle emploi", "date_entree": "15/01/2024"},
            {"participant_id": "p2", "sexe": "1", "annee_naissance": "1970", "niveau_diplome": "bac",
             "criteres_eligibilite": "senior, inconnu", "qpv": "non", "prescripteur": "voisin",
             "date_entree": "2024-02-01"}]
    b = bronze(spark, rows, PART_COLS)
    links = ss.person_links(b)
    contrats, heures = contracts_and_hours(spark, [("c1", "K1", date(2024, 1, 15), True),
                                                   ("c2", "p2", date(2024, 2, 1), True)])
    typed = ss.typed_participants(b, links, ss.age_bands(b, links, contrats, heures))
    silver, quarantine = ss.finish(typed, "participants", TODAY, "participant_key")
    got = {r.participant_key: r for r in silver.collect()}
    assert quarantine.count() == 0
    assert (got["p1"].person_key, got["p1"].person_key_method) == ("K1", "nom_prenom_naissance")
    assert (got["p2"].person_key, got["p2"].person_key_method) == ("p2", "id_local")
    assert (got["p1"].tranche_age, got["p1"].niveau_diplome, got["p1"].prescripteur) == ("MOINS_26", "NIV_3",
                                                                                         "FRANCE_TRAVAIL")
    assert got["p1"].criteres == ["DELD", "RSA"] and got["p1"].qpv is True
    assert (got["p2"].sexe, got["p2"].tranche_age, got["p2"].prescripteur) == ("INCONNU", "PLUS_50", "INCONNU")
    assert not {"date_naissance", "date_naissance_annee", "annee_naissance", "personne_id"} & set(silver.columns)
    assert "2001-05-02" not in " ".join(r.raw_json for r in typed.collect())  # nor in the quarantine's raw rows
    to_map = {(r.column, r.value) for r in ss.values_to_map({"participants": typed}).collect()}
    assert to_map == {("sexe", "1"), ("prescripteur", "voisin"), ("criteres_eligibilite", "inconnu")}


def _silver_ops(spark, rows):
    typed = ss.typed_operations(bronze(spark, rows, OP_COLS))
    silver, _ = ss.finish(typed, "operations", TODAY, "operation_key")
    return silver, typed


HOUR_COLS = ["contrat_id", "mois", "heures_realisees"]


def test_hours_lines_are_checked_summed_and_replaced_by_later_exports(spark):
    ops, ops_typed = _silver_ops(spark, [op(), op(facilitateur_marche_id="OP2",
                                                  modalite_juridique="clause spéciale n°7"),
                                         op(facilitateur_marche_id="OP5", modalite_juridique=None)])
    contrats = spark.createDataFrame(
        [("clause93:C1", "pk1", "p1", "clause93:OP1", "clause93", date(2024, 3, 10), date(2024, 5, 20)),
         ("clause93:C2", "pk2", "p2", "clause93:OP2", "clause93", date(2024, 3, 1), date(2024, 6, 30)),
         ("clause93:C3", "pk3", "p3", "clause93:OP9", "clause93", date(2024, 3, 1), date(2024, 6, 30)),
         ("clause93:C4", "pk4", "p4", "clause93:OP1", "clause93", date(2024, 2, 1), date(2024, 12, 31)),
         ("clause93:C5", "pk5", "p5", "clause93:OP5", "clause93", date(2024, 3, 1), date(2024, 6, 30))],
        "contrat_key string, person_key string, participant_key string, operation_key string, facilitateur string, "
        "date_debut date, date_fin date")
    older, later = "clause93_heures_2024-05.csv", "clause93_heures_2024-06.csv"
    rows = [{"contrat_id": "C1", "mois": "03/2024", "heures_realisees": "100", "file": older},
            {"contrat_id": "C1", "mois": "2024-03", "heures_realisees": "51,5", "file": older},  # split line: summed
            {"contrat_id": "C1", "mois": "04/2024", "heures_realisees": "-7", "file": older},
            {"contrat_id": "C1", "mois": "04/2024", "heures_realisees": "400", "file": older},
            {"contrat_id": "C1", "mois": "09/2024", "heures_realisees": "20", "file": older},
            {"contrat_id": "C9", "mois": "04/2024", "heures_realisees": "20", "file": older},
            {"contrat_id": "C1", "mois": "05/2024", "heures_realisees": "80", "file": older},
            {"contrat_id": "C1", "mois": "05/2024", "heures_realisees": "90", "file": later},  # the correction
            {"contrat_id": "C2", "mois": "04/2024", "heures_realisees": "10", "file": older},
            {"contrat_id": "C3", "mois": "04/2024", "heures_realisees": "10", "file": older},
            {"contrat_id": "C4", "mois": "02/2024", "heures_realisees": "10", "file": older},
            {"contrat_id": "C4", "mois": "11/2024", "heures_realisees": "10", "file": older},
            {"contrat_id": "C4", "mois": "06/2024", "heures_realisees": "200", "file": older},
            {"contrat_id": "C4", "mois": "06/2024", "heures_realisees": "150", "file": older},
            {"contrat_id": "C4", "mois": "07/2024", "heures_realisees": "abc", "file": older},
            {"contrat_id": "C5", "mois": "04/2024", "heures_realisees": "10", "file": older}]
    typed = ss.typed_heures(bronze(spark, rows, HOUR_COLS), contrats, ops, ops_typed)
    checked = quality.apply_rules(typed, "heures", TODAY)
    silver, quarantine = ss.finish_heures(checked)
    got = {(r.contrat_key, r.mois): (r.heures, r.n_lignes, r.modalite_code, r.person_key,
                                     r.source_file.rsplit("_", 2)[-1]) for r in silver.collect()}
    assert got == {("clause93:C1", date(2024, 3, 1)): (151.5, 2, "CLAUSE_EXECUTION_L2112_2", "pk1", "2024-05.csv"),
                   ("clause93:C1", date(2024, 5, 1)): (90.0, 1, "CLAUSE_EXECUTION_L2112_2", "pk1", "2024-06.csv")}
    reasons = sorted((json.loads(q.raw_json)["contrat_id"], json.loads(q.raw_json)["mois"], tuple(q.rule_ids))
                     for q in quarantine.collect())
    assert reasons == [
        ("C1", "04/2024", ("heures.not_negative",)), ("C1", "04/2024", ("heures.value_plausible",)),
        ("C1", "05/2024", ("heures.duplicate",)), ("C1", "09/2024", ("heures.not_after_contract",)),
        ("C2", "04/2024", ("heures.modalite_known",)), ("C3", "04/2024", ("heures.operation_known",)),
        ("C4", "02/2024", ("heures.not_before_operation",)), ("C4", "06/2024", ("heures.month_total_plausible",)),
        ("C4", "06/2024", ("heures.month_total_plausible",)), ("C4", "07/2024", ("heures.value_present",)),
        ("C4", "11/2024", ("heures.not_after_operation",)), ("C5", "04/2024", ("heures.modalite_known",)),
        ("C9", "04/2024", ("heures.contrat_known",))]
    messages = {m for q in quarantine.collect() for m in q.messages}
    assert ("legal modality of the operation not in the referential: hours kept out of the figures until the label "
            "is mapped: 'clause spéciale n°7'") in messages
    assert ("legal modality of the operation not in the referential: hours kept out of the figures until the label "
            "is mapped: '(absent)'") in messages
    assert ("hours of this contract and month replaced by a later export of the facilitator: "
            "'clause93_heures_2024-06.csv'") in messages
    # in = written + quarantined, counting the input lines a summed row stands for
    assert sum(r.n_lignes for r in silver.collect()) + quarantine.count() == len(rows) == 16
    assert quality.audit(silver, ss.contract("heures", silver, TODAY)) == []


SORTIE_COLS = ["participant_id", "contrat_id", "date_situation", "situation", "detail"]


def test_outcomes_are_linked_to_their_exit_deduplicated_and_windowed(spark):
    contrats = spark.createDataFrame(
        [("clause93:C1", "KA", date(2024, 1, 31)), ("clause93:C2", "KA", date(2024, 8, 31)),
         ("clause93:C3", "pB", date(2024, 3, 31))], "contrat_key string, person_key string, date_fin date")
    links = spark.createDataFrame([("pA", "KA", "nom_prenom_naissance")],
                                  "participant_key string, person_key string, person_key_method string")
    rows = [{"participant_id": "pA", "contrat_id": "C1", "date_situation": "31/07/2024", "situation": "CDI"},
            {"participant_id": "pA", "contrat_id": "C1", "date_situation": "30/04/2024",
             "situation": "Demandeur d'emploi"},
            {"participant_id": "pA", "contrat_id": "C1", "date_situation": "31/07/2024", "situation": "CDI",
             "file": "clause93_sorties_2025.csv"},  # the same outcome exported again
            {"participant_id": "pA", "date_situation": "01/03/2025", "situation": "Formation qualifiante"},
            {"participant_id": "pB", "contrat_id": "C3", "date_situation": "15/10/2024", "situation": "Formation"}]
    rows = [{"file": "clause93_sorties_2024.csv", **r} for r in rows]
    typed = ss.typed_sorties(bronze(spark, rows, SORTIE_COLS), contrats, links, (5, 9), 6)
    silver, quarantine = ss.finish(typed, "sorties", TODAY, "sortie_key")
    got = sorted((r.person_key, r.contrat_key, r.date_situation, r.sortie, r.contrat_deduit, r.dans_fenetre,
                  r.source_file.endswith("2025.csv")) for r in silver.collect())
    assert got == [("KA", "clause93:C1", date(2024, 4, 30), "AUTRE", False, False, False),
                   ("KA", "clause93:C1", date(2024, 7, 31), "EMPLOI_DURABLE", False, True, True),
                   ("KA", "clause93:C2", date(2025, 3, 1), "SORTIE_POSITIVE", True, True, False)]
    assert sorted(tuple(r.rule_ids) for r in quarantine.collect()) == [("sorties.duplicate",),
                                                                      ("sorties.situation_mapped",)]
    assert {(r.value, r.rows) for r in ss.values_to_map({"sorties": typed}).collect()} == {("Formation", 1)}


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


def test_a_large_lookup_is_one_folded_map_constant(spark):
    rows = spark.createDataFrame([("93066",), ("00000",), (None,)], "insee string").repartition(1)  # not folded away
    coded = rows.select(
        literal_map({"75056": "75", "93066": "93"})[F.col("insee")].alias("departement"))
    assert sorted(coded.collect(), key=lambda r: r.departement or "") == [(None,), (None,), ("93",)]
    plan = coded._jdf.queryExecution().optimizedPlan().toString().lower()
    assert "from_json" not in plan and "jsontostructs" not in plan and "invoke" not in plan  # folded once, not per row
