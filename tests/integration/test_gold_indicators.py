"""Gold indicators against figures computed in plain Python from a small handmade silver dataset."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from pyspark.sql import functions as F

from jobs.gold import indicators as gi

THRESHOLD = 2

OPERATIONS = [  # key, siret, market, modality, dept, ept, grand projet code, objective, start, end
    ("f:OP1", "21750001600019", "TRAVAUX", "CLAUSE_EXECUTION_L2112_2", "93", "T6", "AUCUN", 300.0,
     date(2024, 1, 10), date(2024, 3, 20)),
    ("f:OP2", "13000000000013", "SERVICES", "CRITERE_ATTRIBUTION_R2152_7", "75", "T1", "GPE", 1200.0,
     date(2024, 2, 1), date(2024, 2, 28)),
]
BUYERS = {"21750001600019": "COMMUNE"}
HOURS = [  # contract, person, operation, month, hours
    ("f:c1", "p1", "f:OP1", date(2024, 1, 1), 100.0), ("f:c1", "p1", "f:OP1", date(2024, 2, 1), 50.0),
    ("f:c2", "p2", "f:OP1", date(2024, 2, 1), 30.0), ("f:c3", "p1", "f:OP2", date(2024, 2, 1), 20.0),
    ("f:c4", "p3", "f:OPX", date(2024, 3, 1), 10.0),
]
PARTICIPANTS = [  # participant (local), facilitator, entry, person, profile...
    ("f:a1", "f", date(2024, 1, 3), "p1", "F", "MOINS_26", "NIV_3", "93", True, "MISSION_LOCALE", ["DELD", "RSA"]),
    ("g:b7", "g", date(2024, 2, 1), "p1", "INCONNU", "MOINS_26", "NIV_4", "75", False, "PLIE", ["TH"]),  # same person
    ("f:a2", "f", date(2024, 2, 1), "p2", "H", "DE_26_A_49", "INFRA_3", "75", False, "FRANCE_TRAVAIL", ["JEUNE"])]


@pytest.fixture(scope="module")
def frames(spark):
    ops = spark.createDataFrame(OPERATIONS, "operation_key string, donneur_ordre_siret string, "
                                "type_marche_code string, modalite_code string, departement string, ept string, "
                                "grand_projet_code string, "
                                "heures_objectif double, date_debut date, date_fin date")
    buyers = spark.createDataFrame(list(BUYERS.items()), "siret string, categorie_acheteur string")
    hours = spark.createDataFrame(HOURS, "contrat_key string, person_key string, operation_key string, mois date, "
                                  "heures double")
    participants = spark.createDataFrame(PARTICIPANTS, "participant_key string, facilitateur string, "
                                         "date_entree date, person_key string, sexe string, tranche_age string, "
                                         "niveau_diplome string, departement_residence string, qpv boolean, "
                                         "prescripteur string, criteres array<string>")
    return ops, buyers, hours, participants


def expected_hours():
    ops = {o[0]: o for o in OPERATIONS}
    cells = defaultdict(lambda: {"h": 0.0, "persons": set(), "contracts": set(), "target": 0.0})
    for contract, person, op, month, h in HOURS:
        o = ops.get(op)
        dims = (o[4], o[5], o[3], o[2], BUYERS.get(o[1], "INCONNU"), o[6]) if o else (
            "NON_VENTILE", "HORS_EPT", "INCONNU", "INCONNU", "INCONNU", "INCONNU")
        c = cells[(month, *dims)]
        c["h"] += h
        c["persons"].add(person)
        c["contracts"].add(contract)
    for o in OPERATIONS:
        months = []
        m = date(o[8].year, o[8].month, 1)
        while m <= date(o[9].year, o[9].month, 1):
            months.append(m)
            m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        for m in months:
            cells[(m, o[4], o[5], o[3], o[2], BUYERS.get(o[1], "INCONNU"), o[6])]["target"] += o[7] / len(months)
    return {k: (round(v["h"], 6), len(v["persons"]), len(v["contracts"]), round(v["target"], 6))
            for k, v in cells.items()}


def test_hours_realised_and_targeted(frames):
    ops, buyers, hours, _ = frames
    got = {(r.mois, r.departement, r.ept, r.modalite_code, r.type_marche_code, r.categorie_acheteur, r.grand_projet):
           (round(r.heures_realisees, 6), r.n_personnes, r.n_contrats, round(r.heures_objectif, 6))
           for r in gi.heures(hours, ops, buyers, THRESHOLD).collect()}
    assert got == expected_hours()
    assert sum(v[0] for v in got.values()) == sum(h[4] for h in HOURS)  # no hour lost, even without operation


def test_small_cells_are_flagged(frames):
    ops, buyers, hours, _ = frames
    rows = gi.heures(hours, ops, buyers, THRESHOLD).collect()
    assert all(r.secret_statistique == (0 < r.n_personnes < THRESHOLD) for r in rows)
    assert any(r.secret_statistique for r in rows) and any(not r.secret_statistique for r in rows)


def test_beneficiaries_count_each_person_once_a_year(frames):
    _, _, hours, participants = frames
    got = {(r.dimension, r.valeur): r.n_personnes for r in gi.beneficiaires(hours, participants, THRESHOLD).collect()}
    # p1 (two facilitators, profile of the first entry: f:a1), p2, p3 (hours, no participant row)
    assert got[("ensemble", "TOTAL")] == 3
    assert {k[1]: v for k, v in got.items() if k[0] == "sexe"} == {"F": 1, "H": 1, "INCONNU": 1}
    assert {k[1]: v for k, v in got.items() if k[0] == "critere"} == {"DELD": 1, "RSA": 1, "JEUNE": 1, "INCONNU": 1}
    assert {k[1]: v for k, v in got.items() if k[0] == "prescripteur"} == {"MISSION_LOCALE": 1, "FRANCE_TRAVAIL": 1,
                                                                             "INCONNU": 1}


TODAY = date(2026, 1, 15)


def test_outcomes_one_per_exit_in_the_window_with_non_response(spark):
    contrats = spark.createDataFrame([  # contract, person, end
        ("c1", "A", date(2024, 1, 31)), ("c2", "A", date(2024, 8, 31)), ("c3", "B", date(2024, 3, 31)),
        ("c4", "C", date(2024, 5, 31)), ("c5", "D", date(2024, 6, 30)), ("c6", "E", date(2025, 9, 30)),
        ("c7", "F", date(2023, 12, 31)), ("c8", "G", date(2024, 2, 29)), ("c9", "H", None)],
        "contrat_key string, person_key string, date_fin date")
    hours = spark.createDataFrame([(c,) for c in ("c1", "c2", "c3", "c4", "c6", "c7", "c8", "c9")],
                                  "contrat_key string")  # c5 has no valid hours line: not an exit
    s = spark.createDataFrame([  # contract, person, outcome, months after the end, in the window, date
        ("c1", "A", "EMPLOI_DURABLE", 6.0, True, date(2024, 7, 31)),
        ("c1", "A", "AUTRE", 3.0, False, date(2024, 4, 30)),  # outside the window
        ("c2", "A", "SORTIE_POSITIVE", 6.03, True, date(2025, 3, 1)),
        ("c3", "B", "AUTRE", 12.0, False, date(2025, 3, 31)),  # outside: c3 is a non-response
        ("c7", "F", "NON_REPONSE", 6.0, True, date(2024, 6, 30)),  # "sans nouvelle"
        ("c8", "G", "EMPLOI_TRANSITION", 5.1, True, date(2024, 8, 2)),  # nearer to 6 months than 7.0: kept
        ("c8", "G", "EMPLOI_DURABLE", 7.0, True, date(2024, 9, 29)),
        ("c6", "E", "EMPLOI_DURABLE", 6.0, True, date(2026, 3, 31))],  # window not over on TODAY: not counted
        "contrat_key string, person_key string, sortie string, mois_apres_fin double, dans_fenetre boolean, "
        "date_situation date").withColumn("ingested_at", F.lit(None).cast("timestamp"))
    got = {r.annee: r for r in gi.sorties(s, contrats, hours, TODAY, (5, 9), 6, THRESHOLD).collect()}
    assert set(got) == {2023, 2024}
    y = got[2024]  # exits c1, c2, c3, c4, c8; answers c1, c2, c8
    assert (y.n_sorties, y.n_reponses, y.non_reponse) == (5, 3, 2)
    assert (y.emploi_durable, y.emploi_transition, y.sortie_positive, y.autre) == (1, 1, 1, 0)
    assert y.taux_emploi_durable == pytest.approx(1 / 3) and y.taux_sorties_dynamiques == pytest.approx(1.0)
    assert y.taux_reponse == pytest.approx(3 / 5) and y.fenetre_mois == "5-9"
    assert (got[2023].n_sorties, got[2023].n_reponses, got[2023].taux_sorties_dynamiques) == (1, 0, None)
    assert got[2023].secret_statistique is True and y.secret_statistique is False


MARCHES = [  # uid, buyer, dept, notified, amount, format, considerations, amount excluded because
    ("u1", "B1", "93", date(2024, 3, 1), 100.0, "2022", ["Clause sociale"], None),
    ("u2", "B1", "93", date(2024, 5, 1), 50.0, "2022", ["Pas de considération sociale"], None),
    ("u3", "B2", "75", date(2024, 6, 1), 10.0, "2022", ["Critère social", "Clause sociale"], None),
    ("u4", "B2", None, date(2023, 6, 1), 7.0, "2019", None, None),
    ("u5", "B3", "93", date(2024, 7, 1), None, "2022", ["Clause sociale"], "PLACEHOLDER"),  # 123456789 published
]
MARCHES_SCHEMA = ("uid string, acheteur_id string, departement_execution string, date_notification date, "
                  "montant double, decp_format string, considerations_sociales array<string>, "
                  "montant_exclu_motif string")


@pytest.fixture(scope="module")
def marches(spark):
    return spark.createDataFrame(MARCHES, MARCHES_SCHEMA)


SHARE_BUYERS = [("B_IDF", "93066"), ("B_OUT", "35238"), ("B_NOSIRENE", None)]  # siret, SIRENE commune
SHARE_MARCHES = [  # uid, buyer, notified, amount, excluded because, format, considerations
    ("s1", "B_IDF", date(2024, 2, 1), 100_000.0, None, "2022", ["Clause sociale"]),
    ("s2", "B_IDF", date(2024, 3, 1), 50_000.0, None, "2022", ["Pas de considération sociale"]),
    ("s3", "B_IDF", date(2024, 4, 1), 40_000.0, None, "2022", ["Marché réservé"]),  # at the threshold: in
    ("s4", "B_IDF", date(2024, 5, 1), 39_999.99, None, "2022", ["Clause sociale"]),  # below the threshold
    ("s5", "B_IDF", date(2024, 6, 1), None, "PLACEHOLDER", "2022", ["Clause sociale"]),  # amount unknown
    ("s6", "B_OUT", date(2024, 6, 1), 500_000.0, None, "2022", ["Clause sociale"]),  # buyer in Rennes
    ("s7", "B_NOSIRENE", date(2024, 6, 1), 500_000.0, None, "2022", ["Clause sociale"]),  # buyer not located
    ("s8", "B_IDF", date(2024, 7, 1), 60_000.0, None, "2022", None),  # 2022 format without the field
    ("s9", "B_IDF", date(2023, 6, 1), 80_000.0, None, "2019", None),  # the 2019 format cannot say
    ("s10", "B_IDF", date(2019, 6, 1), 30_000.0, None, "2022", ["Clause sociale"]),  # 25 000 € threshold then
    ("s11", "B_IDF", date(2019, 7, 1), 20_000.0, None, "2022", ["Pas de considération sociale"]),
]


def test_share_of_contracts_with_a_social_consideration_on_its_stated_scope(spark):
    m = spark.createDataFrame(SHARE_MARCHES, "uid string, acheteur_id string, date_notification date, montant double, "
                              "montant_exclu_motif string, decp_format string, considerations_sociales array<string>")
    buyers = spark.createDataFrame(SHARE_BUYERS, "siret string, commune string")
    got = {r.annee: r.asDict() for r in gi.part_consideration_sociale(m, buyers).collect()}
    assert sorted(got) == [2019, 2024]  # no 2023 row: never 0 % for a year that cannot be measured
    y = got[2024]
    assert (y["n_marches"], y["n_marches_consideration_sociale"]) == (3, 2)  # s1, s2, s3; s1 and s3
    assert y["part"] == pytest.approx(2 / 3)
    assert (y["montant"], y["montant_consideration_sociale"]) == (190_000.0, 140_000.0)
    assert y["part_montant"] == pytest.approx(140_000 / 190_000)
    assert (y["objectif_national"], y["seuil_eur_ht"]) == (0.30, 40_000.0)
    assert (y["n_exclus_declaration_absente"], y["n_exclus_acheteur_hors_idf"], y["n_exclus_montant_inconnu"],
            y["n_exclus_sous_seuil"]) == (1, 2, 1, 1)
    y = got[2019]
    assert (y["n_marches"], y["n_marches_consideration_sociale"], y["montant"], y["seuil_eur_ht"]) == \
        (1, 1, 30_000.0, 25_000.0)
    assert (y["part"], y["part_montant"], y["n_exclus_sous_seuil"]) == (1.0, 1.0, 1)


def test_sheets_per_buyer_and_territory(marches, frames):
    ops, _, hours, _ = frames
    per_buyer, per_territory = gi.fiches(marches, hours, ops, THRESHOLD)
    b = {(r.acheteur_id, r.annee): (r.n_marches, r.montant, r.n_marches_consideration_sociale, r.heures_realisees,
                                    r.n_personnes) for r in per_buyer.collect() if r.trimestre == 0}
    assert b[("B1", 2024)] == (2, 150.0, 1, 0.0, 0)
    assert b[("B2", 2023)] == (1, 7.0, 0, 0.0, 0)
    assert b[("B3", 2024)] == (1, 0.0, 1, 0.0, 0)  # counted, its placeholder amount not summed
    assert {r.acheteur_id: r.n_marches_montant_exclu for r in per_buyer.collect()
            if r.trimestre == 0 and r.annee == 2024 and r.acheteur_id.startswith("B")} == {"B1": 0, "B2": 0, "B3": 1}
    # hours of OP1's buyer (21750001600019) and of an unknown operation
    assert b[("21750001600019", 2024)] == (0, 0.0, 0, 180.0, 2)
    assert b[("INCONNU", 2024)][3] == 10.0
    t = {(r.departement, r.annee, r.trimestre): (r.n_marches, r.heures_realisees) for r in per_territory.collect()}
    assert t[("93", 2024, 0)] == (3, 180.0) and t[("NON_VENTILE", 2023, 0)] == (1, 0.0)
    # quarters add up to the year for additive figures; persons are counted per quarter, not summed
    quarters = [v for (d, y, q), v in t.items() if d == "93" and y == 2024 and q > 0]
    assert sum(n for n, _ in quarters) == 3 and sum(h for _, h in quarters) == 180.0
    per_ept = {(r.annee, r.ept): (r.heures_realisees, r.n_personnes) for r in gi.heures_ept(hours, ops, 5).collect()}
    assert sum(h for h, _ in per_ept.values()) == sum(r.heures for r in hours.collect())


def test_insertion_contracts_by_type(spark):
    rows = [("c1", "p1", "CDDI", "SOUS_TRAITANCE_SIAE", date(2024, 1, 5)),
            ("c2", "p1", "CDDI", "SOUS_TRAITANCE_SIAE", date(2024, 6, 5)),
            ("c3", "p2", "CDI", "EMBAUCHE_DIRECTE", date(2024, 2, 1)),
            ("c4", "p3", "CDDI", "SOUS_TRAITANCE_SIAE", date(2025, 2, 1))]
    df = spark.createDataFrame(rows, "contrat_key string, person_key string, type_contrat string, "
                               "modalite_realisation string, date_debut date")
    got = {(r.annee, r.type_contrat): (r.n_contrats, r.n_personnes, r.secret_statistique)
           for r in gi.contrats_par_type(df, THRESHOLD).collect()}
    expected = defaultdict(lambda: [0, set()])
    for _c, p, t, _, d in rows:
        expected[(d.year, t)][0] += 1
        expected[(d.year, t)][1].add(p)
    assert got == {k: (n, len(p), 0 < len(p) < THRESHOLD) for k, (n, p) in expected.items()}


GP = [  # operation, uid, notified, amount, worked hours planned, declared objective, TPE/PME amount
    ("13000000000013OP2DECP", date(2021, 1, 15), 1_000_000.0, 4000.0, 400.0, 150_000.0),  # 10 % x 4000 = 400
    ("13000000000013OTHER", date(2019, 5, 1), 500_000.0, 2000.0, 200.0, 200_000.0),  # 5 % x 2000 = 100: gap
    ("13000000000013NOHOURS", date(2022, 3, 1), 300_000.0, None, 300.0, 60_000.0),  # declared objective only
    ("13000000000013LOW", date(2020, 10, 1), 200_000.0, 1000.0, 50.0, 40_000.0),  # 10 % x 1000 = 100: below
]


def test_grand_paris_charter_objective_is_computed_from_the_data(spark, frames):
    ops, _, hours, _ = frames
    gp = spark.createDataFrame(
        [("SGP", "GPE ligne 15 Sud", "GPE", *row) for row in GP],
        "maitre_ouvrage string, operation string, programme string, decp_uid string, date_notification date, "
        "montant_ht double, heures_travaillees_prevues double, heures_insertion_objectif double, "
        "montant_tpe_pme double")
    ops = ops.withColumn("decp_id", F.when(
        ops.operation_key == "f:OP2", "OP2DECP"))
    [row] = gi.charte_grand_paris(gp, ops, hours, THRESHOLD).collect()
    realised = 20.0  # OP2's hours (f:c3), linked to the first contract only
    assert (row.n_marches, row.heures_realisees) == (4, realised)
    assert row.heures_insertion_objectif_charte == pytest.approx(400 + 100 + 100)
    assert row.heures_insertion_objectif_declare == 400 + 200 + 300 + 50
    assert row.heures_insertion_objectif == pytest.approx(400 + 100 + 300 + 100)  # charter's, else declared
    assert (row.n_marches_objectif_ecart, row.n_marches_objectif_sous_charte, row.n_marches_objectif_declare_seul,
            row.n_marches_sans_objectif) == (2, 1, 1, 0)
    assert row.taux_realisation_objectif == pytest.approx(realised / 900)
    assert row.part_heures_insertion == pytest.approx(realised / 7000)
    assert row.part_tpe_pme == pytest.approx(450_000 / 2_000_000) and row.objectif_tpe_pme_atteint is True


def test_contracts_with_social_clauses_count_each_contract_once_in_total(spark, marches):
    m = marches.withColumn("code_cpv", F.lit("45210000")).withColumn("procedure", F.lit("Procédure adaptée"))
    buyers = spark.createDataFrame([("B1", "COMMUNE")], "siret string, categorie_acheteur string")
    got = defaultdict(lambda: [0, 0.0, 0])
    for r in gi.marches_clauses(m, buyers, THRESHOLD).collect():
        got[(r.annee, r.consideration_sociale)][0] += r.n_marches
        got[(r.annee, r.consideration_sociale)][1] += r.montant
        got[(r.annee, r.consideration_sociale)][2] += r.n_marches_montant_exclu
    assert {y: tuple(got[(y, "TOUTES")]) for y in (2023, 2024)} == {2023: (1, 7.0, 0), 2024: (4, 160.0, 1)}
    # u5 is counted, its placeholder amount is not summed
    assert got[(2024, "CLAUSE_SOCIALE")] == [3, 110.0, 1] and got[(2023, "INCONNU")] == [1, 7.0, 0]


def test_structures_presence_and_shares(spark, marches, frames):
    _, _, hours, _ = frames
    structures = spark.createDataFrame([("80746931700018", "93", "SIAE", "EI"), ("44306184100047", "93", "SIAE", "ACI"),
                                        ("35600000000048", "75", "HANDICAP", "ESAT")],
                                       "siret string, departement string, famille string, kind string")
    titulaires = spark.createDataFrame([("u1", "80746931700018", 100.0), ("u2", "55204599900869", 50.0),
                                        ("u3", "55204599900869", 5.0), ("u3", "80746931700018", 5.0)],
                                       "uid string, titulaire_id string, montant_part double")
    resolution = spark.createDataFrame([("decp_titulaire", "u1", "80746931700018", "siret"),
                                        ("decp_titulaire", "u3", "80746931700018", "siret"),
                                        ("decp_titulaire", "u2", "55204599900869", "aucun")],
                                       "source string, source_key string, siret string, structure_match string")
    contrats = spark.createDataFrame([("f:c1", "80746931700018"), ("f:c2", "55204599900869"),
                                      ("f:c3", "55204599900869"), ("f:c4", "55204599900869")],
                                     "contrat_key string, entreprise_siret string")
    out = gi.structures_inclusion(structures, titulaires, resolution, marches, hours, contrats, THRESHOLD).collect()
    presence = {(r.departement, r.type_structure): r.valeur for r in out if r.indicateur == "presence"}
    assert presence == {("93", "EI"): 1.0, ("93", "ACI"): 1.0, ("75", "ESAT"): 1.0}
    amounts = {r.annee: r.valeur for r in out if r.indicateur == "part_montant_titulaires"}
    assert amounts[2024] == pytest.approx((100 + 5) / (100 + 50 + 5 + 5))
    hours_share = {r.annee: r.valeur for r in out if r.indicateur == "part_heures_employeurs"}
    c1 = sum(h[4] for h in HOURS if h[0] == "f:c1")
    assert hours_share[2024] == pytest.approx(c1 / sum(h[4] for h in HOURS))
