"""Page building blocks: French number format, periods, suppression in sheets (no Spark)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboards.page import SECRET, fmt, svg_bars
from dashboards.sheets import Period, sheet_figures
from jobs.gold.indicators import FICHES_TERRITOIRES
from jobs.publish import disclosure
from jobs.publish.opendata import GOLD_SPECS


def test_french_number_format_and_suppressed_values():
    assert fmt(1234567) == "1\u202f234\u202f567"
    assert fmt(84.6, decimals=1) == "84,6"
    assert fmt(0.305, percent=True) == "30,5\u202f%"
    assert fmt(None) == SECRET and fmt(float("nan")) == SECRET


def test_periods():
    assert Period.parse("2025") == Period(2025) and Period.parse("2025-T3") == Period(2025, 3)
    assert Period.parse("2025-T3").previous == Period(2024, 3)
    assert Period.last_complete(pd.Timestamp("2026-11-28")) == Period(2025)
    assert Period.last_complete(pd.Timestamp("2026-11-28"), quarter=True) == Period(2026, 3)
    assert Period.last_complete(pd.Timestamp("2026-02-01"), quarter=True) == Period(2025, 4)
    with pytest.raises(ValueError, match=r"YYYY or YYYY-T1\.\.T4"):
        Period.parse("2025-Q5")


def fiches(rows):
    return pd.DataFrame(rows, columns=["departement", "annee", "trimestre", "n_marches", "montant",
                                       "n_marches_consideration_sociale", "heures_realisees", "n_personnes",
                                       "secret_statistique"])


def test_yearly_sheet_cannot_be_subtracted_back_to_a_small_quarter():
    df = fiches([
        ("93", 2025, 0, 10, 1000.0, 0, 900.0, 12, False),
        ("93", 2025, 1, 0, 0.0, 0, 100.0, 2, True),   # 2 persons: suppressed
        ("93", 2025, 2, 0, 0.0, 0, 200.0, 6, False),  # fewest persons of the other quarters: suppressed with it
        ("93", 2025, 3, 5, 500.0, 0, 300.0, 7, False),
        ("93", 2025, 4, 5, 500.0, 0, 300.0, 8, False),
        ("93", 2024, 0, 8, 800.0, 0, 500.0, 9, False),
    ])
    protected = disclosure.suppress(df, GOLD_SPECS[FICHES_TERRITOIRES], 5)
    protected["secret_statistique"] = protected[disclosure.SECRET]
    fig = sheet_figures(protected, "departement", "93", Period(2025))
    assert fig["courant"]["heures_realisees"] == 900.0 and fig["precedent"]["n_personnes"] == 9
    quarters = fig["trimestres"]
    assert quarters["T1"]["heures_realisees"] is None and quarters["T2"]["heures_realisees"] is None
    shown = [q["heures_realisees"] for q in quarters.values() if q["heures_realisees"] is not None]
    assert shown == [300.0, 300.0]  # 900 - 600 = 300 cannot be split back into T1 and T2
    assert quarters["T3"]["n_marches"] == 5 and quarters["T3"]["n_personnes"] == 7


def test_svg_chart_marks_suppressed_bars():
    svg = svg_bars("Heures", ["T1", "T2"], [None, 50.0])
    assert svg.count("<rect") == 1 and f">{SECRET}</text>" in svg
