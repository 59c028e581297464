"""A month loaded through a real Airflow (scheduler, a backfill run chained to transform and publish by assets) on
top of the history gives the gold tables of one full recompute, and rewrites only the gold partitions its data
touches (read from the Delta log). The months cross a year: January must not touch December's year.

The history up to December is the bulk backfill (``run_all --until``, the same stages in this process): one
month through the scheduler exercises the chain; a second one cost eleven minutes and tested nothing more
(decision 209). One Airflow stack and two lakes serve every test of the module; `airflow dags test` is the
monitoring DAG's test, a rerun the S3 chain's test."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all, to_monthly_folders
from jobs import pipeline
from jobs.core.delta_io import table_version
from tests.background import in_background
from tests.e2e.airflow_stack import AirflowStack, airflow

CHAIN = ("observatoire_monthly", "observatoire_transform", "observatoire_publish")
MONTHS = ("2023-12", "2024-01")
GOLD = ["gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires",
        "gold/contrats_insertion_par_type", "gold/sorties_6_mois", "gold/marches_clauses",
        "gold/part_marches_consideration_sociale", "gold/fiches_acheteurs", "gold/fiches_territoires",
        "gold/charte_grand_paris", "gold/structures_inclusion", "gold/heures_insertion_ept"]


def gold_rows(spark, settings) -> dict[str, list[str]]:
    return {name: sorted(map(repr, spark.read.format("delta").load(settings.table_uri(name)).collect()))
            for name in GOLD}


def _done(stack: AirflowStack, months: int) -> bool:
    runs = stack.query("SELECT dag_id, run_type, state FROM dag_run")
    failed = [r for r in runs if r[2] == "failed"]
    assert not failed, f"failed runs: {failed}; logs in {stack.home}/logs"
    monthly_ok = sum(1 for d, t, s in runs if d == CHAIN[0] and t == "backfill" and s == "success")
    active = [r for r in runs if r[2] in ("queued", "running")]
    pending_assets = stack.query("SELECT count(*) FROM asset_dag_run_queue")[0][0]
    published = sum(1 for d, _, s in runs if d == CHAIN[2] and s == "success")
    return monthly_ok == months and not active and pending_assets == 0 and published >= months


def backfill_month(stack: AirflowStack, month: str, done: int) -> None:
    """One month's backfill, run to its publication (SQLite takes one writer: the CLI goes in between). This
    process's work meanwhile (the full recompute) runs at a lower priority than Airflow's processes."""
    airflow(stack.env, "backfill", "create", "--dag-id", CHAIN[0], "--from-date", f"{month}-01",
            "--to-date", f"{month}-01", "--max-active-runs", "1")
    stack.start()
    try:
        with in_background():
            # Done twice, a few scheduler heartbeats (2 s) apart: no run or asset event was about to appear.
            stack.wait_for(lambda: _done(stack, done) and (time.sleep(5) or _done(stack, done)), timeout=3600,
                           every=5, what=f"the backfill of {month} and the runs it triggered")
    finally:
        stack.stop()


def consumed_by(stack: AirflowStack, source_run_id: str, dag_id: str) -> int:
    """How many asset events emitted by the run ``source_run_id`` were consumed by runs of ``dag_id``."""
    return stack.query(
        "SELECT count(*) FROM asset_event e JOIN dagrun_asset_event d ON d.event_id = e.id "
        "JOIN dag_run r ON r.id = d.dag_run_id WHERE e.source_run_id = ? AND r.dag_id = ?",
        source_run_id, dag_id)[0][0]


@pytest.fixture(scope="module")
def backfilled(spark, tmp_path_factory, local_settings_factory, airflow_db_template):
    """The Airflow lake (December 2023, then January 2024), the gold versions after December, the runs, and
    the lake of one full recompute of the same files (this process's Spark)."""
    tmp = tmp_path_factory.mktemp("backfill")
    generated = tmp / "generated"
    # A year of history before January (the bulk run lands it, as a first delivery would): work contracts
    # start months after their operation, so December and January have persons.
    generate_all(generated, 40, date(2023, 1, 1), date(2024, 1, 1), seed=11, xml_every=0,
                 facilitator_period="month")
    assert to_monthly_folders(generated) > len(MONTHS)
    (generated / "decp" / "broken.json").write_text('{"marches": [ {"id": ', encoding="utf-8")  # quarantined
    airflow_lake, full = local_settings_factory(tmp / "airflow"), local_settings_factory(tmp / "full")
    for settings in (full, airflow_lake):
        shutil.copytree(generated, settings.inbox_path)

    # This process's Spark works while Airflow's processes start and wait (two lakes, no shared table): the
    # history is loaded while the Airflow database is made, the full recompute while the month goes through.
    with ThreadPoolExecutor(1) as spark_thread:
        history = spark_thread.submit(pipeline.run_all, "history", airflow_lake, until=MONTHS[0],
                                      publish_outputs=False)
        stack = AirflowStack(tmp / "airflow_home", OBS_LAKE_URI=airflow_lake.lake_uri,
                             OBS_INBOX_DIR=airflow_lake.inbox_dir, OBS_OUTPUT_DIR=airflow_lake.output_dir,
                             OBS_SCHEDULE_END=f"{MONTHS[-1]}-28", OBS_PUBLISH_PDF="false",
                             # the key the history was pseudonymised with: another key links no one across months
                             OBS_PSEUDONYMIZATION_KEY=airflow_lake.pseudonymization_key).setup(airflow_db_template)
        assert stack.query("SELECT count(*) FROM dag WHERE dag_id IN (?, ?, ?)", *CHAIN)[0][0] == 3
        airflow(stack.env, "dags", "unpause", "--yes", "--treat-dag-id-as-regex", f"^({'|'.join(CHAIN)})$")
        unpaused = stack.query("SELECT dag_id FROM dag WHERE NOT is_paused ORDER BY dag_id")
        assert unpaused == [(d,) for d in sorted(CHAIN)]
        history.result()
        first_month = {name: table_version(spark, airflow_lake, name) for name in GOLD}
        recompute = spark_thread.submit(pipeline.run_all, "full", full.replace(gold_full_recompute=True),
                                        until=MONTHS[-1], publish_outputs=False)
        backfill_month(stack, MONTHS[1], 1)
        recompute.result()
    runs = stack.query("SELECT dag_id, run_type, logical_date, start_date, end_date, run_id FROM dag_run "
                       "ORDER BY start_date")
    return airflow_lake, full, first_month, stack, runs


def test_the_backfilled_month_is_chained_by_assets(backfilled):
    *_, stack, runs = backfilled
    monthly = [r for r in runs if r[0] == CHAIN[0]]
    assert [(r[1], r[2][:7]) for r in monthly] == [("backfill", MONTHS[1])]
    transform = [r for r in runs if r[0] == CHAIN[1]]
    assert transform and all(r[1] == "asset_triggered" for r in transform)
    # What the chain guarantees (not a timing): each month's bronze asset events were consumed by a transform
    # run, which emitted the gold event that a publish run consumed.
    for month in monthly:
        assert consumed_by(stack, month[5], CHAIN[1]), f"no transform consumed the bronze of {month[2]}"
    for run in transform:
        assert consumed_by(stack, run[5], CHAIN[2]), f"no publish consumed the gold of {run[5]}"


def test_every_run_is_reported_balanced_and_the_site_is_published(backfilled):
    airflow_lake, *_ = backfilled
    reports = [json.loads(f.read_text()) for f in (Path(airflow_lake.output_dir) / "runs").glob("*.json")]
    # the history's run, then January's monthly and transform runs
    assert len(reports) == 3 and all(r["balanced"] for r in reports)
    tables = [t for r in reports for t in r["tables"]]
    # broken.json, landed with the history, is quarantined once with its reason; January's run skips it
    assert sum(t["rows_quarantined"] for t in tables if t["table"] == "bronze/decp_marches") == 1
    for name in ("bronze/facilitateurs_heures", "bronze/grand_paris_contrats", "bronze/structures",
                 "bronze/sirene_etablissements", "silver/marches"):
        assert sum(t["rows_written"] for t in tables if t["table"] == name) > 0, name
    assert (Path(airflow_lake.output_dir) / "dashboards" / "index.html").is_file()


def test_monthly_backfill_equals_a_full_recompute(spark, backfilled):
    airflow_lake, full, *_ = backfilled
    got, expected = gold_rows(spark, airflow_lake), gold_rows(spark, full)
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires",
                 "gold/fiches_territoires"):
        assert expected[name], name
    for name in GOLD:
        assert got[name] == expected[name], name


