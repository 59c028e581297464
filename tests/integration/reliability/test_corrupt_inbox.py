"""Corrupt files among good ones in one inbox batch: each bad file is quarantined whole with its reason,
every record of the good files loads, and a rerun changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from jobs.ingest.decp_records import parse_document

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # about 9 s (decision 211)


def test_corrupt_files_are_quarantined_and_the_rest_of_the_batch_loads(spark, local_settings, tmp_path):
    settings = local_settings
    inbox = settings.inbox_path / "decp"
    generate_all(settings.inbox_path, 90, date(2024, 1, 1), date(2024, 3, 1), seed=5, decp_dirt=DirtRates.clean(),
                 xml_every=3, sources=("decp",))  # two JSON months and one XML month
    good = sorted(inbox.iterdir())
    assert {p.suffix for p in good} == {".json", ".xml"}
    json_doc = next(p for p in good if p.suffix == ".json").read_bytes()
    xml_doc = next(p for p in good if p.suffix == ".xml").read_bytes()
    latin1 = '{"marches": [{"id": "X1", "objet": "Réfection de la voirie"}]}'.encode("cp1252")
    bad = {  # name -> (bytes, what the quarantine message must say)
        "broken_2024-04.json": (json_doc[: len(json_doc) // 2], "invalid JSON at line"),
        "windows1252_2024-05.json": (latin1, "not UTF-8 text"),
        "truncated_2024-06.xml": (xml_doc[: len(xml_doc) // 2], "XML"),
        "empty_2024-07.json": (b"", "empty file"),  # Spark's scan skips empty files: it was lost
        "garbage_2024-08.json": (bytes(range(256)) * 40, "not UTF-8 text"),
    }
    for name, (data, _) in bad.items():
        (inbox / name).write_bytes(data)

    landing = pipeline.land_source("decp", "run-1", settings)
    assert landing["landed"] == len(good) + len(bad)
    report = pipeline.bronze_source("decp", "run-1", settings)

    expected = sum(len(parse_document(p.read_bytes())) for p in good)
    assert expected > 80
    assert report["rows_written"] == expected and report["rows_quarantined"] == len(bad)
    bronze = spark.read.format("delta").load(settings.table_uri("bronze/decp_marches"))
    loaded = {r.source_file.rsplit("_", 1)[-1] for r in bronze.select("source_file").distinct().collect()}
    assert loaded == {p.name.rsplit("_", 1)[-1] for p in good}
    assert bronze.count() == expected

    quarantine = {r.source_file.rsplit("/", 1)[1].split("_", 1)[1]: r for r in
                  spark.read.format("delta").load(settings.table_uri("quarantine/files")).collect()}
    assert set(quarantine) == set(bad)
    for name, (_, reason) in bad.items():
        q = quarantine[name]
        assert q.rule_id == "decp.file_unreadable" and q.source == "decp", name
        assert q.message.startswith("file could not be read as DECP: ") and reason in q.message, (name, q.message)

    again = pipeline.bronze_source("decp", "run-2", settings)  # nothing pending: bad files are not retried
    assert again["files"] == 0 and bronze.count() == expected
    assert spark.read.format("delta").load(settings.table_uri("quarantine/files")).count() == len(bad)
