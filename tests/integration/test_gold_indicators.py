"""Gold indicators against figures computed in plain Python from a small handmade silver dataset."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from pyspark.sql import functions as F

from jobs.gold import indicators as gi

THRESHOLD = 2

OPERATIONS = [  # key, siret, market, modality, dept, ept, grand projet, objective, start, end
    ("f:OP1", "21750001600019", "TRAVAUX", "CLAUSE_EXECUTION_L2112_2", "93", "T6", "", 300.0,
     date(2024, 1, 10), date(2024, 3, 20)),
    ("f:OP2", "13000000000013", "SERVICES", "CRITERE_ATTRIBUTION_R2152_7", "75", "T1", "GPE ligne 15 Sud", 1200.0,
     date(2024, 2, 1), date(2024, 2, 28)),
]
BUYERS = {"21750001600019": "COMMUNE"}
HOURS = [  # contract, person, operation, month, hours
    ("f:c1", "p1", "f:OP1", date(2024, 1, 1), 100.0), ("f:c1", "p1", "f:OP1", date(2024, 2, 1), 50.0),
    ("f:c2", "p2", "f:OP1", date(2024, 2, 1), 30.0), ("f:c3", "p1", "f:OP2", date(2024, 2, 1), 20.0),
    ("f:c4", "p3", "f:OPX", date(2024, 3, 1), 10.0),
]
PARTICIPANTS = [("p1", "F", "MOINS_26", "NIV_3", "93", True, "MISSION_LOCALE", ["DELD", "RSA"]),
                ("p2", "H", "DE_26_A_49", "INFRA_3", "75", False, "FRANCE_TRAVAIL", ["JEUNE"])]


@pytest.fixture(scope="module")
def frames(spark):
    ops = spark.createDataFrame(OPERATIONS, "operation_key string, donneur_ordre_siret string, "
                                "type_marche_code string, modalite_code string, departement string, ept string, "
                                "grand_projet string, "
                                "heures_objectif double, date_debut date, date_fin date")
    buyers = spark.createDataFrame(list(BUYERS.items()), "siret string, categorie_acheteur string")
    hours = spark.createDataFrame(HOURS, "contrat_key string, person_key string, operation_key string, mois date, "
                                  "heures double")
    participants = spark.createDataFrame(PARTICIPANTS, "person_key string, sexe string, tranche_age string, "
                                         "niveau_diplome string, departement_residence string, qpv boolean, "
                                         "prescripteur string, criteres array<string>")
    return ops, buyers, hours, participants


def expected_hours():
    ops = {o[0]: o for o in OPERATIONS}
    cells = defaultdict(lambda: {"h": 0.0, "persons": set(), "contracts": set(), "target": 0.0})
    for contract, person, op, month, h in HOURS:
        o = ops.get(op)
        dims = (o[4], o[5], o[3], o[2], BUYERS.get(o[1], "INCONNU"), o[6] != "") if o else (
            "NON_VENTILE", "HORS_EPT", "INCONNU", "INCONNU", "INCONNU", False)
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
            cells[(m, o[4], o[5], o[3], o[2], BUYERS.get(o[1], "INCONNU"), o[6] != "")]["target"] += o[7] / len(months)
    return {k: (round(v["h"], 6), len(v["persons"]), len(v["contracts"]), round(v["target"], 6))
            for k, v in cells.items()}


def test_hours_realised_and_targeted(frames):
    ops, buyers, hours, _ = frames
    got = {(r.mois, r.departement, r.ept, r.modalite_code, r.type_marche_code, r.categorie_acheteur, r.grand_paris):
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
    people = {p[0]: p for p in PARTICIPANTS}
    active = sorted({h[1] for h in HOURS})
    assert got[("ensemble", "TOTAL")] == len(active) == 3
    expected_sex = defaultdict(int)
    for pid in active:
        expected_sex[people[pid][1] if pid in people else "INCONNU"] += 1
    assert {k[1]: v for k, v in got.items() if k[0] == "sexe"} == dict(expected_sex)
    assert {k[1]: v for k, v in got.items() if k[0] == "critere"} == {"DELD": 1, "RSA": 1, "JEUNE": 1, "INCONNU": 1}


def test_outcome_rates_at_six_months(spark):
    rows = [("DELD", True, date(2024, 3, 31)), ("EMPLOI_DURABLE", True, date(2024, 5, 1)),
            ("EMPLOI_TRANSITION", True, date(2024, 6, 1)), ("AUTRE", True, date(2024, 7, 1)),
            ("SORTIE_POSITIVE", False, date(2024, 7, 1)), ("EMPLOI_DURABLE", True, date(2025, 1, 1))]
    df = spark.createDataFrame([(s if s != "DELD" else "EMPLOI_DURABLE", a, d) for s, a, d in rows],
                               "sortie string, a_6_mois boolean, contrat_date_fin date")
    got = {r.annee: r for r in gi.sorties(df, THRESHOLD).collect()}
    at6_2024 = [s for s, a, d in rows if a and d.year == 2024]
    assert got[2024].n_sorties == len(at6_2024) == 4
    assert got[2024].taux_emploi_durable == pytest.approx(2 / 4)
    assert got[2024].taux_sorties_dynamiques == pytest.approx(3 / 4)
    assert got[2025].secret_statistique is True


MARCHES = [  # uid, buyer, dept, notified, amount, format, considerations
    ("u1", "B1", "93", date(2024, 3, 1), 100.0, "2022", ["Clause sociale"]),
    ("u2", "B1", "93", date(2024, 5, 1), 50.0, "2022", ["Pas de considération sociale"]),
    ("u3", "B2", "75", date(2024, 6, 1), 10.0, "2022", ["Critère social", "Clause sociale"]),
    ("u4", "B2", None, date(2023, 6, 1), 7.0, "2019", None),
]


@pytest.fixture(scope="module")
def marches(spark):
    return spark.createDataFrame(MARCHES, "uid string, acheteur_id string, departement_execution string, "
                                 "date_notification date, montant double, decp_format string, "
                                 "considerations_sociales array<string>")


def test_share_of_contracts_with_a_social_consideration(marches):
    got = {r.annee: (r.n_marches, r.n_marches_consideration_sociale, r.part, r.objectif_national)
           for r in gi.part_consideration_sociale(marches).collect()}
    known = [m for m in MARCHES if m[5] == "2022"]
    social = [m for m in known if set(m[6]) & {"Clause sociale", "Critère social", "Marché réservé"}]
    assert got == {2024: (len(known), len(social), pytest.approx(len(social) / len(known)), 0.30)}  # no 2023 row


def test_sheets_per_buyer_and_territory(marches, frames):
    ops, _, hours, _ = frames
    per_buyer, per_territory = gi.fiches(marches, hours, ops, THRESHOLD)
    b = {(r.acheteur_id, r.annee): (r.n_marches, r.montant, r.n_marches_consideration_sociale, r.heures_realisees,
                                    r.n_personnes) for r in per_buyer.collect() if r.trimestre == 0}
    assert b[("B1", 2024)] == (2, 150.0, 1, 0.0, 0)
    assert b[("B2", 2023)] == (1, 7.0, 0, 0.0, 0)
    # hours of OP1's buyer (21750001600019) and of an unknown operation
    assert b[("21750001600019", 2024)] == (0, 0.0, 0, 180.0, 2)
    assert b[("INCONNU", 2024)][3] == 10.0
    t = {(r.departement, r.annee, r.trimestre): (r.n_marches, r.heures_realisees) for r in per_territory.collect()}
    assert t[("93", 2024, 0)] == (2, 180.0) and t[("NON_VENTILE", 2023, 0)] == (1, 0.0)
    # quarters add up to the year for additive figures; persons are counted per quarter, not summed
    quarters = [v for (d, y, q), v in t.items() if d == "93" and y == 2024 and q > 0]
    assert sum(n for n, _ in quarters) == 2 and sum(h for _, h in quarters) == 180.0
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


def test_grand_paris_charter(spark, frames):
    ops, _, hours, _ = frames
    gp = spark.createDataFrame(
        [("SGP", "GPE ligne 15 Sud", "GPE", "13000000000013OP2DECP", 1_000_000.0, 4000.0, 400.0, 150_000.0),
         ("SGP", "GPE ligne 15 Sud", "GPE", "13000000000013OTHER", 500_000.0, 2000.0, 200.0, 200_000.0)],
        "maitre_ouvrage string, operation string, programme string, decp_uid string, montant_ht double, "
        "heures_travaillees_prevues double, heures_insertion_objectif double, montant_tpe_pme double")
    ops = ops.withColumn("decp_id", F.when(
        ops.operation_key == "f:OP2", "OP2DECP"))
    [row] = gi.charte_grand_paris(gp, ops, hours, THRESHOLD).collect()
    realised = sum(h[4] for h in HOURS if h[2] == "f:OP2")  # OP2 is linked to the first contract only
    assert (row.n_marches, row.heures_realisees, row.heures_insertion_objectif) == (2, realised, 600.0)
    assert row.taux_realisation_objectif == pytest.approx(realised / 600.0)
    assert row.part_tpe_pme == pytest.approx(350_000 / 1_500_000) and row.objectif_tpe_pme_atteint is True


def test_contracts_with_social_clauses_count_each_contract_once_in_total(spark, marches):
    m = marches.withColumn("code_cpv", F.lit("45210000")).withColumn("procedure", F.lit("Procédure adaptée"))
    buyers = spark.createDataFrame([("B1", "COMMUNE")], "siret string, categorie_acheteur string")
    got = defaultdict(lambda: [0, 0.0])
    for r in gi.marches_clauses(m, buyers, THRESHOLD).collect():
        got[(r.annee, r.consideration_sociale)][0] += r.n_marches
        got[(r.annee, r.consideration_sociale)][1] += r.montant
    totals = defaultdict(lambda: [0, 0.0])
    for _, _, _, d, amount, _, _ in MARCHES:
        totals[d.year][0] += 1
        totals[d.year][1] += amount
    assert {y: tuple(v) for y, v in totals.items()} == {y: tuple(got[(y, "TOUTES")]) for y in totals}
    assert got[(2024, "CLAUSE_SOCIALE")] == [2, 110.0] and got[(2023, "INCONNU")] == [1, 7.0]


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
