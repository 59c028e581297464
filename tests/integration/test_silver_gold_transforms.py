"""Silver and gold transforms on handmade bronze rows (real Spark, no storage)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from jobs.bronze.decp import BRONZE_SCHEMA
from jobs.core import quality
from jobs.gold import marches as gold_marches
from jobs.silver import marches as silver_marches

TODAY = date(2026, 11, 28)
VALID_SIRET = "21750001600019"  # Ville de Paris


def marche(**overrides):
    rec = {
        "id": "2024001", "acheteur": {"id": VALID_SIRET}, "nature": "Marché", "objet": "Nettoyage",
        "codeCPV": "90910000", "procedure": "Procédure adaptée",
        "lieuExecution": {"code": "93200", "typeCode": "Code postal"}, "dureeMois": 12,
        "dateNotification": "2024-03-10", "datePublicationDonnees": "2024-03-20", "montant": 100000,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}}],
        "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
    }
    rec.update(overrides)
    return rec


def bronze_rows(spark, records, fmt="2022"):
    rows = [("file.json", "sha", i, fmt, "marche", json.dumps(r), "load-1", datetime(2026, 11, 1))
            for i, r in enumerate(records)]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


CASES = {
    "decp.acheteur_siret": {"acheteur": {"id": "21750001630066"}},
    "decp.montant_present": {"montant": "NC"},
    "decp.duree_mois_valid": {"dureeMois": 360},
    "decp.date_notification_valid": {"dateNotification": "5021-02-18"},
    "decp.publication_after_notification": {"datePublicationDonnees": "2024-01-01"},
    "decp.considerations_not_combined": {
        "considerationsSociales": {"considerationSociale": ["Pas de considération sociale", "Clause sociale"]}},
    "decp.cpv_format": {"codeCPV": "4521"},
    "decp.uid_present": {"id": None},
    "decp.titulaires_present": {"titulaires": []},
    "decp.nature_known": {"nature": "Concession"},
}


def test_each_rule_sends_its_row_to_quarantine_with_a_message(spark):
    records = [marche(**{"id": f"R{i}", **change}) for i, change in enumerate(CASES.values())] + [marche(id="OK")]
    silver, _, quarantine, _ = silver_marches.build(bronze_rows(spark, records), TODAY)
    assert [r.id for r in silver.collect()] == ["OK"]
    got = {r.id: (r.rule_ids, r.messages) for r in quarantine.collect()}
    for i, rule_id in enumerate(CASES):
        rule_ids, messages = got[f"R{i}" if rule_id != "decp.uid_present" else None]
        assert rule_id in rule_ids, (rule_id, rule_ids)
        assert all(messages), rule_id
    assert got["R1"][1] == ["montant missing or not a number: 'NC' is not a number"]
    assert len(got) == len(CASES)


def test_republication_keeps_the_latest_and_quarantines_the_other(spark):
    old = marche(montant=100000, datePublicationDonnees="2024-03-20")
    new = marche(montant=120000, datePublicationDonnees="2024-06-01")
    silver, titulaires, quarantine, _ = silver_marches.build(bronze_rows(spark, [old, new]), TODAY)
    assert [r.montant for r in silver.collect()] == [120000.0]
    [q] = quarantine.collect()
    assert q.rule_ids == ["decp.duplicate"] and "file.json#1" in q.messages[0]
    assert titulaires.count() == 1


def test_modifications_are_kept_in_the_order_they_were_applied(spark):
    mods = [{"modification": {"id": 2, "montant": 130000, "dateNotificationModification": "2024-09-01",
                              "datePublicationDonneesModification": "2024-09-02"}},
            {"modification": {"id": 1, "montant": 110000, "dureeMois": 18,
                              "dateNotificationModification": "2024-06-01",
                              "datePublicationDonneesModification": "2024-06-02"}}]
    silver, _, _, history = silver_marches.build(bronze_rows(spark, [marche(modifications=mods)]), TODAY)
    assert [r.montant for r in silver.collect()] == [130000.0]
    assert [(r.rang, r.montant, r.duree_mois, str(r.date_modification)) for r in history.orderBy("rang").collect()] \
        == [(1, 110000.0, 18, "2024-06-01"), (2, 130000.0, None, "2024-09-01")]


def test_placeholder_and_absurd_amounts_are_counted_but_never_summed(spark):
    records = [marche(id="OK", montant=100000), marche(id="P1", montant=123456789),
               marche(id="P2", montant=999999999.0), marche(id="P3", montant=1.0e17),
               marche(id="P4", montant=1234567890, titulaires=[
                   {"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}},
                   {"titulaire": {"typeIdentifiant": "SIRET", "id": "44306184100047"}}])]
    silver, titulaires, quarantine, _ = silver_marches.build(bronze_rows(spark, records), TODAY)
    assert quarantine.count() == 0  # no contract refused for its amount
    got = {r.id: (r.montant, r.montant_publie, r.montant_exclu_motif) for r in silver.collect()}
    assert got == {"OK": (100000.0, 100000.0, None), "P1": (None, 123456789.0, "PLACEHOLDER"),
                   "P2": (None, 999999999.0, "PLACEHOLDER"), "P3": (None, 1.0e17, "HORS_BORNES"),
                   "P4": (None, 1234567890.0, "PLACEHOLDER")}
    assert quality.audit(silver, silver_marches.silver_contract(TODAY)) == []
    shares = {(r.uid[-2:], r.titulaire_rank): r.montant_part for r in titulaires.collect()}
    assert shares == {("OK", 1): 100000.0, ("P1", 1): None, ("P2", 1): None, ("P3", 1): None, ("P4", 1): None,
                      ("P4", 2): None}
    gold = {(r.departement, r.consideration_sociale): (r.nb_marches, r.montant_total, r.nb_marches_montant_exclu)
            for r in gold_marches.build(silver).collect()}
    assert gold == {("93", "CLAUSE_SOCIALE"): (5, 100000.0, 4), ("93", "TOUTES"): (5, 100000.0, 4)}


def test_a_contract_held_by_a_non_siret_holder_is_kept(spark):
    records = [marche(id="V1", titulaires=[{"titulaire": {"typeIdentifiant": "TVA-intracommunautaire",
                                                          "id": "DE814864138"}}]),
               marche(id="V2", titulaires=[{"titulaire": {"typeIdentifiant": "HORS_UE", "id": "CHE-123.456.789"}}]),
               marche(id="V3", titulaires=[{"titulaire": {"typeIdentifiant": "TVA", "id": "FR12345678901"}},
                                           {"titulaire": {"typeIdentifiant": "SIRET", "id": "55204599900869"}}])]
    silver, titulaires, quarantine, _ = silver_marches.build(bronze_rows(spark, records), TODAY)
    assert quarantine.count() == 0 and sorted(r.id for r in silver.collect()) == ["V1", "V2", "V3"]
    got = sorted((r.uid[-2:], r.type_identifiant, r.titulaire_id, r.montant_part) for r in titulaires.collect())
    assert got == [("V1", "TVA", "DE814864138", 100000.0), ("V2", "HORS-UE", "CHE-123456789", 100000.0),
                   ("V3", "SIRET", "55204599900869", 50000.0), ("V3", "TVA", "FR12345678901", 50000.0)]


def test_duplicates_are_keyed_on_the_official_uid_buyer_siret_and_contract_id(spark):
    other_buyer = "21930066200018"  # another valid SIRET: same contract id, another contract
    records = [marche(id="X", montant=100000, datePublicationDonnees="2024-03-20"),
               marche(id="X", montant=130000, datePublicationDonnees="2024-05-01",  # same uid, other holder
                      titulaires=[{"titulaire": {"typeIdentifiant": "SIRET", "id": "44306184100047"}}]),
               marche(id="X", acheteur={"id": other_buyer}, montant=70000)]
    silver, titulaires, quarantine, _ = silver_marches.build(bronze_rows(spark, records), TODAY)
    assert sorted((r.uid, r.montant) for r in silver.collect()) == [
        (f"{VALID_SIRET}X", 130000.0), (f"{other_buyer}X", 70000.0)]
    assert [(r.uid, r.rule_ids) for r in quarantine.collect()] == [(f"{VALID_SIRET}X", ["decp.duplicate"])]
    assert sorted((r.uid, r.titulaire_id) for r in titulaires.collect()) == [
        (f"{VALID_SIRET}X", "44306184100047"), (f"{other_buyer}X", "55204599900869")]


def test_titulaire_shares_never_exceed_the_contract_amount(spark):
    three = [{"titulaire": {"typeIdentifiant": "SIRET", "id": s}}
             for s in ("55204599900869", "44306184100047", "35600000000048")]
    _, titulaires, _, _ = silver_marches.build(bronze_rows(spark, [marche(titulaires=three, montant=90000)]), TODAY)
    shares = [r.montant_part for r in titulaires.collect()]
    assert shares == [30000.0] * 3 and sum(shares) == 90000.0


def test_pandera_audit_fails_on_rows_that_break_a_rule(spark):
    silver, _, _, _ = silver_marches.build(bronze_rows(spark, [marche()]), TODAY)
    schema = silver_marches.silver_contract(TODAY)
    assert quality.audit(silver, schema) == []
    broken = silver.withColumn("montant", F.lit(-5.0))
    failures = quality.audit(broken, schema)
    assert any("decp.montant_plausible" in f for f in failures), failures


def test_gold_counts_each_contract_once_per_category_and_once_in_total(spark):
    records = [
        marche(id="A", considerationsSociales={"considerationSociale": ["Clause sociale", "Critère social"]}),
        marche(id="B", considerationsSociales={"considerationSociale": ["Pas de considération sociale"]},
               montant=50000),
        marche(id="C", lieuExecution={"code": "11", "typeCode": "Code région"}, montant=10),
        marche(id="D", lieuExecution={"code": "93999", "typeCode": "Code commune"}, montant=20),  # no such commune
        marche(id="E", lieuExecution={"code": "93", "typeCode": "Code région"}, montant=40),  # PACA, not the 93
    ]
    silver, _, _, _ = silver_marches.build(bronze_rows(spark, records), TODAY)
    gold = {(r.departement, r.consideration_sociale): (r.nb_marches, r.montant_total)
            for r in gold_marches.build(silver).collect()}
    assert gold == {
        ("93", "CLAUSE_SOCIALE"): (1, 100000.0), ("93", "CRITERE_SOCIAL"): (1, 100000.0),
        ("93", "AUCUNE"): (1, 50000.0), ("93", "TOUTES"): (2, 150000.0),
        ("NON_VENTILE", "CLAUSE_SOCIALE"): (3, 70.0), ("NON_VENTILE", "TOUTES"): (3, 70.0),
    }


def test_2019_records_are_unknown_in_gold(spark):
    silver, _, _, _ = silver_marches.build(bronze_rows(spark, [marche()], fmt="2019"), TODAY)
    cats = {r.consideration_sociale for r in gold_marches.build(silver).collect()}
    assert cats == {"INCONNU", "TOUTES"}


def _load(spark, records, load_id, first_index=0):
    rows = [(f"{load_id}.json", f"sha-{load_id}", first_index + i, "2022", "marche", json.dumps(r), load_id,
             datetime(2026, 11, 1)) for i, r in enumerate(records)]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def _normalized_rows(df):
    return sorted((r["source_file"], r["record_index"], r["uid"], r["montant"]) for r in df.collect())


@pytest.mark.slow  # about 9 s (decision 211)
def test_normaliser_output_is_reused_per_load_and_redone_when_the_load_or_the_normaliser_changes(
        spark, local_settings, monkeypatch):
    first = _load(spark, [marche(id="A1", montant=1000), marche(id="A2", montant=2000)], "load-1")
    out, done = silver_marches.normalized_incremental(spark, local_settings, first)
    assert done == {"loads_reused": 0, "loads_normalized": 1, "records_reused": 0, "records_normalized": 2}
    assert [r[2:] for r in _normalized_rows(out)] == [(f"{VALID_SIRET}A1", 1000.0), (f"{VALID_SIRET}A2", 2000.0)]

    both = first.unionByName(_load(spark, [marche(id="B1", montant=3000)], "load-2"))
    out, done = silver_marches.normalized_incremental(spark, local_settings, both)
    assert done == {"loads_reused": 1, "loads_normalized": 1, "records_reused": 2, "records_normalized": 1}
    assert _normalized_rows(out) == _normalized_rows(silver_marches.normalize(both))

    # load-1 got one more record (a retried load): load-1 is redone, load-2 reused, nothing doubled
    grown = both.unionByName(_load(spark, [marche(id="A3", montant=4000)], "load-1", first_index=2))
    out, done = silver_marches.normalized_incremental(spark, local_settings, grown)
    assert done == {"loads_reused": 1, "loads_normalized": 1, "records_reused": 1, "records_normalized": 3}
    assert _normalized_rows(out) == _normalized_rows(silver_marches.normalize(grown))
    assert out.count() == 4

    # another normaliser (code or referential changed): everything is normalised again
    monkeypatch.setattr(silver_marches, "normalizer_version", lambda: "another")
    out, done = silver_marches.normalized_incremental(spark, local_settings, grown)
    assert done == {"loads_reused": 0, "loads_normalized": 2, "records_reused": 0, "records_normalized": 4}
    assert _normalized_rows(out) == _normalized_rows(silver_marches.normalize(grown))
