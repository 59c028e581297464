"""The monitoring DAG through Airflow (`airflow dags test`): a stale source fails its check task, the failure
is recorded as an alert and mailed (to a local SMTP server), and the operations page is written anyway."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

from jobs import pipeline
from jobs.ingest.landing import land_inbox
from tests.e2e.airflow_stack import AIRFLOW, airflow_env
from tests.unit.ops.smtp_server import SmtpServer


def test_a_stale_source_fails_the_monitoring_check(spark, local_settings, tmp_path, airflow_db_template):
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
        home.mkdir()
        shutil.copyfile(airflow_db_template, home / "airflow.db")
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
