"""One real pipeline run on generated data, shared by the publication tests (it is the expensive part)."""

from __future__ import annotations

from datetime import date

import pytest

from generator.core import generate_all
from jobs import pipeline

AS_OF_YEAR = 2025  # the generated history ends with it; the run publishes its sheets and report


@pytest.fixture(scope="session")
def published(spark, tmp_path_factory, local_settings_factory):
    """Settings of a lake and output built end to end (download → publish) from two generated years."""
    import dataclasses

    root = tmp_path_factory.mktemp("published")
    settings = dataclasses.replace(local_settings_factory(root), sheet_period=str(AS_OF_YEAR),
                                   report_year=AS_OF_YEAR)
    generate_all(settings.inbox_path, 400, date(2024, 1, 1), date(2025, 12, 31), seed=7)
    report = pipeline.run_all("test__published", settings)
    return settings, report
