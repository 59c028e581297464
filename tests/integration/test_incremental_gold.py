"""Monthly loads give the same gold tables as one full recompute; rerunning a month changes nothing."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from generator.core import generate_all
from jobs import pipeline
from jobs.core.delta_io import table_version

pytestmark = pytest.mark.slow
# Across a new year: the second month must not touch the first month's year.
MONTHS = [date(2023, 12, 1), date(2024, 1, 1)]
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
        if i == 0:
            first_month = {name: table_version(spark, monthly, name) for name in GOLD}
    full = local_settings_factory(tmp / "full").replace(gold_full_recompute=True)
    copy_files([f for files in exports for f in files], generated, full.inbox_path)
    pipeline.run_all("full", full, publish_outputs=False)
    return monthly, full, first_month


def test_monthly_loads_equal_a_full_recompute(spark, monthly_and_full):
    monthly, full, _ = monthly_and_full
    got, expected = gold_rows(spark, monthly), gold_rows(spark, full)
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires",
                 "gold/fiches_territoires"):
        assert got[name], name
    for name in GOLD:
        assert got[name] == expected[name], name


def test_rerunning_a_month_changes_nothing(spark, monthly_and_full):
    monthly, _, _ = monthly_and_full
    before = gold_rows(spark, monthly)
    versions = {name: table_version(spark, monthly, name) for name in GOLD}
    pipeline.run_all("month-again", monthly, publish_outputs=False)
    assert gold_rows(spark, monthly) == before
    # period tables are not even rewritten: no new Delta version
    for name in ("gold/marches_par_mois_departement", "gold/heures_insertion", "gold/beneficiaires"):
        assert table_version(spark, monthly, name) == versions[name], name


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
# for the hours, the later months its new operations target), never the first month's December 2023 / 2023.
DECEMBER_HELD = {"gold/marches_par_mois_departement", "gold/heures_insertion", "gold/marches_clauses",
                 "gold/fiches_acheteurs", "gold/fiches_territoires"}  # (no share: 2023 is in the 2019 format)
PERIOD = {"gold/marches_par_mois_departement": ("mois", "2024-01-01", "2023-12-01"),
          "gold/heures_insertion": ("mois", "2024-01-01", "2023-12-01"),  # targets of December's operations
          **{name: ("annee", "2024", "2023") for name in (
              "gold/beneficiaires", "gold/contrats_insertion_par_type", "gold/marches_clauses",
              "gold/part_marches_consideration_sociale", "gold/fiches_acheteurs", "gold/fiches_territoires",
              "gold/heures_insertion_ept")}}  # December has contracts, no work contract or hours yet


def test_a_monthly_run_rewrites_only_the_gold_partitions_its_data_touches(monthly_and_full):
    monthly, _, first_month = monthly_and_full
    for name, (column, new, old) in PERIOD.items():
        actions = log_actions(monthly, name, first_month[name])
        assert ("add", {column: new}) in actions, name  # the new month was written...
        assert not [a for a in actions if a[1] == {column: old}], (name, actions)  # ...December was not touched
        if name in DECEMBER_HELD:  # the first month wrote it
            assert ("add", {column: old}) in log_actions(monthly, name, -1), name
        removed = {v[column] for kind, v in actions if kind == "remove"}
        assert removed <= {v[column] for kind, v in actions if kind == "add"}, name  # rewritten, never dropped
    # contracts of January are counted in January only
    assert {v["mois"] for _, v in log_actions(monthly, "gold/marches_par_mois_departement",
                                              first_month["gold/marches_par_mois_departement"])} == {"2024-01-01"}
