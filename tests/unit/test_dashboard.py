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
        # As published: hours of the whole region by year (one secret year), persons by year and profile.
        "heures_departement": pd.DataFrame({"departement": ["TOTAL", "TOTAL", "93"],
                                            "periode": ["2025", "2024", "2025"], "heures_realisees": [30.4, None, 10.5],
                                            "n_personnes": [12, None, 6]}),
        "beneficiaires": pd.DataFrame({"annee": [2025, 2025], "dimension": ["ensemble", "sexe"],
                                       "valeur": ["TOTAL", "F"], "n_personnes": [12, None]}),
    }
    page = home(gold, 5, 2025)
    html = render(page.title, page.intro, page.sections, data=page.data)
    assert not re.search(r"(src|href)=\"https?://", html), "the page must not load anything from the network"
    assert html.count('<script src="plotly.min.js">') == 1
    data = json.loads(re.search(r'id="figures-data">(.*?)</script>', html, re.S).group(1))
    assert data["nb_marches_total"] == 7
    assert data["montant_total"] == 1350
    assert data["heures_realisees_2025"] == 30  # rounded: hours are shown as whole hours
    assert data["beneficiaires_2025"] == 12
    # Every person figure shown is named by its table and key, for the disclosure audit.
    assert data["cellules"] == [
        {"table": "gold/heures_departement", "cle": {"departement": "TOTAL", "periode": "2025"},
         "mesure": "heures_realisees", "valeur": 30.4},
        {"table": "gold/heures_departement", "cle": {"departement": "TOTAL", "periode": "2025"},
         "mesure": "n_personnes", "valeur": 12},
        {"table": "gold/beneficiaires", "cle": {"annee": 2025, "dimension": "ensemble", "valeur": "TOTAL"},
         "mesure": "n_personnes", "valeur": 12}]
    assert "heures_realisees_2024" not in data
    assert data["nb_marches_par_departement"] == {"75": 4, "93": 3}
    assert 'data-key="nb_marches_total">7</span>' in html
