"""A transform stage runs again only when something it reads changed (``jobs/core/stage_state.py``): stub stages
over a local lake whose Delta logs are written by hand (no JVM)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from jobs import pipeline
from jobs.core.stage_state import versions
from tests.conftest import local_settings_at


def commit(settings, table: str, version: int) -> None:
    log = Path(settings.lake_uri) / table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text("{}\n", encoding="utf-8")


class Stage:
    """A stub stage writing one new version of its table per run, counting its runs."""

    def __init__(self, settings, table: str):
        self.settings, self.table, self.runs = settings, table, 0

    def __call__(self, ctx) -> dict:
        self.runs += 1
        commit(self.settings, self.table, self.runs)
        return {"tables": [{"table": self.table, "rows_in": 3, "rows_written": 2, "rows_quarantined": 1}]}


def test_versions_are_the_last_commit_of_each_table():
    uris = ["/l/silver/marches/_delta_log/00000000000000000000.json",
            "/l/silver/marches/_delta_log/00000000000000000002.json",
            "/l/silver/marches/_delta_log/00000000000000000002.checkpoint.parquet",
            "/l/silver/marches/part-0.parquet", "/l/gold/x/_delta_log/00000000000000000000.crc"]
    assert versions(uris, "/l") == {"silver/marches": 2}


def test_a_stage_runs_again_only_when_what_it_reads_changed(tmp_path, now):
    settings = local_settings_at(tmp_path)
    commit(settings, "bronze/decp_marches", 0)
    silver, gold = Stage(settings, "silver/marches"), Stage(settings, "gold/marches_par_mois_departement")

    def run(stage, name, run_id, when=now, s=settings):
        return pipeline._locked(pipeline._ctx(run_id, s, when), name, stage)

    first = run(silver, "silver_marches", "r1")
    assert silver.runs == 1 and "skipped" not in first
    again = run(silver, "silver_marches", "r2")
    assert silver.runs == 1  # nothing changed: the last report, marked
    assert again["skipped"] == "inputs unchanged since run r1"
    assert again["tables"] == [{"table": "silver/marches", "rows_in": 3, "rows_written": 2, "rows_quarantined": 1}]

    run(gold, "gold_marches", "r2")  # a later stage's table is not an input of silver
    run(silver, "silver_marches", "r3")
    assert (silver.runs, gold.runs) == (1, 1)
    run(gold, "gold_marches", "r3")
    assert gold.runs == 1

    commit(settings, "bronze/decp_marches", 1)  # new bronze rows: both run again
    run(silver, "silver_marches", "r4")
    run(gold, "gold_marches", "r4")
    assert (silver.runs, gold.runs) == (2, 2)

    commit(settings, "silver/marches", 7)  # its own table changed by someone else (OPTIMIZE, a restore)
    run(silver, "silver_marches", "r5")
    assert silver.runs == 3
    run(silver, "silver_marches", "r6", when=now + timedelta(days=1))  # rules depend on the day
    assert silver.runs == 4
    run(silver, "silver_marches", "r7", s=settings.replace(outcome_months=7))  # another setting
    assert silver.runs == 5
    run(silver, "silver_marches", "r8", s=settings.replace(gold_full_recompute=True))  # a full rebuild
    assert silver.runs == 6
    commit(settings, "quarantine/new_table", 0)  # a table that was not there
    run(silver, "silver_marches", "r9")
    assert silver.runs == 7
    run(silver, "silver_marches", "r10")
    assert silver.runs == 7


def test_another_key_runs_the_stage_again(tmp_path, now):
    settings = local_settings_at(tmp_path)
    silver = Stage(settings, "silver/marches")
    pipeline._locked(pipeline._ctx("r1", settings, now), "silver_marches", silver)
    pipeline._locked(pipeline._ctx("r2", settings.replace(pseudonymization_key="test-other"), now),
                     "silver_marches", silver)
    assert silver.runs == 2


def test_bronze_stages_are_never_skipped(tmp_path, now):
    settings = local_settings_at(tmp_path)
    bronze = Stage(settings, "bronze/structures")
    for run_id in ("r1", "r2"):
        pipeline._locked(pipeline._ctx(run_id, settings, now), "bronze_structures", bronze)
    assert bronze.runs == 2


def test_a_new_generated_key_runs_the_stage_again(tmp_path, now):
    """A local lake without a configured key uses the key it generated (``_local/``): replacing it reruns."""
    settings = local_settings_at(tmp_path).replace(pseudonymization_key="")
    silver = Stage(settings, "silver/marches")
    key = Path(settings.lake_uri) / "_local" / "pseudonymization.key"
    key.parent.mkdir(parents=True)
    key.write_text("aa" * 32, encoding="utf-8")
    for run_id in ("r1", "r2"):
        pipeline._locked(pipeline._ctx(run_id, settings, now), "silver_marches", silver)
    assert silver.runs == 1
    key.write_text("bb" * 32, encoding="utf-8")
    pipeline._locked(pipeline._ctx("r3", settings, now), "silver_marches", silver)
    assert silver.runs == 2
