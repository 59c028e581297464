"""What the shared pipeline run (tests/integration/conftest.py) made of its inputs: every table balanced,
bronze holding exactly what the generator wrote, refusals with their reasons, gold equal to figures
recomputed here from the raw files alone, and no direct identifier in any person-level table."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict

import pytest

from generator.core import FIRST_NAMES, SURNAMES
from jobs.ingest.decp_records import parse_document
from jobs.ingest.landing import read_manifest
from schemas.referential import GEO_DIR
from tests.integration.inputs import EXTRA_PARTICIPANTS, RENAMED_HOURS

pytestmark = pytest.mark.slow


def table(spark, settings, name):
    return spark.read.format("delta").load(settings.table_uri(name))


def expected_gold_from_raw(inbox_decp) -> tuple[Counter, dict]:
    """Contracts and amounts per (month, département), computed from the generated files alone (JSON and XML,
    read by the project's parser into their JSON shapes)."""
    dep_of_postal, dep_of_insee = {}, {}
    with (GEO_DIR / "idf_communes_cog2026.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            dep_of_insee[row["code_insee"]] = row["departement_code"]
            for cp in row["codes_postaux"].split("|"):
                dep_of_postal.setdefault(cp, row["departement_code"])
    counts, amounts, seen = Counter(), defaultdict(float), set()
    files = sorted(p for p in inbox_decp.iterdir() if re.fullmatch(r"decp_\d{4}-\d{2}\.(json|xml)", p.name))
    for path in files:
        for record in parse_document(path.read_bytes()):
            m = json.loads(record.record_json)
            uid = m["acheteur"]["id"] + m["id"]
            if uid in seen:  # a republication: counted once
                continue
            seen.add(uid)
            place = m["lieuExecution"]
            code, kind = place["code"], place["typeCode"]
            dep = {"Code postal": dep_of_postal.get(code), "Code commune": dep_of_insee.get(code),
                   "Code département": code}[kind]
            key = (m["dateNotification"][:7], dep)
            counts[key] += 1
            amounts[key] += float(m["montant"])
    return counts, amounts


def test_every_table_is_balanced_and_entities_are_resolved(pipeline_run):
    _, report, _ = pipeline_run
    assert report["balanced"] is True
    tables = {t["table"]: t for t in report["tables"]}
    silver = [t for t in report["tables"] if t["table"].startswith("silver/")]
    assert len(silver) == 10 and all(t["balanced"] for t in silver)
    assert tables["silver/marches"]["rows_quarantined"] > 0
    rates = next(s for s in report["stages"] if s["stage"] == "entity_resolution")["match_rates"]
    assert rates["facilitateur_entreprise"]["sirene_siret_rate"] > 0.95
    assert rates["operation_to_decp"]["linked_rate"] > 0.95
    assert rates["grand_paris_to_decp"]["linked_rate"] > 0.95


def test_every_inbox_file_is_in_the_manifest(pipeline_run):
    settings, _, _ = pipeline_run
    for source in ("decp", "facilitateurs", "grand_paris", "structures", "sirene"):
        names = {p.name for p in (settings.inbox_path / source).iterdir() if p.is_file()}
        landed = {e["original_name"] for e in read_manifest(settings, source)}
        assert landed == names, source


def test_bronze_holds_exactly_what_the_generator_wrote(pipeline_run, spark):
    settings, _, summary = pipeline_run
    extra_participants = EXTRA_PARTICIPANTS.count("\n") - 1  # the hand-made export's rows (header excluded)
    expected = {
        "bronze/facilitateurs_operations": summary.operations,
        "bronze/facilitateurs_participants": summary.participants + extra_participants,
        "bronze/facilitateurs_contrats": summary.work_contracts,
        "bronze/facilitateurs_heures": summary.hours_rows,
        "bronze/grand_paris_contrats": summary.grand_paris_contracts,
    }
    for name, n in expected.items():
        assert n > 0, name
        assert table(spark, settings, name).count() == n, name
    generated = table(spark, settings, "bronze/decp_marches").filter(
        "source_file rlike 'decp_20[0-9][0-9]-[0-9][0-9][.](json|xml)$'")
    assert generated.count() == summary.decp_records
    structures = table(spark, settings, "bronze/structures")
    assert structures.filter("type_structure = 'ESAT'").count() == 25
    assert structures.count() == 373 + 25 + 25 + 8


def test_a_file_missing_required_columns_is_refused_whole(pipeline_run, spark):
    settings, _, _ = pipeline_run
    [q] = table(spark, settings, "quarantine/files").filter(f"source_file like '%{RENAMED_HOURS[0]}'").collect()
    assert q.source == "facilitateurs" and q.rule_id == "facilitateurs.file_refused"
    assert "required columns missing for facilitateurs/heures: heures_realisees (headers found:" in q.message
    loaded = table(spark, settings, "bronze/facilitateurs_heures").filter("source_file like '%renamed%'")
    assert loaded.count() == 0


def test_official_broken_examples_are_quarantined_with_reasons(pipeline_run, spark):
    settings, _, _ = pipeline_run
    q = table(spark, settings, "quarantine/marches").filter("uid = '21750001630066TEST2022'").collect()
    assert q, "the official example with a Luhn-invalid buyer SIRET must be quarantined"
    assert all("decp.acheteur_siret" in r.rule_ids for r in q)
    assert all("acheteur.id is not a valid SIRET: 21750001630066" in r.messages for r in q)
    assert all(r.record_json and json.loads(r.record_json)["id"] == "TEST2022" for r in q)
    silver_uids = {r.uid for r in table(spark, settings, "silver/marches").select("uid").collect()}
    assert "21750001630066TEST2022" not in silver_uids


def test_gold_equals_figures_computed_from_the_raw_files(pipeline_run, spark):
    settings, _, _ = pipeline_run
    counts, amounts = expected_gold_from_raw(settings.inbox_path / "decp")
    gold = table(spark, settings, "gold/marches_par_mois_departement").filter(
        "consideration_sociale = 'TOUTES' and mois >= '2023-01-01' and mois < '2024-01-01'").collect()
    got = {(r.mois.isoformat()[:7], r.departement): (r.nb_marches, r.montant_total) for r in gold}
    expected = {k: n for k, n in counts.items() if k[0] < "2024"}  # 2024+: the official examples add contracts
    assert set(got) == set(expected)
    for key, n in expected.items():
        assert got[key][0] == n, key
        assert got[key][1] == pytest.approx(amounts[key], rel=1e-9), key
    assert sum(expected.values()) >= 100


def test_2019_format_years_count_as_unknown_consideration(pipeline_run, spark):
    settings, _, _ = pipeline_run
    g = table(spark, settings, "gold/marches_par_mois_departement")
    y2023 = {r.consideration_sociale for r in g.filter("annee = 2023").select("consideration_sociale").collect()}
    assert y2023 == {"INCONNU", "TOUTES"}
    y2025 = {r.consideration_sociale for r in g.filter("annee = 2025").select("consideration_sociale").collect()}
    assert {"CLAUSE_SOCIALE", "AUCUNE"} <= y2025 and "INCONNU" not in y2025


PERSON_LEVEL = ["bronze/facilitateurs_participants", "bronze/facilitateurs_contrats", "bronze/facilitateurs_heures",
                "bronze/facilitateurs_sorties", "silver/participants", "silver/contrats_insertion",
                "silver/heures_insertion", "silver/sorties"]


def test_person_level_tables_hold_no_direct_identifier(pipeline_run, spark):
    """No name, birth date, phone, e-mail or raw source person id in any person-level table."""
    settings, _, _ = pipeline_run
    raw_id = re.compile(r"^\d{2}-\d{7}$")  # the facilitators' own person ids, e.g. 93-0000042
    forbidden_columns = {"nom", "prenom", "telephone", "email", "nir", "adresse", "date_naissance",
                         "date_naissance_annee", "annee_naissance"}
    for name in PERSON_LEVEL:
        df = table(spark, settings, name)
        assert df.count() > 0, name
        if name.startswith("silver/"):
            assert not forbidden_columns & set(df.columns), name
        for row in df.collect():
            for value in row.asDict().values():
                if not isinstance(value, str):
                    continue
                for part in re.split(r'[,:"{}\[\]|]', value):
                    part = part.strip()
                    assert not raw_id.match(part), (name, value)
                    assert part not in SURNAMES and part not in FIRST_NAMES, (name, value)
                    assert not re.fullmatch(r"0[67]\d{8}", part), (name, value)


def test_no_person_identifier_reaches_bronze(pipeline_run, spark):
    settings, _, _ = pipeline_run
    participants = table(spark, settings, "bronze/facilitateurs_participants")
    assert not {"nom", "prenom", "telephone", "date_naissance"} & set(participants.columns)
    ids = [r.participant_id for r in participants.select("participant_id").limit(50).collect()]
    assert all(len(i) == 32 and "-" not in i for i in ids)  # keyed hashes, not the source ids like "93-0000001"
    years = {r.date_naissance_annee for r in participants.select("date_naissance_annee").collect()}
    assert all(y and 1950 < int(y) < 2010 for y in years)
