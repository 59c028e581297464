"""The shared pipeline run (generated data mixed with the hostile files of ``tests/integration/inputs.py``), then:

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

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import pipeline
from jobs.ingest.decp_records import DecpDocumentError, parse_document
from jobs.ingest.landing import read_manifest
from jobs.ingest.tabular import TabularFileError, read_tabular
from jobs.ops import privacy_scan
from schemas.sources import source_contract
from tests.conftest import local_settings_at
from tests.integration.inputs import HOSTILE_DECP, HOSTILE_TABULAR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(pipeline_run):
    settings, report, _ = pipeline_run
    return settings, report


@pytest.fixture
def lake_copy(lake, tmp_path):
    """A copy of the shared run's lake, inbox and output, for a test that changes them (key rotation)."""
    settings, _ = lake
    root = tmp_path / "copy"
    for part in ("lake", "inbox", "output"):
        shutil.copytree(settings.lake_path.parent / part, root / part, symlinks=True)
    return local_settings_at(root, sheet_period=settings.sheet_period, report_year=settings.report_year,
                             publish_pdf=False)


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


def test_key_rotation_leaves_no_old_pseudonym_and_the_same_figures(spark, lake_copy):
    settings = lake_copy
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
