"""The whole pipeline on generated data mixed with hostile files, on a local lake, then:

* every hostile file is quarantined with its reason or loaded, the rest of each batch loads, nothing lost;
* no direct identifier of the raw files (names, birth dates, raw person ids, phones, e-mails, NIR, addresses)
  is in any file of bronze, silver, gold, quarantine or the output folder (``jobs.ops.privacy_scan``);
* the scan does find identifiers when they are there (a planted leak);
* rotating the pseudonymisation key (``jobs.pipeline rotate-key``) leaves no old pseudonym anywhere and the same
  figures.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from generator.core import generate_all
from jobs import pipeline
from jobs.ingest.decp_records import DecpDocumentError, parse_document
from jobs.ingest.landing import read_manifest
from jobs.ingest.tabular import TabularFileError, read_tabular
from jobs.ops import privacy_scan
from schemas.sources import source_contract
from tests.fuzz import mutate

pytestmark = [pytest.mark.spark]

GOOD = {"acheteur": {"id": "21750001600019"}, "id": "2024X1", "nature": "Marché", "objet": "ok",
        "montant": 1000, "dureeMois": 12, "dateNotification": "2024-03-01", "codeCPV": "45000000",
        "lieuExecution": {"code": "75056", "typeCode": "Code commune"},
        "titulaires": [{"typeIdentifiant": "SIRET", "id": "73282932000074", "denominationSociale": "ACME"}]}
HOSTILE_DECP = {
    "hostile_surrogates.json": json.dumps({"marches": [{**GOOD, "id": "S1", "objet": "\ud800x\udfff"}, GOOD]},
                                          ensure_ascii=True).encode(),
    "hostile_huge_values.json": json.dumps({"marches": [{**GOOD, "id": "H1", "montant": 10**4000,
                                                         "dureeMois": 1e300,
                                                         "modifications": [{"dureeMois": 3e9}]}]}).encode(),
    "hostile_giant_string.json": mutate.giant_string_json(8),
    "hostile_int_5000_digits.json": b'{"marches": [{"montant": 1' + b"0" * 5000 + b"}]}",
    "hostile_deep.json": mutate.deep_json(100_000),
    "hostile_truncated.json": b'{"marches": [{"id": "T1", "objet": "cut',
    "hostile_utf16.json": '{"marches": []}'.encode("utf-16"),
    "hostile_billion_laughs.xml": mutate.XML_ENTITY_ATTACKS[0],
    "hostile_xxe.xml": mutate.XML_ENTITY_ATTACKS[1],
    "hostile_deep.xml": mutate.deep_xml(100_000),
    "hostile_encoding.xml": mutate.XML_ENTITY_ATTACKS[6],
}
GP_ROWS = [["Maître d'ouvrage", "Opération", "SIRET acheteur", "N° de marché", "Montant HT (€)", "Notification"],
           ["SGP", "L15", "52504601700013", "2021GPE15", 3.5, "2021-03-15"]]
HOSTILE_TABULAR = {
    ("facilitateurs", "clause75_heures_garbage.csv"): bytes(range(128, 256)) * 40,
    ("facilitateurs", "clause75_heures_nul.csv"): b"Id contrat;P\x00riode;Heures\nA;10/2024;\x0035\n",
    ("grand_paris", "contrats_bomb.xlsx"): mutate.xlsx_bomb(100),
    ("grand_paris", "contrats_broken.xlsx"): mutate._xlsx(GP_ROWS, lambda x: x[: len(x) // 2]),
}
# An export with every kind of direct identifier, and one refused whole (no id column) that still holds names.
EXTRA_PARTICIPANTS = (
    "Identifiant participant;Nom;Prénom;Sexe;Date de naissance;Courriel;NIR;Adresse;Téléphone;Niveau de diplôme\n"
    "VX-000001;Lefèvre;Anaïs;F;14/07/1991;anais.lefevre@example.fr;291077512345622;12 rue des Lilas Bobigny;"
    "06 11 22 33 44;3\n"
    "VX-000002;Moreau;Sékou;H;1988-02-29;sekou.moreau@mail.test;188027512345611;4 allée Jean Moulin Pantin;"
    "+33 7 55 66 77 88;4\n")
REFUSED_PARTICIPANTS = "Réf;Nom;Prénom;Téléphone\nZZ-1;Girard;Noémie;0699887766\n"


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, local_settings_factory):
    root = tmp_path_factory.mktemp("privacy")
    settings = local_settings_factory(root).replace(pseudonymization_key=f"key-A-{uuid.uuid4().hex}",
                                   gold_full_recompute=True)
    inbox = settings.inbox_path
    generate_all(inbox, 120, date(2024, 1, 1), date(2024, 12, 1), seed=11, xml_every=4)
    for name, data in HOSTILE_DECP.items():
        (inbox / "decp" / name).write_bytes(data)
    for (source, name), data in HOSTILE_TABULAR.items():
        (inbox / source / name).write_bytes(data)
    (inbox / "facilitateurs" / "ville-x_participants_2024.csv").write_text(EXTRA_PARTICIPANTS, encoding="utf-8")
    (inbox / "facilitateurs" / "ville-x_participants_refused.csv").write_text(REFUSED_PARTICIPANTS,
                                                                              encoding="utf-8")
    report = json.loads(pipeline.run_all("run-a", settings).read_text())
    return settings, report


def rows(spark, settings, name):
    return spark.read.format("delta").load(settings.table_uri(name))


def test_hostile_files_are_quarantined_with_a_reason_and_the_rest_loads(spark, lake):
    settings, report = lake
    assert report["balanced"]
    landed = {e["original_name"]: e for e in read_manifest(settings, "decp")}
    assert set(HOSTILE_DECP) <= set(landed)
    bronze = {r.source_file: r.n for r in rows(spark, settings, "bronze/decp_marches")
              .groupBy("source_file").count().withColumnRenamed("count", "n").collect()}
    refused = {r.source_file: r.message for r in rows(spark, settings, "quarantine/files").collect()}
    n_in = n_loaded = n_refused = 0
    for name, entry in landed.items():  # every landed file: its records in bronze, or the file refused
        data = (settings.lake_path / entry["key"]).read_bytes()
        try:
            expected = len(parse_document(data))
        except DecpDocumentError:
            assert "file could not be read as DECP" in refused[entry["uri"]], name
            n_in, n_refused = n_in + 1, n_refused + 1
            continue
        assert bronze.get(entry["uri"], 0) == expected, name
        n_in, n_loaded = n_in + expected, n_loaded + expected
    decp = next(t for t in report["tables"] if t["table"] == "bronze/decp_marches")
    assert (decp["rows_in"], decp["rows_written"], decp["rows_quarantined"]) == (n_in, n_loaded, n_refused)
    assert n_refused == 8  # the 11 hostile documents minus the 3 that are valid DECP with odd values
    # the odd-valued records went on to silver: typed, or quarantined by a rule with a readable message
    silver = {r.id: r for r in rows(spark, settings, "silver/marches").collect()}
    quarantined = {json.loads(r.record_json).get("id"): r for r in rows(spark, settings, "quarantine/marches")
                   .collect() if r.record_json}
    assert silver["S1"].objet == "\ufffdx\ufffd"  # lone surrogates replaced, the rest of the text kept
    assert {"decp.montant_plausible", "decp.duree_mois_valid"} <= set(quarantined["H1"].rule_ids)
    assert all(len(m) < 500 for m in quarantined["H1"].messages)  # a 4,000-digit amount is cut in messages
    for (source, name), _ in HOSTILE_TABULAR.items():
        entry = next(e for e in read_manifest(settings, source) if e["original_name"] == name)
        assert refused[entry["uri"]], name
    bomb = next(e for e in read_manifest(settings, "grand_paris") if e["original_name"] == "contrats_bomb.xlsx")
    assert "possible zip bomb" in refused[bomb["uri"]]


def test_no_direct_identifier_beyond_the_raw_zone(lake):
    settings, _ = lake
    report = privacy_scan.scan(settings.lake_path, settings.lake_path.parent / "output")
    searched = report.identifiers_searched
    print(json.dumps(report.summary()))
    assert all(searched[k] > 0 for k in ("person_ids", "full_names", "names", "birth_dates", "phones", "emails",
                                         "nirs", "addresses")), searched
    assert report.files_scanned > 50 and {".parquet", ".json", ".html"} <= set(report.by_suffix)
    assert report.findings == [], "\n".join(f.line() for f in report.findings[:30])


def test_the_scan_finds_identifiers_that_are_there(lake, tmp_path):
    """A planted leak in a copy of the output (a raw export: one identifier per cell) and of one silver
    table (an id and a full name in one cell) is found, in every category."""
    settings, _ = lake
    output = tmp_path / "output"
    shutil.copytree(settings.lake_path.parent / "output", output)
    raw = next(e for e in read_manifest(settings, "facilitateurs")
               if e["original_name"] == "ville-x_participants_2024.csv")
    (output / "leak.csv").write_bytes((settings.lake_path / raw["key"]).read_bytes())
    lake_copy = tmp_path / "lake"
    shutil.copytree(settings.lake_path / "raw", lake_copy / "raw")
    (lake_copy / "silver" / "leak").mkdir(parents=True)
    pq.write_table(pa.table({"who": ["VX-000002 Sékou Moreau"], "born": ["1991-07-14"]}),
                   lake_copy / "silver" / "leak" / "part-0.parquet")
    report = privacy_scan.scan(lake_copy, output)
    found = {f.category for f in report.findings}
    assert {"person_id", "full_name", "name", "birth_date", "phone", "email", "nir", "address"} <= found, found
    assert {f.where.split(" ")[0] for f in report.findings} == {"output/leak.csv", "silver/leak/part-0.parquet"}


def _pseudonyms(spark, settings) -> set[str]:
    out = set()
    for table in ("bronze/facilitateurs_participants", "bronze/facilitateurs_contrats",
                  "bronze/facilitateurs_sorties"):
        out |= {r[0] for r in rows(spark, settings, table).select("participant_id").distinct().collect()}
    return out


def _gold(spark, settings) -> dict[str, list[str]]:
    names = sorted(p.name for p in (settings.lake_path / "gold").iterdir())
    return {n: sorted(map(repr, rows(spark, settings, f"gold/{n}").collect())) for n in names}


def test_key_rotation_leaves_no_old_pseudonym_and_the_same_figures(spark, lake):
    settings, _ = lake
    before_ids, before_gold = _pseudonyms(spark, settings), _gold(spark, settings)
    totals = {name: rows(spark, settings, f"gold/{name}").groupBy().sum(column).collect()[0][0]
              for name, column in (("beneficiaires", "n_personnes"), ("heures_insertion", "heures_realisees"))}
    new = settings.replace(pseudonymization_key=f"key-B-{uuid.uuid4().hex}")

    result = pipeline.rotate_pseudonymization_key("rotate-b", new)

    assert "bronze/facilitateurs_participants" in result["deleted_tables"] and "silver/participants" in \
        result["deleted_tables"] and "quarantine/files" not in result["deleted_tables"]
    after_ids = _pseudonyms(spark, new)
    assert len(after_ids) == len(before_ids) > 20 and not before_ids & after_ids
    # the new pseudonyms are the new key's HMAC of the raw ids, read again from the raw zone
    contract, expected = source_contract("facilitateurs"), set()
    for entry in read_manifest(new, "facilitateurs"):
        match = contract.match(entry["original_name"])
        if match and "participant_id" in match.entity.output_columns:
            try:
                result_rows = read_tabular((new.lake_path / entry["key"]).read_bytes(), contract, match.entity,
                                           match.facilitateur, new.pseudonymization_key_bytes()).rows
            except TabularFileError:
                continue
            expected |= {r["participant_id"] for r in result_rows if r["participant_id"]}
    assert after_ids == expected
    # no old pseudonym in any file of any zone (all Delta versions included) nor in the outputs
    old = privacy_scan.Identifiers(person_ids=before_ids)
    leftover = privacy_scan.scan(new.lake_path, new.lake_path.parent / "output", ids=old)
    assert leftover.findings == [], "\n".join(f.line() for f in leftover.findings[:10])
    # same people, same hours: every gold table is identical
    assert _gold(spark, new) == before_gold
    assert totals == {name: rows(spark, new, f"gold/{name}").groupBy().sum(column).collect()[0][0]
                      for name, column in (("beneficiaires", "n_personnes"), ("heures_insertion",
                                                                                 "heures_realisees"))}
    assert privacy_scan.scan(new.lake_path, new.lake_path.parent / "output").findings == []
