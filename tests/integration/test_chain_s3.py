"""The DECP chain on the real S3-compatible server over s3a://, tables read back from the server."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from jobs.ingest.landing import read_manifest
from schemas.referential import GEO_DIR
from tests.conftest import copy_samples

pytestmark = [pytest.mark.spark, pytest.mark.s3]


def expected_gold_from_raw(inbox_decp) -> tuple[Counter, dict]:
    """Contracts and amounts per (month, département), computed from the generated files alone."""
    dep_of_postal, dep_of_insee = {}, {}
    with (GEO_DIR / "idf_communes_cog2026.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            dep_of_insee[row["code_insee"]] = row["departement_code"]
            for cp in row["codes_postaux"].split("|"):
                dep_of_postal.setdefault(cp, row["departement_code"])
    counts, amounts, seen = Counter(), defaultdict(float), set()
    for path in sorted(inbox_decp.glob("decp_2*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        items = doc["marches"] if isinstance(doc["marches"], list) else doc["marches"]["marche"]
        for m in items:
            uid = m["acheteur"]["id"] + m["id"]
            if uid in seen:  # a republication: counted once
                continue
            seen.add(uid)
            code, kind = m["lieuExecution"]["code"], m["lieuExecution"]["typeCode"]
            dep = {"Code postal": dep_of_postal.get(code), "Code commune": dep_of_insee.get(code),
                   "Code département": code}[kind]
            key = (m["dateNotification"][:7], dep)
            counts[key] += 1
            amounts[key] += m["montant"]
    return counts, amounts


@pytest.fixture(scope="module")
def chain(spark, s3_server, tmp_path_factory):
    import uuid

    from jobs.core.settings import Settings

    tmp = tmp_path_factory.mktemp("chain")
    settings = Settings.from_env().replace(
        lake_uri=f"s3a://chain-{uuid.uuid4().hex[:8]}/lake", inbox_dir=str(tmp / "inbox"),
        output_dir=str(tmp / "output"), s3_endpoint=s3_server.endpoint, s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
    )
    import dataclasses as dc

    settings = settings.replace(pseudonymization_key="test-key-" + uuid.uuid4().hex)
    only_duplicates = dc.replace(DirtRates.clean(), republication=0.05)
    summary = generate_all(settings.inbox_path, 400, date(2023, 1, 1), date(2024, 12, 1), seed=7,
                           decp_dirt=only_duplicates, xml_every=0)
    copy_samples(settings.inbox_path, "format-2022-v2/json_*.json", "dirty/*.json")
    # A facilitator export whose software renamed a required column: refused whole, with the reason.
    bad = settings.inbox_path / "facilitateurs" / "clause93_heures_renamed.csv"
    bad.write_text("Réf. contrat;Période;Durée\nOP1-1;10/2024;35\n", encoding="utf-8")
    report_path = pipeline.run_all("run-1", settings)
    return settings, json.loads(report_path.read_text()), summary


def table(spark, settings, name):
    return spark.read.format("delta").load(settings.table_uri(name))


def test_raw_zone_and_manifest_are_on_the_server(chain):
    settings, *_ = chain
    manifest = read_manifest(settings, "decp")
    assert len(manifest) == 24 + 3 + 2  # 24 generated months, three official 2022 examples, two dirty samples
    assert all(m["uri"].startswith(settings.lake_uri + "/raw/decp/landed_date=") for m in manifest)


def test_every_table_is_balanced_in_the_run_report(chain):
    _, report, _ = chain
    assert report["balanced"] is True
    tables = {t["table"]: t for t in report["tables"]}
    bronze, silver = tables["bronze/decp_marches"], tables["silver/marches"]
    assert bronze["rows_in"] == bronze["rows_written"] > 400
    assert silver["rows_in"] == silver["rows_written"] + silver["rows_quarantined"]
    assert silver["rows_quarantined"] > 0


def test_official_broken_examples_are_quarantined_with_reasons(chain, spark):
    settings, *_ = chain
    q = table(spark, settings, "quarantine/marches").filter("uid = '21750001630066TEST2022'").collect()
    assert q, "the official example with a Luhn-invalid buyer SIRET must be quarantined"
    assert all("decp.acheteur_siret" in r.rule_ids for r in q)
    assert all("acheteur.id is not a valid SIRET: 21750001630066" in r.messages for r in q)
    assert all(r.record_json and json.loads(r.record_json)["id"] == "TEST2022" for r in q)
    silver_uids = {r.uid for r in table(spark, settings, "silver/marches").select("uid").collect()}
    assert "21750001630066TEST2022" not in silver_uids


def test_gold_equals_figures_computed_from_the_raw_files(chain, spark):
    settings, *_ = chain
    counts, amounts = expected_gold_from_raw(settings.inbox_path / "decp")
    # The one official 2022 example that passes every rule (TEST2022Bis: valid SIRET, Paris, May 2024,
    # its modification brings the amount to 123,457.87 €).
    counts[("2024-05", "75")] += 1
    amounts[("2024-05", "75")] += 123457.87
    gold = table(spark, settings, "gold/marches_par_mois_departement").filter(
        "consideration_sociale = 'TOUTES' and mois >= '2023-01-01' and mois < '2025-01-01'").collect()
    got = {(r.mois.isoformat()[:7], r.departement): (r.nb_marches, r.montant_total) for r in gold}
    assert set(got) == set(counts)
    for key, n in counts.items():
        assert got[key][0] == n, key
        assert got[key][1] == pytest.approx(amounts[key], rel=1e-9), key
    assert sum(counts.values()) >= 380


def test_2019_format_years_count_as_unknown_consideration(chain, spark):
    settings, *_ = chain
    g = table(spark, settings, "gold/marches_par_mois_departement")
    y2023 = {r.consideration_sociale for r in g.filter("annee = 2023").select("consideration_sociale").collect()}
    assert y2023 == {"INCONNU", "TOUTES"}
    y2024 = {r.consideration_sociale for r in g.filter("annee = 2024").select("consideration_sociale").collect()}
    assert {"CLAUSE_SOCIALE", "AUCUNE"} <= y2024 and "INCONNU" not in y2024


def test_bronze_holds_exactly_what_the_generator_wrote(chain, spark):
    settings, _, summary = chain
    expected = {
        "bronze/facilitateurs_operations": summary.operations,
        "bronze/facilitateurs_participants": summary.participants,
        "bronze/facilitateurs_contrats": summary.work_contracts,
        "bronze/facilitateurs_heures": summary.hours_rows,
        "bronze/grand_paris_contrats": summary.grand_paris_contracts,
    }
    for name, n in expected.items():
        assert n > 0, name
        assert table(spark, settings, name).count() == n, name
    generated = table(spark, settings, "bronze/decp_marches").filter("source_file like '%decp_20__-__.json'")
    assert generated.count() == summary.decp_records
    structures = table(spark, settings, "bronze/structures")
    assert structures.filter("type_structure = 'ESAT'").count() == 25
    assert structures.count() == 373 + 25 + 25 + 8


def test_a_file_missing_required_columns_is_refused_whole(chain, spark):
    settings, *_ = chain
    [q] = table(spark, settings, "quarantine/files").filter("source_file like '%clause93_heures_renamed%'").collect()
    assert q.source == "facilitateurs" and q.rule_id == "facilitateurs.file_refused"
    assert "required columns missing for facilitateurs/heures: heures_realisees (headers found:" in q.message
    loaded = table(spark, settings, "bronze/facilitateurs_heures").filter("source_file like '%renamed%'")
    assert loaded.count() == 0


PERSON_LEVEL = ["bronze/facilitateurs_participants", "bronze/facilitateurs_contrats", "bronze/facilitateurs_heures",
                "bronze/facilitateurs_sorties", "silver/participants", "silver/contrats_insertion",
                "silver/heures_insertion", "silver/sorties"]


def test_person_level_tables_hold_no_direct_identifier(chain, spark):
    """No name, birth date, phone, e-mail or raw source person id in any person-level table."""
    import re

    from generator.core import FIRST_NAMES, SURNAMES

    settings, *_ = chain
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


def test_every_silver_table_is_balanced_and_entities_are_resolved(chain):
    _, report, _ = chain
    silver = [t for t in report["tables"] if t["table"].startswith("silver/")]
    assert len(silver) == 10 and all(t["balanced"] for t in silver)
    stage = next(s for s in report["stages"] if s["stage"] == "entity_resolution")
    rates = stage["match_rates"]
    assert rates["facilitateur_entreprise"]["sirene_siret_rate"] > 0.95
    assert rates["operation_to_decp"]["linked_rate"] > 0.95
    assert rates["grand_paris_to_decp"]["linked_rate"] > 0.95


def test_no_person_identifier_reaches_bronze(chain, spark):
    settings, *_ = chain
    participants = table(spark, settings, "bronze/facilitateurs_participants")
    assert not {"nom", "prenom", "telephone", "date_naissance"} & set(participants.columns)
    ids = [r.participant_id for r in participants.select("participant_id").limit(50).collect()]
    assert all(len(i) == 32 and "-" not in i for i in ids)  # keyed hashes, not the source ids like "93-0000001"
    years = {r.date_naissance_annee for r in participants.select("date_naissance_annee").collect()}
    assert all(y and 1950 < int(y) < 2010 for y in years)


def test_rerun_changes_nothing(chain, spark):
    settings, *_ = chain
    before_bronze = table(spark, settings, "bronze/decp_marches").count()
    silver_names = ["silver/marches", "silver/operations", "silver/participants", "silver/contrats_insertion",
                    "silver/heures_insertion", "silver/sorties", "silver/structures", "silver/entreprises_sirene",
                    "silver/grand_paris_contrats", "silver/entreprises_operations"]
    before_silver = {n: sorted(map(repr, table(spark, settings, n).collect())) for n in silver_names}
    before_gold = sorted(tuple(r) for r in table(spark, settings, "gold/marches_par_mois_departement").collect())
    report = json.loads(pipeline.run_all("run-2", settings).read_text())
    stages = {s["stage"]: s for s in report["stages"]}
    landings = [s for s in report["stages"] if s["stage"] == "landing"]
    assert sum(s["landed"] for s in landings) == 0 and sum(s["skipped"] for s in landings) > 29
    assert table(spark, settings, "quarantine/files").count() == 1  # the refused file is not retried
    assert stages["bronze_decp"]["rows_written"] == 0
    assert table(spark, settings, "bronze/decp_marches").count() == before_bronze
    after_gold = sorted(tuple(r) for r in table(spark, settings, "gold/marches_par_mois_departement").collect())
    assert after_gold == before_gold
    for name in silver_names:
        assert sorted(map(repr, table(spark, settings, name).collect())) == before_silver[name], name
