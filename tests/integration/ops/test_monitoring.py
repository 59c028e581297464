"""Monitoring: one stale source makes the real monitoring DAG's check task fail (red), records the alert and
mails it to a local SMTP server; the ops page shows the breach. Plus the pure figures on small inputs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from jobs import pipeline
from jobs.ingest.landing import land_inbox
from jobs.ops import monitoring
from tests.e2e.airflow_stack import AIRFLOW, airflow, airflow_env
from tests.integration.ops.smtp_server import SmtpServer

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


def test_a_stale_source_fails_the_monitoring_check(spark, local_settings, tmp_path):
    settings = local_settings
    for source in pipeline.SOURCES:
        folder = settings.inbox_path / source
        folder.mkdir(parents=True)
        (folder / f"{source}_export.csv").write_text(f"a;b\n1;{source}\n", encoding="utf-8")
        landed_at = datetime.now(UTC) - timedelta(days=120 if source == "sirene" else 1)
        assert len(land_inbox(settings, source, "land-test", landed_at).landed) == 1
    uri = settings.table_uri("bronze/decp_marches")
    for i in range(3):
        spark.range(i * 10, i * 10 + 10).write.format("delta").mode("append").save(uri)
    pipeline.write_run_report("run-1", [{"stage": "bronze_decp", "seconds": 4.0, "table": "bronze/decp_marches",
                                         "rows_in": 30, "rows_written": 29, "rows_quarantined": 1,
                                         "details": {"quarantine_by_rule": {"decp.montant": 1}}}], settings)

    home = tmp_path / "airflow_home"
    with SmtpServer() as smtp:
        env = airflow_env(home, OBS_LAKE_URI=settings.lake_uri, OBS_INBOX_DIR=settings.inbox_dir,
                          OBS_OUTPUT_DIR=settings.output_dir, OBS_FRESHNESS_MAX_DAYS="sirene=90",
                          OBS_ALERT_EMAIL="ops@example.org", OBS_SMTP_HOST="127.0.0.1", OBS_SMTP_PORT=str(smtp.port))
        airflow(env, "db", "migrate")
        proc = subprocess.run([AIRFLOW, "dags", "test", "observatoire_monitoring", f"{datetime.now(UTC):%Y-%m-%d}"],
                              env=env, capture_output=True, text=True, timeout=900)
        messages = list(smtp.messages)
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'observatoire_monitoring'"))
    assert states == {"check_freshness": "failed", "check_quarantine": "success", "table_stats": "success",
                      "ops_page": "success"}, proc.stdout[-3000:] + proc.stderr[-3000:]

    alerts = (tmp_path / "output" / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    [alert] = [json.loads(line) for line in alerts]
    assert alert["dag_id"] == "observatoire_monitoring" and alert["task_id"] == "check_freshness"
    assert alert["try_number"] == 1 and "ThresholdBreached" in alert["exception"] and "sirene" in alert["exception"]
    assert "decp" not in alert["exception"]
    [(_sender, recipients, message)] = messages
    assert recipients == ["<ops@example.org>"] and "check_freshness" in message["Subject"]
    assert "sirene" in message.get_payload()

    page = (tmp_path / "output" / "dashboards" / "ops.html").read_text(encoding="utf-8")
    assert '<script src="plotly.min.js"></script>' in page and "source sirene" in page
    data = json.loads(page.split('<script type="application/json" id="ops-data">')[1].split("</script>")[0]
                      .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    [decp] = [t for t in data["tables"] if t["table"] == "bronze/decp_marches"]
    assert decp["version"] == 2 and decp["files"] >= 3 and decp["bytes"] > 0
    assert {f["source"]: f["breached"] for f in data["snapshot"]["freshness"]} == {
        "decp": False, "facilitateurs": False, "grand_paris": False, "structures": False, "sirene": True}
