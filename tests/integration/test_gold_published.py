"""The person figures at their published grains (``jobs/gold/published.py``) against figures worked out by hand
from a small handmade silver dataset, dominance shares included."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.gold import published as gp

OPERATIONS = [  # key, buyer, DECP id, département, EPT, legal modality
    ("f:OP1", "21750001600019", "D1", "93", "T6", "A"),
    ("f:OP2", "13000000000013", "D2", "91", None, "B"),
]
CONTRACTS = [("f:c1", "E1"), ("f:c2", "E1"), ("f:c3", "E2")]  # insertion contract -> employer
HOURS = [  # contract, person, operation, month, hours
    ("f:c1", "p1", "f:OP1", date(2024, 1, 1), 100.0), ("f:c2", "p2", "f:OP1", date(2024, 2, 1), 50.0),
    ("f:c3", "p3", "f:OP2", date(2024, 4, 1), 30.0), ("f:c1", "p1", "f:OP1", date(2024, 4, 1), 20.0),
    ("f:c9", "p4", "f:OPX", date(2024, 5, 1), 10.0),  # unknown operation and contract
]
TARGETS = [(date(2024, 1, 1), "93", 12.0)]


@pytest.fixture(scope="module")
def tables(spark):
    ops = spark.createDataFrame(OPERATIONS, "operation_key string, donneur_ordre_siret string, decp_id string, "
                                "departement string, ept string, modalite_code string")
    contrats = spark.createDataFrame(CONTRACTS, "contrat_key string, entreprise_siret string")
    hours = spark.createDataFrame(HOURS, "contrat_key string, person_key string, operation_key string, mois date, "
                                  "heures double")
    targets = spark.createDataFrame(TARGETS, "mois date, departement string, heures_objectif double")
    gp_contracts = spark.createDataFrame([("21750001600019D1", "SGP", "GPE ligne 15", "GPE", 100.0)],
                                         "decp_uid string, maitre_ouvrage string, operation string, programme string, "
                                         "heures_insertion_objectif double")
    rows = gp.hour_rows(hours, ops, contrats)
    return {"departement": gp.heures_departement(rows, targets), "ept": gp.heures_ept(rows),
            "modalite": gp.heures_modalite(rows), "crossing": gp.heures_departement_ept(rows),
            "charte": gp.heures_charte(gp_contracts, ops, rows)}


def collect(df, keys):
    return {tuple(r[k] for k in keys): (round(r.heures_realisees, 6), r.n_personnes,
                                        None if r.part_principal_contributeur is None
                                        else round(r.part_principal_contributeur, 6))
            for r in df.collect()}


def test_hours_by_departement_year_and_region_by_period(tables):
    got = collect(tables["departement"], ["departement", "periode"])
    # 93: p1 120 h + p2 50 h, all for employer E1: E1 makes the whole cell (share 1).
    assert got[("93", "2024")] == (170.0, 2, 1.0)
    assert got[("91", "2024")] == (30.0, 1, 1.0)
    # Hours of an unknown operation count, not allocated; their unknown employer is nobody's.
    assert got[("NON_VENTILE", "2024")] == (10.0, 1, 1.0)
    # The region: E1 makes 170 of 210 h.
    assert got[("TOTAL", "2024")] == (210.0, 4, round(170 / 210, 6))
    assert got[("TOTAL", "2024-T1")] == (150.0, 2, 1.0)
    # Q2: E2 30 h (p3 30 h) is the largest of 60 h.
    assert got[("TOTAL", "2024-T2")] == (60.0, 3, 0.5)
    assert got[("TOTAL", "2024-04")] == (50.0, 2, 0.6)
    assert got[("TOTAL", "2024-05")] == (10.0, 1, 1.0)
    # No département by quarter or month: too fine.
    assert not any(p != "2024" for d, p in got if d != "TOTAL")
    assert len(got) == 3 + 1 + 2 + 4  # 3 départements, the region's year, 2 quarters and 4 months
    rows = {(r.departement, r.periode): (r.annee, r.trimestre, r.mois, r.heures_objectif)
            for r in tables["departement"].collect()}
    assert rows[("TOTAL", "2024-04")] == (2024, 2, 4, 0.0)
    assert rows[("TOTAL", "2024-01")] == (2024, 1, 1, 12.0) and rows[("93", "2024")] == (2024, 0, 0, 12.0)
    assert rows[("TOTAL", "2024-T1")] == (2024, 1, 0, 12.0)


def test_hours_by_ept_and_modality_since_the_first_month(tables):
    ept = collect(tables["ept"], ["ept"])
    # HORS_EPT: 91's 30 h (p3, E2) and the unknown operation's 10 h (p4): 30 of 40.
    assert ept == {("T6",): (170.0, 2, 1.0), ("HORS_EPT",): (40.0, 2, 0.75)}
    assert {r.periode for r in tables["ept"].collect()} == {"2024-01/2024-05"}
    assert collect(tables["modalite"], ["modalite_code"]) == {
        ("A",): (170.0, 2, 1.0), ("B",): (30.0, 1, 1.0), ("INCONNU",): (10.0, 1, 1.0)}


def test_the_crossing_holds_every_pair_the_geography_allows(tables):
    got = collect(tables["crossing"], ["departement", "ept"])
    assert got[("93", "T6")] == (170.0, 2, 1.0) and got[("91", "HORS_EPT")] == (30.0, 1, 1.0)
    assert got[("NON_VENTILE", "HORS_EPT")] == (10.0, 1, 1.0)
    # Six Essonne communes are in T12: the pair exists, with no hours here; 75 is never outside an EPT.
    assert got[("91", "T12")] == (0.0, 0, None) and ("75", "HORS_EPT") not in got
    assert got[("95", "T5")][0] == 0.0  # Argenteuil


def test_the_charter_operation_counts_its_persons_once(tables):
    (row,) = tables["charte"].collect()
    # OP1 is contract 21750001600019 + D1: 170 h by p1 (120 h) and p2 (50 h); the share is a person's.
    assert (row.maitre_ouvrage, row.heures_realisees, row.n_personnes, row.heures_insertion_objectif) == (
        "SGP", 170.0, 2, 100.0)
    assert row.taux_realisation_objectif == pytest.approx(1.7)
    assert row.part_principal_contributeur == pytest.approx(120 / 170)
