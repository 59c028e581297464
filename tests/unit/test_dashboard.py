import json
import re

import pandas as pd

from dashboards.site import build_site


def gold_frame():
    rows = [
        # mois, departement, consideration, nb, montant
        ("2024-03-01", "93", "CLAUSE_SOCIALE", 2, 300.0),
        ("2024-03-01", "93", "AUCUNE", 1, 50.0),
        ("2024-03-01", "93", "TOUTES", 3, 350.0),
        ("2024-04-01", "75", "INCONNUE", 4, 1000.0),
        ("2024-04-01", "75", "TOUTES", 4, 1000.0),
        ("2024-04-01", "35", "TOUTES", 7, 99.0),  # outside IDF: not on the IDF pages
        ("2007-08-01", "75", "TOUTES", 1, 5.0),  # before DECP open data: out of the observatory's period
    ]
    df = pd.DataFrame(rows, columns=["mois", "departement", "consideration_sociale", "nb_marches", "montant_total"])
    df["mois"] = pd.to_datetime(df["mois"]).dt.date
    return df


def test_site_is_offline_and_its_figures_match_the_gold_cells(tmp_path):
    files = build_site(gold_frame(), tmp_path)
    assert sorted(p.name for p in files) == ["index.html", "plotly.min.js"]
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?://", page), "the page must not load anything from the network"
    assert page.count('<script src="plotly.min.js">') == 1 and "plotly.min.js" in page
    data = json.loads(re.search(r'id="figures-data">(.*?)</script>', page, re.S).group(1))
    assert data["nb_marches_total"] == 7
    assert data["montant_total"] == 1350.0
    assert data["nb_marches_par_departement"] == {"75": 4, "93": 3}
    assert "<p>7 marchés publics exécutés en Île-de-France" in page