def log_actions(settings, name: str, after: int) -> list[tuple[str, dict]]:
    """The (add | remove, partition values) of every file action in the table's commits after ``after``."""
    log = Path(settings.table_uri(name).removeprefix("file:")) / "_delta_log"
    actions = []
    for commit in sorted(log.glob("*.json")):
        if int(commit.stem) <= after:
            continue
        for line in commit.read_text(encoding="utf-8").splitlines():
            action = json.loads(line)
            actions += [(kind, action[kind]["partitionValues"]) for kind in ("add", "remove") if kind in action]
    return actions


# The second month (January 2024) holds January's DECP and facilitators' exports only: it writes January (and,
# for the hours, the later months its new operations target), never the history's December 2023 / 2023.
PERIOD = {"gold/marches_par_mois_departement": ("mois", "2024-01-01", "2023-12-01"),
          "gold/heures_insertion": ("mois", "2024-01-01", "2023-12-01"),
          **{name: ("annee", "2024", "2023") for name in (
              "gold/beneficiaires", "gold/contrats_insertion_par_type", "gold/marches_clauses",
              "gold/part_marches_consideration_sociale", "gold/fiches_acheteurs", "gold/fiches_territoires",
              "gold/heures_insertion_ept")}}
NO_2023 = {"gold/part_marches_consideration_sociale"}  # 2023 is in the 2019 DECP format: no share


def test_a_monthly_run_rewrites_only_the_gold_partitions_its_data_touches(backfilled):
    airflow_lake, _, first_month, *_ = backfilled
    for name, (column, new, old) in PERIOD.items():
        actions = log_actions(airflow_lake, name, first_month[name])
        assert ("add", {column: new}) in actions, name  # the new month was written...
        assert not [a for a in actions if a[1] == {column: old}], (name, actions)  # ...December was not touched
        if name not in NO_2023:  # the history wrote it
            assert ("add", {column: old}) in log_actions(airflow_lake, name, -1), name
        removed = {v[column] for kind, v in actions if kind == "remove"}
        assert removed <= {v[column] for kind, v in actions if kind == "add"}, name  # rewritten, never dropped
    # contracts of January are counted in January only
    assert {v["mois"] for _, v in log_actions(airflow_lake, "gold/marches_par_mois_departement",
                                              first_month["gold/marches_par_mois_departement"])} == {"2024-01-01"}
