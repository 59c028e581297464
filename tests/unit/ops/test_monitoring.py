"""Monitoring's figures on small inputs: freshness per source, quarantine rates, rows and durations over runs
(the monitoring DAG itself: tests/e2e/test_monitoring_dag.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobs.ops import monitoring

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def report(run_id: str, written_at: datetime, tables: list[dict]) -> dict:
    return {"run_id": run_id, "written_at": written_at.isoformat(), "tables": tables,
            "stages": [{"stage": "bronze_decp", "seconds": 12.0}, {"stage": "silver_marches", "seconds": 30.0}]}


def test_freshness_thresholds_per_source(local_settings):
    settings = local_settings.replace(freshness_max_days={"sirene": 100}, freshness_default_max_days=30)
    manifests = {"decp": [{"landed_at": (NOW - timedelta(days=31)).isoformat()}],
                 "sirene": [{"landed_at": (NOW - timedelta(days=90)).isoformat()}], "structures": []}
    reports = [report("r1", NOW - timedelta(days=2), [{"table": "bronze/sirene_etablissements", "rows_in": 1,
                                                        "rows_written": 1, "rows_quarantined": 0}])]
    rows = {r["source"]: r for r in monitoring.freshness(manifests, reports, NOW, settings)}
    assert rows["decp"]["breached"] and rows["decp"]["age_days"] == 31.0 and rows["decp"]["last_loaded"] is None
    assert not rows["sirene"]["breached"] and rows["sirene"]["last_loaded"] == (NOW - timedelta(days=2)).isoformat()
    assert rows["structures"]["breached"] and rows["structures"]["last_landed"] is None  # never delivered


def test_quarantine_rate_uses_the_latest_run_and_the_threshold(local_settings):
    settings = local_settings.replace(max_quarantine_rate=0.1)
    old = {"table": "silver/marches", "rows_in": 100, "rows_written": 50, "rows_quarantined": 50}
    new = {"table": "silver/marches", "rows_in": 100, "rows_written": 95, "rows_quarantined": 5,
           "details": {"quarantine_by_rule": {"marches.montant": 3, "marches.duplicate": 2}}}
    gold = {"table": "gold/x", "rows_in": 100, "rows_written": 1, "rows_quarantined": 0}
    rows = monitoring.quarantine_rates([report("b", NOW, [new, gold]), report("a", NOW - timedelta(days=30), [old])],
                                       settings)
    assert rows == [{"table": "silver/marches", "run_id": "b", "rows_in": 100, "rows_quarantined": 5, "rate": 0.05,
                     "by_rule": {"marches.duplicate": 0.02, "marches.montant": 0.03}, "max_rate": 0.1,
                     "breached": False}]
    worse = dict(new, rows_written=80, rows_quarantined=20)
    [row] = monitoring.quarantine_rates([report("c", NOW, [worse])], settings)
    assert row["breached"]
    with pytest.raises(monitoring.ThresholdBreached, match=r"silver/marches: quarantine rate 20\.0%"):
        monitoring.check({"freshness": [], "quarantine": [row]}, "quarantine")
    assert monitoring.run_durations([report("c", NOW, [])])[0]["seconds"] == 42.0
