"""The one whole pipeline run of the test session, shared by every test that only reads its outputs."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from generator.core import generate_all
from generator.decp import DirtRates
from jobs import pipeline
from tests.conftest import copy_samples, local_settings_at
from tests.integration.inputs import add_hand_made_inputs

AS_OF_YEAR = 2025
RUN_ID = "test__published"  # the generated history ends with it; the run publishes its sheets and report
START, END = date(2023, 1, 1), date(2025, 12, 31)  # 2023 in the 2019 DECP format, 2024-2025 in the 2022 one
# DECP without dirt but republications: tests recompute the gold figures from the generated files. Dirty DECP
# is the business of the fuzz tests, the official dirty samples (added here) and the benchmark's baseline test.
DECP_DIRT = dataclasses.replace(DirtRates.clean(), republication=0.05)


@pytest.fixture(scope="session")
def pipeline_run(spark, tmp_path_factory):
    """Settings of a local lake and output built end to end (download → publish, PDFs included) and the run
    report: three generated years of the five sources, the official DECP examples and dirty samples, and the
    hand-made inputs of ``tests/integration/inputs.py`` (hostile files, identifiers, a formula)."""
    root = tmp_path_factory.mktemp("pipeline_run")
    settings = local_settings_at(root, sheet_period=str(AS_OF_YEAR), report_year=AS_OF_YEAR)
    summary = generate_all(settings.inbox_path, 500, START, END, seed=7, decp_dirt=DECP_DIRT, xml_every=6)
    copy_samples(settings.inbox_path, "format-2022-v2/json_*.json", "dirty/*.json")
    add_hand_made_inputs(settings.inbox_path)
    path = pipeline.run_all(RUN_ID, settings)
    return settings, json.loads(path.read_text(encoding="utf-8")), summary
