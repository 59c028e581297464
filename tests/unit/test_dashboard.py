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
        ("2024-04-01", "NON_VENTILE", "TOUTES", 2, 40.0),  # no département: shown apart, not in IDF figures
        ("2024-04-01", "NON_VENTILE", "INCONNU", 2, 40.0),
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
    assert data["nb_marches_non_ventiles"] == 2
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


def test_a_missing_rate_is_null_in_the_page_data_not_nan():
    """JSON has no NaN: a browser's JSON.parse refuses it, so a rate without denominator is written null."""
    html = render("t", "i", [], data={"taux_par_annee": {"2025": 0.5, "2026": float("nan")}})
    payload = re.search(r'id="figures-data">(.*?)</script>', html, re.S).group(1)
    assert "NaN" not in payload
    assert json.loads(payload) == {"taux_par_annee": {"2025": 0.5, "2026": None}}


def test_buyers_page_shows_the_share_by_number_and_amount_with_its_scope():
    from dashboards.audiences import buyers

    share = pd.DataFrame({"annee": [2022, 2024, 2025], "n_marches": [0, 10, 20],
                          "n_marches_consideration_sociale": [0, 3, 8], "part": [None, 0.3, 0.4],
                          "montant": [0.0, 1e6, 2e6], "montant_consideration_sociale": [0.0, 5e5, 5e5],
                          "part_montant": [None, 0.5, 0.25], "objectif_national": [0.3] * 3, "seuil_eur_ht": [4e4] * 3,
                          "n_exclus_declaration_absente": [0, 0, 1], "n_exclus_acheteur_hors_idf": [1, 4, 2],
                          "n_exclus_montant_inconnu": [0, 1, 0], "n_exclus_sous_seuil": [0, 6, 9],
                          "secret_statistique": [False] * 3})
    clauses = pd.DataFrame({"annee": [2025], "type_marche": ["TRAVAUX"], "categorie_acheteur": ["COMMUNE"],
                            "consideration_sociale": ["CLAUSE_SOCIALE"], "n_marches": [8]})
    fiches = pd.DataFrame({"acheteur_id": ["B1"], "annee": [2025], "trimestre": [0], "n_marches": [20],
                           "n_marches_consideration_sociale": [8], "heures_realisees": [100.0], "n_personnes": [6],
                           "secret_statistique": [False]})
    page = buyers({"part_marches_consideration_sociale": share, "marches_clauses": clauses,
                   "fiches_acheteurs": fiches}, 5, 2025)
    assert page.data["part_consideration_sociale"] == {2024: 0.3, 2025: 0.4}  # 2022: nothing in the scope
    assert page.data["part_montant_consideration_sociale"] == {2024: 0.5, 2025: 0.25}
    html = render(page.title, page.intro, page.sections, data=page.data)
    assert "acheteur établi en Île-de-France" in html and "40 000 € HT" in html
    assert "Exclus : acheteur hors IDF" in html


def test_grand_paris_page_shows_the_charter_and_the_declared_objectives():
    from dashboards.audiences import grand_paris

    keys = {"maitre_ouvrage": ["SGP"], "operation": ["Ligne 15"], "programme": ["GPE"]}
    charte = pd.DataFrame({**keys, "n_marches": [4], "montant_ht": [2e6], "heures_insertion_objectif": [900.0],
                           "heures_insertion_objectif_declare": [950.0], "n_marches_objectif_ecart": [2],
                           "montant_tpe_pme": [4.5e5], "part_tpe_pme": [0.225]})
    hours = pd.DataFrame({**keys, "heures_realisees": [450.0], "n_personnes": [7], "taux_realisation_objectif": [0.5]})
    page = grand_paris({"charte_grand_paris": charte, "heures_charte": hours}, 5, 2025)
    html = render(page.title, page.intro, page.sections, data=page.data)
    assert "Objectif retenu (h)" in html and "Objectif déclaré (h)" in html and "950" in html
    # the rate of realisation (450 h of 900) with the persons it is about
    assert '<span class="rate">50,0\u202f% <span class="n">(n = 7 personnes)</span></span>' in html
