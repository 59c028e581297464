import json
import re

import pandas as pd

from dashboards.audiences import home
from dashboards.page import render


def gold_frame():
    rows = [
        # mois, departement, consideration, nb, montant
        ("2024-03-01", "93", "CLAUSE_SOCIALE", 2, 300.0),
        ("2024-03-01", "93", "AUCUNE", 1, 50.0),
        ("2024-03-01", "93", "TOUTES", 3, 350.0),
        ("2024-04-01", "75", "INCONNU", 4, 1000.0),
        ("2024-04-01", "75", "TOUTES", 4, 1000.0),
        ("2024-04-01", "35", "TOUTES", 7, 99.0),  # outside IDF: not on the IDF pages
        ("2007-08-01", "75", "TOUTES", 1, 5.0),  # before DECP open data: out of the observatory's period
    ]
    df = pd.DataFrame(rows, columns=["mois", "departement", "consideration_sociale", "nb_marches", "montant_total"])
    df["mois"] = pd.to_datetime(df["mois"]).dt.date
    return df


def test_home_page_is_offline_and_its_figures_match_the_gold_cells():
    gold = {
        "marches_par_mois_departement": gold_frame(),
        "heures_insertion": pd.DataFrame({"heures_realisees": [10.5, 20.0]}),
        "beneficiaires": pd.DataFrame({"annee": [2025, 2025], "dimension": ["ensemble", "sexe"],
                                       "valeur": ["TOTAL", "F"], "n_personnes": [12, 3],
                                       "secret_statistique": [False, True]}),
    }
    page = home(gold, 5, 2025)
    html = render(page.title, page.intro, page.sections, data=page.data)
    assert not re.search(r"(src|href)=\"https?://", html), "the page must not load anything from the network"
    assert html.count('<script src="plotly.min.js">') == 1
    data = json.loads(re.search(r'id="figures-data">(.*?)</script>', html, re.S).group(1))
    assert data["nb_marches_total"] == 7
    assert data["montant_total"] == 1350
    assert data["heures_realisees_total"] == 30  # rounded: hours are shown as whole hours
    assert data["beneficiaires_2025"] == 12
    assert data["nb_marches_par_departement"] == {"75": 4, "93": 3}
    assert 'data-key="nb_marches_total">7</span>' in html


def test_a_missing_rate_is_null_in_the_page_data_not_nan():
    """JSON has no NaN: a browser's JSON.parse refuses it, so a rate without denominator is written null."""
    html = render("t", "i", [], data={"taux_par_annee": {"2025": 0.5, "2026": float("nan")}})
    payload = re.search(r'id="figures-data">(.*?)</script>', html, re.S).group(1)
    assert "NaN" not in payload
    assert json.loads(payload) == {"taux_par_annee": {"2025": 0.5, "2026": None}}
