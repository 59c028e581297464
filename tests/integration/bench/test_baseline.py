"""The benchmark's DuckDB baseline gives the same figures as the pipeline's gold tables (issue 8).

A small generated dataset with every kind of dirt at high rates (so the rules the SQL re-implements are
exercised), loaded by the pipeline as the benchmark loads it, then computed by ``bench/sql/*.sql``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.baseline import compare, gold_frames, run_baseline
from bench.monitor import Sampler
from bench.run import STAGES, run_pipeline
from generator.core import FacilitatorDirt, generate_all
from generator.decp import DirtRates

pytestmark = pytest.mark.slow
DIRTY = DirtRates(republication=0.08, titulaire_shapes=0.08, invalid_siret=0.05, absurd_amount=0.04, bad_date=0.04,
                  enum_variants=0.08, duration_nc=0.04, combined_considerations=0.05, flattened_keys=0.05,
                  cpv_check_digit=0.1)
DIRTY_FACILITATORS = FacilitatorDirt(negative_hours=0.03, hours_outside_contract=0.03, unknown_modality_label=0.05,
                                     invalid_siret=0.05)


def test_baseline_equals_gold(spark, local_settings):
    inbox = Path(local_settings.inbox_dir)
    # 2023 months are written in the 2019 format, 2024 ones in the 2022 format; every 6th month is XML.
    summary = generate_all(inbox, 200, date(2023, 7, 1), date(2024, 6, 1), seed=7, decp_dirt=DIRTY,
                           facilitator_dirt=DIRTY_FACILITATORS)
    assert any(f.endswith(".xml") for f in summary.files)
    sampler = Sampler()
    try:
        measured = run_pipeline(local_settings, "test_bench", sampler)
    finally:
        sampler.stop()
    assert all(measured[s]["wall_s"] > 0 and measured[s]["cpu_s"] >= 0 for s in STAGES)
    assert measured["total"]["peak_rss_mib"] > 100  # Python + the JVM

    baseline = run_baseline(inbox, Path(local_settings.output_dir) / "duckdb", datetime.now(UTC).date())
    gold = gold_frames(spark, local_settings, sorted(baseline.tables))
    results = {t: compare(baseline.tables[t], gold[t], t) for t in baseline.tables}
    assert {t: r for t, r in results.items() if not r["equal"]} == {}
    marches = baseline.tables["marches_par_mois_departement"]
    toutes = marches[marches["consideration_sociale"] == "TOUTES"]["nb_marches"].sum()
    # Dirt was refused and republications counted once: fewer contracts than records, but most of them.
    assert 0.7 * summary.contracts < toutes < summary.contracts
    assert set(marches["consideration_sociale"]) >= {"TOUTES", "INCONNU", "CLAUSE_SOCIALE", "AUCUNE"}
    hours = baseline.tables["heures_insertion_par_mois"]["heures_realisees"].sum()
    assert hours > 0 and abs(hours - summary.hours_total) > 1  # negative and out-of-contract hours were refused
