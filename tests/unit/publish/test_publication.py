"""The project's linked set (``jobs.publish.linkage``) and the audit of published files (``jobs.publish.audit``),
on small hand-made tables with the project's policy. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboards.page import CELLS, Figures, render
from jobs.gold import published as gp
from jobs.publish import audit, linkage, opendata, publication
from jobs.publish import secrecy as s

# Hours and persons of 2024 by département × EPT: T12 straddles 91 and 94; HORS_EPT lies in 91 only.
CROSS = pd.DataFrame({"departement": ["91", "91", "94", "94"], "ept": ["HORS_EPT", "T12", "T12", "T10"],
                      "heures_realisees": [400.0, 30.0, 300.0, 250.0], "n_personnes": [40, 3, 30, 25],
                      "part_principal_contributeur": 0.3, "periode": "2024-01/2024-12"})


def frames() -> dict[str, pd.DataFrame]:
    dep = CROSS.groupby("departement", as_index=False)[["heures_realisees", "n_personnes"]].sum()
    dep = pd.concat([dep, pd.DataFrame({"departement": ["TOTAL"], "heures_realisees": [980.0], "n_personnes": [98]})])
    dep = dep.assign(periode="2024", annee=2024, trimestre=0, mois=0, heures_objectif=1000.0,
                     part_principal_contributeur=0.3).reset_index(drop=True)
    ept = CROSS.groupby("ept", as_index=False)[["heures_realisees", "n_personnes"]].sum().assign(
        part_principal_contributeur=0.3, periode="2024-01/2024-12")
    return {gp.HEURES_DEPARTEMENT: dep, gp.HEURES_EPT: ept, gp.HEURES_DEPARTEMENT_EPT: CROSS.copy()}


@pytest.fixture(scope="module")
def policy() -> s.Policy:
    return s.load_policy()


def _row(report: pd.DataFrame, table: str, key: tuple, measure: str) -> pd.Series:
    hit = report[(report["table"] == table) & (report["key"] == key) & (report["measure"] == measure)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_departements_and_straddling_epts_are_one_linked_set(policy):
    true = frames()
    linked = linkage.linked_set(true)
    assert [t.name for t in linked.tables if not t.published] == [gp.HEURES_DEPARTEMENT_EPT]
    # Nothing published is small, yet 91 ∩ T12 (3 persons) follows: hours 430 - 400 = 30 exactly; persons at
    # least 43 - 40 = 3 (distinct: 91 <= its parts, and HORS_EPT's only part is 91 ∩ HORS_EPT).
    shown = {n: f for n, f in true.items() if n != gp.HEURES_DEPARTEMENT_EPT}
    naive = s.audit(true, shown, linked, policy)
    hours = _row(naive, gp.HEURES_DEPARTEMENT_EPT, ("91", "T12"), "heures_realisees")
    assert (hours["lower"], hours["upper"], hours["ok"]) == (30.0, 30.0, False)
    persons = _row(naive, gp.HEURES_DEPARTEMENT_EPT, ("91", "T12"), "n_personnes")
    assert (persons["lower"], persons["upper"], persons["ok"]) == (3.0, 33.0, False)
    assert naive.loc[naive["table"] != gp.HEURES_DEPARTEMENT_EPT, "ok"].all()
    published, _, linked = publication.protect(true, policy)
    assert set(published) == {gp.HEURES_DEPARTEMENT, gp.HEURES_EPT}  # the crossing is never published
    assert published[gp.HEURES_EPT]["secret"].any()
    assert "part_principal_contributeur" not in published[gp.HEURES_EPT].columns
    assert s.audit(true, published, linked, policy)["ok"].all()
    # The targets are public: never hidden.
    assert published[gp.HEURES_DEPARTEMENT]["heures_objectif"].tolist() == [1000.0] * 3


def _publish_files(tmp_path, published: dict[str, pd.DataFrame], page_cells: list[dict]) -> None:
    for name, df in published.items():
        opendata.write_table_files(df, tmp_path / "opendata", name.split("/", 1)[1])
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "page.html").write_text(render("t", "i", [], data={CELLS: page_cells}),
                                                       encoding="utf-8")


def test_audit_reads_the_published_files_back(tmp_path, policy):
    true = frames()
    published, _, linked = publication.protect(true, policy)
    figures = Figures()
    figures.take(published[gp.HEURES_DEPARTEMENT], "heures_departement", ["heures_realisees", "n_personnes"])
    _publish_files(tmp_path, published, figures.cells)
    checked = audit.audit_publication(true, tmp_path, policy, linked)
    assert checked["failed"] == 0 and checked["files"] == 6 and checked["page_figures"] == 6
    assert checked["tables"]["gold/heures_ept"]["rows_secret"] >= 1

    # A page that shows a figure the open data hides is caught, and so is what it gives away.
    ept = published[gp.HEURES_EPT]
    hidden = ept[ept["secret_heures_realisees"]].iloc[0]
    leak = {"table": gp.HEURES_EPT, "cle": {"ept": hidden["ept"]}, "mesure": "heures_realisees",
            "valeur": float(true[gp.HEURES_EPT].set_index("ept").at[hidden["ept"], "heures_realisees"])}
    page = tmp_path / "dashboards" / "page.html"
    page.write_text(render("t", "i", [], data={CELLS: [*figures.cells, leak]}), encoding="utf-8")
    checked = audit.audit_publication(true, tmp_path, policy, linked)
    reasons = {f["reason"] for f in checked["failures"]}
    assert "a page shows a figure the open data hides" in reasons
    assert "interval narrower than the protection" in reasons

    # A CSV that shows it while the Parquet and JSON hide it: the formats disagree, the figure is shown.
    page.write_text(render("t", "i", [], data={CELLS: figures.cells}), encoding="utf-8")
    csv = tmp_path / "opendata" / "heures_ept.csv"
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[table["ept"] == hidden["ept"], "heures_realisees"] = str(leak["valeur"])
    table.to_csv(csv, index=False)
    checked = audit.audit_publication(true, tmp_path, policy, linked)
    assert {f["reason"] for f in checked["failures"]} >= {"1 figure(s) differ between formats",
                                                          "interval narrower than the protection"}


def test_a_page_figure_outside_the_open_data_is_refused(tmp_path, policy):
    true = frames()
    published, _, linked = publication.protect(true, policy)
    unknown = {"table": gp.HEURES_DEPARTEMENT, "cle": {"departement": "93", "periode": "2024"},
               "mesure": "heures_realisees", "valeur": 12.0}
    _publish_files(tmp_path, published, [unknown])
    checked = audit.audit_publication(true, tmp_path, policy, linked)
    assert [f["reason"] for f in checked["failures"]] == ["a page shows a figure the open data does not hold"]
    assert json.dumps(checked)  # the summary goes into the run report as JSON


def test_an_empty_table_published_empty_passes_the_audit(tmp_path, policy):
    """A month without any contract in the 2022 format publishes an empty extended DECP: its JSON is an empty
    array (no columns to read back), which hides nothing (seen in a backfill of December 2023)."""
    true = {name: df.iloc[0:0] for name, df in frames().items()}
    published, _, linked = publication.protect(true, policy)
    _publish_files(tmp_path, published, [])
    assert json.loads((tmp_path / "opendata" / "heures_ept.json").read_text(encoding="utf-8")) == []
    checked = audit.audit_publication(true, tmp_path, policy, linked)
    assert checked["failed"] == 0, checked["failures"]
