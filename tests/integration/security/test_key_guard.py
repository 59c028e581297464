"""One lake, one pseudonymisation key: bronze refuses a month loaded with another key before writing any row
(the same person would otherwise get two pseudonyms across months; decision 210)."""

from __future__ import annotations

import shutil
import uuid
from datetime import date

import pytest

from generator.core import generate_all, to_monthly_folders
from jobs import pipeline
from jobs.core.privacy import KeyMismatchError

pytestmark = pytest.mark.slow  # two loads of a year of exports (decision 211)


def test_a_month_loaded_with_another_key_is_refused_before_any_row(spark, local_settings, tmp_path):
    generated = tmp_path / "generated"
    generate_all(generated, 40, date(2023, 1, 1), date(2024, 1, 1), seed=11, xml_every=0, facilitator_period="month")
    to_monthly_folders(generated)
    shutil.copytree(generated, local_settings.inbox_path)
    pipeline.land_source("facilitateurs", "h1", local_settings, until="2023-06")
    pipeline.bronze_source("facilitateurs", "h1", local_settings)
    participants = local_settings.table_uri("bronze/facilitateurs_participants")
    before = spark.read.format("delta").load(participants).count()
    assert before > 0

    other = local_settings.replace(pseudonymization_key="test-" + uuid.uuid4().hex)
    pipeline.land_source("facilitateurs", "h2", other, since="2023-07", until="2023-12")
    with pytest.raises(KeyMismatchError, match="rotate-key"):
        pipeline.bronze_source("facilitateurs", "h2", other)
    assert spark.read.format("delta").load(participants).count() == before
    # with the lake's key, the same months load
    report = pipeline.bronze_source("facilitateurs", "h2", local_settings)
    assert sum(t["rows_written"] for t in report["tables"]) > 0
