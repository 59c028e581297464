"""One real person = one person across facilitators: two facilitators' exports (their own ids, dialects and
spellings) read by the bronze reader, typed by silver, counted by gold."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from jobs.core import quality
from jobs.gold import indicators as gi
from jobs.ingest.tabular import read_tabular
from jobs.silver import sources as ss
from schemas.sources import source_contract

FAC = source_contract("facilitateurs")
KEY = b"test-key"
TODAY = date(2026, 1, 15)
RAW = "file:/lake/raw/facilitateurs/landed_date=2026-01-01/0123456789abcdef_"

# Fatou Diallo, born 20 August 1998, followed by clause75 (id 75-001) and clause93 (id 93-042, other spelling).
# Her first work contract (clause75, March 2024) has only a negative hours line, so it is not the one the age band
# is taken on: the first contract with a valid line starts 19 August 2025, when she is 26 (27 the next day).
# Karim Benali (clause75, 75-002) has no birth date: he stands for himself (local id), age band unknown.
EXPORTS = {
    "clause75_participants_2025.csv": (
        "id participant;nom;prénom;sexe;date de naissance;niveau de diplome;date d'entree\n"
        "75-001;Diallo;Fatou;F;20/08/1998;3;01/03/2024\n"
        "75-002;Benali;Karim;H;;4;01/09/2025\n"),
    "clause93_participants_2025.csv": (
        "Réf. personne;Nom de famille;Prénom usuel;H/F;Né le;Niveau;Date d'entrée\n"
        "93-042;DIALLO;fatou;F;1998-08-20;niveau v;19/08/2025\n"),
    "clause75_operations_2024.csv": (
        "id operation;siret acheteur;type;article;debut;fin;objectif heures\n"
        "OP1;21750001600019;Travaux;Art.38;01/01/2024;31/12/2026;1000\n"),
    "clause93_operations_2025.csv": (
        "N° opé;siret acheteur;type;Base juridique;debut;fin;Heures contractuelles\n"
        "OP7;21750001600019;Travaux;Clause d'insertion (art. 14);01/06/2025;31/12/2026;500\n"),
    "clause75_contrats_2025.csv": (
        "id contrat;id participant;id operation;siret employeur;debut contrat;fin contrat\n"
        "C1;75-001;OP1;55204599900869;01/03/2024;31/03/2024\n"
        "C2;75-001;OP1;55204599900869;01/09/2025;30/11/2025\n"
        "C3;75-002;OP1;55204599900869;01/09/2025;30/11/2025\n"),
    "clause93_contrats_2025.csv": (
        "Réf. contrat;Réf. personne;id operation;siret employeur;debut contrat;fin contrat\n"
        "K9;93-042;OP7;55204599900869;19/08/2025;31/10/2025\n"),
    "clause75_heures_2025.csv": (
        "id contrat;mois;heures\n"
        "C1;03/2024;-35\n"
        "C2;09/2025;100\nC2;10/2025;120\n"
        "C3;09/2025;80\n"),
    "clause93_heures_2025.csv": (
        "Réf. contrat;mois;Heures du mois\n"
        "K9;08/2025;40\nK9;09/2025;60\n"),
}


def bronze(spark, entity: str):
    """The bronze rows of an entity, as the bronze job writes them (the reader's canonical columns, lineage)."""
    ent = FAC.entities[entity]
    rows = []
    for name, text in EXPORTS.items():
        match = FAC.match(name)
        if match.entity.name != entity:
            continue
        for i, r in enumerate(read_tabular(text.encode(), FAC, ent, match.facilitateur, KEY).rows):
            rows.append({**r, "extra_fields": json.dumps(r["extra_fields"]) if r["extra_fields"] else None,
                         "source_file": RAW + name, "source_sha256": "sha", "record_index": i,
                         "facilitateur": match.facilitateur, "load_id": "l", "ingested_at": datetime(2026, 1, 1)})
    cols = ["source_file", "source_sha256", "record_index", "facilitateur", *ent.output_columns, "extra_fields",
            "row_issue", "load_id", "ingested_at"]
    types = {"record_index": "int", "ingested_at": "timestamp"}
    return spark.createDataFrame([[r.get(c) for c in cols] for r in rows],
                                 ", ".join(f"{c} {types.get(c, 'string')}" for c in cols))


def silver(typed, table):
    rows, _ = ss.finish(typed, table, TODAY, ss.KEYS[table])
    return rows


@pytest.mark.slow  # about 25 s of small Spark stages (decision 211)
def test_a_person_followed_by_two_facilitators_is_counted_once_with_the_age_band_of_the_rule(spark):
    participants_b = bronze(spark, "participants")
    links = ss.person_links(participants_b)
    ops_typed = ss.typed_operations(bronze(spark, "operations"))
    operations = silver(ops_typed, "operations")
    contrats = silver(ss.typed_contrats(bronze(spark, "contrats"), links), "contrats")
    checked = quality.apply_rules(ss.typed_heures(bronze(spark, "heures"), contrats, operations, ops_typed), "heures",
                                  TODAY)
    heures, quarantine = ss.finish_heures(checked)
    bands = ss.age_bands(participants_b, links, contrats, heures)
    participants = silver(ss.typed_participants(participants_b, links, bands), "participants")

    assert [tuple(r.rule_ids) for r in quarantine.collect()] == [("heures.not_negative",)]
    assert {r.modalite_code for r in heures.collect()} == {"CLAUSE_EXECUTION_L2112_2"}  # Art.38 and art. 14
    # before linkage: three local ids with valid hours; after: two persons
    assert heures.select("participant_key").distinct().count() == 3
    assert heures.select("person_key").distinct().count() == 2
    people = {r.participant_key: r for r in participants.collect()}
    assert len(people) == 3
    fatou = [r for r in people.values() if r.person_key_method == "nom_prenom_naissance"]
    assert len(fatou) == 2 and fatou[0].person_key == fatou[1].person_key
    assert {r.tranche_age for r in fatou} == {"DE_26_A_49"}  # 26 on 19 August 2025
    karim = [r for r in people.values() if r.person_key_method == "id_local"]
    assert [(r.person_key == r.participant_key, r.tranche_age) for r in karim] == [(True, "INCONNU")]

    got = {(r.annee, r.dimension, r.valeur): r.n_personnes for r in gi.beneficiaires(heures, participants, 5).collect()}
    assert got[(2025, "ensemble", "TOTAL")] == 2
    assert {k[2]: v for k, v in got.items() if k[:2] == (2025, "tranche_age")} == {"DE_26_A_49": 1, "INCONNU": 1}
    assert {k[2]: v for k, v in got.items() if k[:2] == (2025, "sexe")} == {"F": 1, "H": 1}
    assert (2024, "ensemble", "TOTAL") not in got  # her 2024 line was negative: no valid line that year
