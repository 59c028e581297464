"""Backfill both ways: Airflow's own backfill (one run per month, chained to transform and publish by
assets, through a real scheduler) and the bulk mode (one Spark job over the range) give the same gold."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from datetime import date

from generator.core import generate_all, to_monthly_folders
from jobs import pipeline
from tests.e2e.airflow_stack import AirflowStack, airflow
from tests.integration.test_incremental_gold import GOLD

CHAIN = ("observatoire_monthly", "observatoire_transform", "observatoire_publish")
# 2 months in `make test`: the mechanism (one run per month, in order, chained by assets) is the same for 12
# (OBS_TEST_BACKFILL_MONTHS=12 runs the full year; ~25 min through Airflow on 2026-11-28).
MONTHS = int(os.environ.get("OBS_TEST_BACKFILL_MONTHS", "2"))
LAST = f"2024-{MONTHS:02d}"


def gold_rows(spark, settings) -> dict[str, list[str]]:
    return {name: sorted(map(repr, spark.read.format("delta").load(settings.table_uri(name)).collect()))
            for name in GOLD}


def _done(stack: AirflowStack) -> bool:
    runs = stack.query("SELECT dag_id, run_type, state FROM dag_run")
    failed = [r for r in runs if r[2] == "failed"]
    assert not failed, f"failed runs: {failed}; logs in {stack.home}/logs"
    monthly_ok = sum(1 for d, t, s in runs if d == CHAIN[0] and t == "backfill" and s == "success")
    active = [r for r in runs if r[2] in ("queued", "running")]
    pending_assets = stack.query("SELECT count(*) FROM asset_dag_run_queue")[0][0]
    publish_ok = any(d == CHAIN[2] and s == "success" for d, _, s in runs)
    return monthly_ok == MONTHS and not active and pending_assets == 0 and publish_ok


def consumed_by(stack: AirflowStack, source_run_id: str, dag_id: str) -> int:
    """How many asset events emitted by the run ``source_run_id`` were consumed by runs of ``dag_id``."""
    return stack.query(
        "SELECT count(*) FROM asset_event e JOIN dagrun_asset_event d ON d.event_id = e.id "
        "JOIN dag_run r ON r.id = d.dag_run_id WHERE e.source_run_id = ? AND r.dag_id = ?",
        source_run_id, dag_id)[0][0]


def test_airflow_backfill_equals_bulk(spark, tmp_path, local_settings_factory):
    generated = tmp_path / "generated"
    generate_all(generated, 4 * MONTHS, date(2024, 1, 1), date(2024, MONTHS, 1), seed=11, xml_every=0,
                 facilitator_period="month")
    assert to_monthly_folders(generated) > MONTHS
    bulk, backfilled = local_settings_factory(tmp_path / "bulk"), local_settings_factory(tmp_path / "airflow")
    for settings in (bulk, backfilled):
        shutil.copytree(generated, settings.inbox_path)

    stack = AirflowStack(tmp_path / "airflow_home", OBS_LAKE_URI=backfilled.lake_uri,
                         OBS_INBOX_DIR=backfilled.inbox_dir, OBS_OUTPUT_DIR=backfilled.output_dir,
                         OBS_SCHEDULE_END=f"{LAST}-28", OBS_PUBLISH_PDF="false").setup()
    assert stack.query("SELECT count(*) FROM dag WHERE dag_id IN (?, ?, ?)", *CHAIN)[0][0] == 3
    for dag_id in CHAIN:
        airflow(stack.env, "dags", "unpause", dag_id)
    started = time.monotonic()
    airflow(stack.env, "backfill", "create", "--dag-id", CHAIN[0], "--from-date", "2024-01-01",
            "--to-date", f"{LAST}-01", "--max-active-runs", "1")
    assert stack.query("SELECT count(*) FROM dag_run WHERE dag_id = ?", CHAIN[0])[0][0] == MONTHS
    stack.start()
    try:
        stack.wait_for(lambda: _done(stack) and (time.sleep(10) or _done(stack)), timeout=3600, every=15,
                       what="the backfill and the runs it triggered")
        backfill_seconds = time.monotonic() - started
        runs = stack.query("SELECT dag_id, run_type, logical_date, start_date, end_date, run_id FROM dag_run "
                           "ORDER BY start_date")
    finally:
        stack.stop()

    monthly = [r for r in runs if r[0] == CHAIN[0]]
    assert [r[2][:7] for r in monthly] == [f"2024-{m:02d}" for m in range(1, MONTHS + 1)]  # in month order
    for previous, current in itertools.pairwise(monthly):
        assert previous[4] <= current[3], "max_active_runs=1: a month starts after the previous one ended"
    transform = [r for r in runs if r[0] == CHAIN[1]]
    assert transform and all(r[1] == "asset_triggered" for r in transform)
    # What the chain guarantees (not a timing): the last month's bronze asset events were consumed by a
    # transform run, which emitted the gold event that a publish run consumed.
    assert consumed_by(stack, monthly[-1][5], CHAIN[1]), "no transform consumed the last month's bronze"

    started = time.monotonic()  # the bulk mode, in this process (the session's Spark)
    pipeline.run_all("bulk", bulk.replace(publish_pdf=False), since="2024-01", until=LAST)
    bulk_seconds = time.monotonic() - started

    got, expected = gold_rows(spark, backfilled), gold_rows(spark, bulk)
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires"):
        assert expected[name], name
    for name in GOLD:
        assert got[name] == expected[name], name
    figures = {"bulk_seconds": round(bulk_seconds), "airflow_backfill_seconds": round(backfill_seconds),
               "transform_runs": len(transform), "monthly_runs": len(monthly)}
    print(json.dumps(figures))
    (tmp_path.parent / "backfill_figures.json").write_text(json.dumps(figures))
