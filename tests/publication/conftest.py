"""One real pipeline run on generated data, shared by the publication tests (it is the expensive part)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all
from jobs import pipeline
from tests.conftest import copy_samples

FORMULA_OBJET = "=HYPERLINK(\"http://exemple.invalid\",\"x\")"
AS_OF_YEAR = 2025
RUN_ID = "test__published"  # the generated history ends with it; the run publishes its sheets and report


def formula_contract(inbox: Path) -> None:
    """An official example republished with an objet a spreadsheet would run."""
    src = Path(__file__).resolve().parents[2] / "samples/decp/format-2022-v2/json_marches_avec_modifications.json"
    m = json.loads(src.read_text(encoding="utf-8"))["marches"]["marche"][0]
    m.update(id="FORMULE1", objet=FORMULA_OBJET, dateNotification="2024-06-03", datePublicationDonnees="2024-06-10")
    m.pop("modifications", None)
    (inbox / "decp" / "decp_formule.json").write_text(json.dumps({"marches": {"marche": [m]}}), encoding="utf-8")


@pytest.fixture(scope="session")
def published_run(spark, tmp_path_factory, local_settings_factory):
    """Settings of a lake and output built end to end (download → publish) from two generated years, the
    official DECP 2022 examples and a contract whose objet is a spreadsheet formula; and the run report."""

    root = tmp_path_factory.mktemp("published")
    settings = local_settings_factory(root).replace(sheet_period=str(AS_OF_YEAR),
                                   report_year=AS_OF_YEAR)
    generate_all(settings.inbox_path, 400, date(2024, 1, 1), date(2025, 12, 31), seed=7)
    copy_samples(settings.inbox_path, "format-2022-v2/json_*.json")
    formula_contract(settings.inbox_path)
    path = pipeline.run_all(RUN_ID, settings)
    return settings, json.loads(path.read_text(encoding="utf-8"))
