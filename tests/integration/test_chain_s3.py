"""The DECP chain on the real S3-compatible server over s3a://, tables read back from the server."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from jobs.core.delta_io import table_version
from jobs.ingest.landing import read_manifest
from tests.conftest import copy_samples, s3_settings_at
from tests.integration.inputs import RENAMED_HOURS

pytestmark = [pytest.mark.slow, pytest.mark.s3]
PERIOD_TABLES = ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires")


@pytest.fixture(scope="module")
def chain(spark, s3_server, tmp_path_factory):
    """A small whole run whose lake is a bucket of the S3 server (s3a://): every writer and reader of the
    pipeline goes through S3A and the object store client."""
    settings = s3_settings_at(s3_server, tmp_path_factory.mktemp("chain"), "chain", publish_pdf=False)
    summary = generate_all(settings.inbox_path, 60, date(2023, 11, 1), date(2024, 2, 1), seed=7,
                           decp_dirt=dataclasses.replace(DirtRates.clean(), republication=0.05), xml_every=0)
    copy_samples(settings.inbox_path, "format-2022-v2/json_*.json")
    (settings.inbox_path / "facilitateurs" / RENAMED_HOURS[0]).write_text(RENAMED_HOURS[1], encoding="utf-8")
    report_path = pipeline.run_all("run-1", settings)
    return settings, json.loads(report_path.read_text()), summary


def table(spark, settings, name):
    return spark.read.format("delta").load(settings.table_uri(name))


def test_raw_zone_and_manifest_are_on_the_server(chain):
    settings, *_ = chain
    manifest = read_manifest(settings, "decp")
    assert len(manifest) == 4 + 3  # 4 generated months, three official 2022 examples
    assert all(m["uri"].startswith(settings.lake_uri + "/raw/decp/landed_date=") for m in manifest)


def test_every_table_is_written_balanced_and_read_back_from_the_server(chain, spark):
    settings, report, summary = chain
    assert report["balanced"] is True and settings.lake_uri.startswith("s3a://")
    tables = {t["table"]: t for t in report["tables"]}
    for name, line in tables.items():
        if name.startswith(("bronze/", "silver/")):
            assert table(spark, settings, name).count() == line["rows_written"], name
    assert tables["bronze/facilitateurs_heures"]["rows_written"] == summary.hours_rows
    gold = table(spark, settings, "gold/marches_par_mois_departement").filter("consideration_sociale = 'TOUTES'")
    assert gold.groupBy().sum("nb_marches").first()[0] == tables["silver/marches"]["rows_written"]


def test_rerun_changes_nothing(chain, spark):
    settings, *_ = chain
    before_bronze = table(spark, settings, "bronze/decp_marches").count()
    silver_names = ["silver/marches", "silver/operations", "silver/participants", "silver/contrats_insertion",
                    "silver/heures_insertion", "silver/sorties", "silver/structures", "silver/entreprises_sirene",
                    "silver/grand_paris_contrats", "silver/entreprises_operations"]
    before_silver = {n: sorted(map(repr, table(spark, settings, n).collect())) for n in silver_names}
    before_gold = sorted(tuple(r) for r in table(spark, settings, "gold/marches_par_mois_departement").collect())
    versions = {name: table_version(spark, settings, name) for name in PERIOD_TABLES}
    report = json.loads(pipeline.run_all("run-2", settings).read_text())
    stages = {s["stage"]: s for s in report["stages"]}
    landings = [s for s in report["stages"] if s["stage"] == "landing"]
    assert sum(s["landed"] for s in landings) == 0 and sum(s["skipped"] for s in landings) >= 7 + 1
    assert table(spark, settings, "quarantine/files").count() == 1  # the refused file is not retried
    assert stages["bronze_decp"]["rows_written"] == 0
    assert table(spark, settings, "bronze/decp_marches").count() == before_bronze
    after_gold = sorted(tuple(r) for r in table(spark, settings, "gold/marches_par_mois_departement").collect())
    assert after_gold == before_gold
    # period tables are not even rewritten: no new Delta version
    assert {name: table_version(spark, settings, name) for name in PERIOD_TABLES} == versions
    for name in silver_names:
        assert sorted(map(repr, table(spark, settings, name).collect())) == before_silver[name], name
