"""Page building blocks: French number format, rates with their n, periods, sheets (no Spark)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboards.page import SECRET, Figures, fmt, number, rate, svg_bars, table
from dashboards.sheets import Period, person_figures, sheet_figures


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
                                       "n_marches_consideration_sociale"])


def test_sheets_show_contracts_by_quarter_and_persons_by_year_only():
    df = fiches([("93", 2025, 0, 10, 1000.0, 4), ("93", 2025, 1, 3, 300.0, 1), ("93", 2025, 3, 7, 700.0, 3),
                 ("93", 2024, 0, 8, 800.0, 2)])
    fig = sheet_figures(df, "departement", "93", Period(2025))
    assert fig["courant"] == {"n_marches": 10, "montant": 1000.0, "n_marches_consideration_sociale": 4}
    assert fig["precedent"]["n_marches"] == 8
    # Contracts are public: a quarter of 3 contracts is shown; a quarter without a row is a zero.
    assert fig["trimestres"]["T1"]["n_marches"] == 3 and fig["trimestres"]["T2"]["n_marches"] == 0
    hours = pd.DataFrame({"departement": ["93", "93", "75"], "periode": ["2025", "2024", "2025"],
                          "heures_realisees": [900.0, None, 50.0], "n_personnes": [12, None, 9]})
    shown = Figures()
    persons = person_figures(hours, "93", Period(2025, 3), shown)  # a quarter's sheet: its year
    assert persons == {"2025": {"heures_realisees": 900.0, "n_personnes": 12.0},
                       "2024": {"heures_realisees": None, "n_personnes": None}}
    assert [(c["cle"], c["mesure"], c["valeur"]) for c in shown.cells] == [
        ({"departement": "93", "periode": "2025"}, "heures_realisees", 900.0),
        ({"departement": "93", "periode": "2025"}, "n_personnes", 12),
        ({"departement": "93", "periode": "2024"}, "heures_realisees", None),
        ({"departement": "93", "periode": "2024"}, "n_personnes", None)]


def test_missing_figures_never_print_as_text():
    for value in (None, float("nan"), pd.NA, pd.NaT):
        assert fmt(value) == SECRET
    assert number(pd.NA) is None and number(3) == 3.0
    assert rate(0.682, 88) == ('<span class="rate">68,2\u202f% <span class="n">(n = 88)</span></span>')
    assert rate(None, 37, "personnes").startswith('<span class="rate">s <span class="n">(n = 37 personnes)')
    assert "s" in rate(0.5, None) and "None" not in rate(None, None)
    html = table(["a", "b"], [[pd.NA, None], [rate(0.5, 2), "<b>"]])
    assert "<NA>" not in html and "None" not in html and "&lt;b&gt;" in html and '<span class="rate">' in html


def test_svg_chart_marks_suppressed_bars():
    svg = svg_bars("Heures", ["T1", "T2"], [None, 50.0])
    assert svg.count("<rect") == 1 and f">{SECRET}</text>" in svg


def test_chart_labels_stay_readable():
    from dashboards.charts import bars, wrap

    assert wrap("Mise à disposition par une ETTI") == "Mise à<br>disposition par<br>une ETTI"
    few = pd.DataFrame({"x": ["Société des grands projets", "RATP"], "y": [0.2, None]})
    fig = bars(few, "x", "y", None, "t", percent=True)
    assert fig.data[0].orientation == "v" and list(fig.data[0].x) == ["Société des<br>grands projets"]  # RATP: s
    many = pd.DataFrame({"x": [f"GPE ligne {i} (n = {i})" for i in range(11)], "y": range(11)})
    fig = bars(many, "x", "y", None, "t")
    assert fig.data[0].orientation == "h" and fig.layout.height == 34 * 11 + 160  # labels read on the left
