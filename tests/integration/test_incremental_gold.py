"""Monthly loads give the same gold tables as one full recompute; rerunning a month changes nothing."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from generator.core import generate_all
from jobs import pipeline
from jobs.core.delta_io import table_version

pytestmark = pytest.mark.slow
MONTHS = [date(2024, 5, 1), date(2024, 6, 1)]
GOLD = ["gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires",
        "gold/contrats_insertion_par_type", "gold/sorties_6_mois", "gold/marches_clauses",
        "gold/part_marches_consideration_sociale", "gold/fiches_acheteurs", "gold/fiches_territoires",
        "gold/charte_grand_paris", "gold/structures_inclusion", "gold/heures_insertion_ept"]


def copy_files(files, root, inbox):
    for f in files:
        target = inbox / f.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def gold_rows(spark, settings):
    return {name: sorted(map(repr, spark.read.format("delta").load(settings.table_uri(name)).collect()))
            for name in GOLD}


def monthly_exports(root, months):
    """The files of each month: DECP and facilitators' exports of that month; registers, SIRENE and Grand
    Paris lists come with the first month."""
    out = []
    for i, month in enumerate(months):
        tag = f"{month:%Y-%m}"
        files = [f for f in root.rglob("*") if f.is_file() and (tag in f.name or (
            i == 0 and f.parent.name in ("structures", "sirene", "grand_paris")))]
        out.append(files)
    return out


@pytest.fixture(scope="module")
def monthly_and_full(spark, tmp_path_factory, local_settings_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    generated = tmp / "generated"
    generate_all(generated, 120, MONTHS[0], MONTHS[-1], seed=100, xml_every=0, facilitator_period="month")
    exports = monthly_exports(generated, MONTHS)
    assert all(exports) and sum(map(len, exports)) == sum(1 for f in generated.rglob("*") if f.is_file())
    monthly = local_settings_factory(tmp / "monthly")
    for i, files in enumerate(exports):
        copy_files(files, generated, monthly.inbox_path)
        pipeline.run_all(f"month-{i}", monthly, publish_outputs=False)
    full = local_settings_factory(tmp / "full").replace(gold_full_recompute=True)
    copy_files([f for files in exports for f in files], generated, full.inbox_path)
    pipeline.run_all("full", full, publish_outputs=False)
    return monthly, full


def test_monthly_loads_equal_a_full_recompute(spark, monthly_and_full):
    monthly, full = monthly_and_full
    got, expected = gold_rows(spark, monthly), gold_rows(spark, full)
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires",
                 "gold/fiches_territoires"):
        assert got[name], name
    for name in GOLD:
        assert got[name] == expected[name], name


def test_rerunning_a_month_changes_nothing(spark, monthly_and_full):
    monthly, _ = monthly_and_full
    before = gold_rows(spark, monthly)
    versions = {name: table_version(spark, monthly, name) for name in GOLD}
    pipeline.run_all("month-again", monthly, publish_outputs=False)
    assert gold_rows(spark, monthly) == before
    # period tables are not even rewritten: no new Delta version
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires"):
        assert table_version(spark, monthly, name) == versions[name], name
