"""The annual statistical report: key figures, evolution, maps, methodology and data quality, for one year."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from dashboards import charts
from dashboards.audiences import (
    GRAINS,
    IDF,
    OUTCOME_FIGURES,
    _one,
    _outcomes_figure,
    _outcomes_table,
    _span,
    departement_years,
    hours_year,
    persons_year,
)
from dashboards.page import CELLS, Figures, Kpi, Section, fmt, number, rate, render, table
from schemas import referential as ref

METHODOLOGY = (
    "Sources : données essentielles de la commande publique (DECP, formats 2019 et 2022), exports des logiciels "
    "de suivi des facilitateurs (heures, contrats, sorties), marchés et engagements du Grand Paris, registres "
    "des SIAE, EA, ESAT et GEIQ, base SIRENE. Les données sont contrôlées (règles communes, référentiel "
    "commun) ; les lignes rejetées sont mises en quarantaine avec leur motif et comptées ci-dessous.",
    "Heures d'insertion : heures travaillées chaque mois par les personnes éligibles, attribuées au mois "
    "travaillé et au département d'exécution de l'opération. Équivalent temps plein : 1 607 heures par an.",
    "Personnes : comptées une fois par année, même suivies par plusieurs facilitateurs (rapprochées par une clé "
    "chiffrée du nom, du prénom et de la date de naissance). Sorties : situation observée de cinq à neuf mois "
    "après la fin du contrat, la plus proche de six mois (définitions DGEFP).",
    "Part des marchés avec une considération sociale : en nombre et en montant, parmi les marchés notifiés dans "
    "l'année par un acheteur établi en Île-de-France (SIRENE), d'un montant connu au moins égal au seuil de "
    "publication (25 000 € HT avant 2020, 40 000 € HT depuis), publiés au format 2022 qui renseigne le champ ; "
    "les années antérieures ne sont pas mesurables.",
    "Montants : les montants fictifs (123456789, chiffres répétés) ou hors bornes (moins de 1 €, plus de 15 Md€) "
    "sont exclus des sommes ; le marché reste compté. Les marchés sans département d'exécution (code régional, "
    "national, étranger ou inconnu) sont comptés à part, jamais dans les chiffres de l'Île-de-France.",
    "Secret statistique (règles : docs/disclosure.md) : une donnée concernant moins de cinq personnes, ou dont "
    "une personne ou un employeur fait plus de 85 % des heures, est masquée (« s ») ; d'autres données le sont "
    "aussi lorsqu'elles permettraient de la retrouver, par différence, à partir de l'ensemble des chiffres publiés "
    "(tableaux du site, fiches, rapport et données ouvertes, contrôlés ensemble). Les marchés (DECP, données "
    "publiques) ne sont jamais masqués. Chaque taux est donné avec son effectif (n).",
    GRAINS,
)


def key_figures(gold: dict[str, pd.DataFrame], year: int, shown: Figures) -> list[Kpi]:
    marches = gold["marches_par_mois_departement"].copy()
    marches["annee"] = pd.to_datetime(marches["mois"]).dt.year
    totals = marches[(marches["consideration_sociale"] == ref.ALL) & (marches["annee"] == year)
                     & marches["departement"].isin(IDF)]
    apart = marches[(marches["consideration_sociale"] == ref.ALL) & (marches["annee"] == year)
                    & (marches["departement"] == ref.NOT_ALLOCATED)]
    hours = _one(hours_year(gold, year, shown), "heures_realisees")
    share = gold["part_marches_consideration_sociale"]
    share = share[(share["annee"] == year) & (share["n_marches"] > 0)]
    sorties = gold["sorties_6_mois"]
    sorties = shown.take(sorties[sorties["annee"] == year], "sorties_6_mois",
                         ["taux_sorties_dynamiques", "n_reponses"])
    return [
        Kpi("nb_marches", f"marchés notifiés en {year} (IDF)", int(totals["nb_marches"].sum())),
        Kpi("montant", "euros HT (montants fictifs exclus)", round(float(totals["montant_total"].sum()))),
        Kpi("nb_marches_non_ventiles", "autres marchés sans département d'exécution, comptés à part",
            int(apart["nb_marches"].sum())),
        Kpi("part_consideration_sociale", "des marchés des acheteurs franciliens au-dessus du seuil avec une "
            "considération sociale", _one(share, "part"), percent=True, n=_one(share, "n_marches"), n_unit="marchés"),
        Kpi("part_montant_consideration_sociale", "de leur montant", _one(share, "part_montant"), percent=True),
        Kpi("heures_realisees", "heures d'insertion réalisées", None if hours is None else round(hours)),
        Kpi("etp", "équivalents temps plein", None if hours is None else round(charts.fte(hours), 1), decimals=1),
        Kpi("n_personnes", "personnes en parcours", persons_year(gold, year, shown)),
        Kpi("taux_sorties_dynamiques", "de sorties dynamiques six mois après", _one(sorties, "taux_sorties_dynamiques"),
            percent=True, n=_one(sorties, "n_reponses"), n_unit="réponses"),
    ]


def quality_section(quality_dir: Path) -> Section:
    """Rows read, kept and quarantined per table, from the latest run's data-quality report."""
    files = sorted(quality_dir.glob("*.json"), key=lambda p: p.stat().st_mtime) if quality_dir.exists() else []
    if not files:
        return Section("Qualité des données", text="Aucun rapport de qualité n'est encore disponible.")
    report = json.loads(files[-1].read_text(encoding="utf-8"))
    rows = [[t["table"], fmt(t["rows_in"]), fmt(t["rows_written"]), fmt(t["rows_quarantined"]),
             rate(t["rows_quarantined"] / t["rows_in"] if t["rows_in"] else 0.0, t["rows_in"], "lignes")]
            for t in report["tables"] if not t["table"].startswith("gold/")]
    rules: dict[str, int] = {}
    for t in report["tables"]:
        for rule, n in (t.get("quarantine_by_rule") or {}).items():
            rules[rule] = rules.get(rule, 0) + n
    top = sorted(rules.items(), key=lambda kv: -kv[1])[:12]
    return Section("Qualité des données", text=f"Chargement de référence : {report['run_id']}. Chaque ligne reçue "
                   "est soit chargée, soit mise en quarantaine avec son motif.",
                   table_html=table(["Table", "Lignes reçues", "Chargées", "En quarantaine", "Taux"], rows,
                                    numeric={1, 2, 3, 4})
                   + table(["Règle de contrôle", "Lignes en quarantaine"], [[r, fmt(n)] for r, n in top],
                           numeric={1}))


def build_report(gold: dict[str, pd.DataFrame], year: int, out_dir: Path, quality_dir: Path) -> Path:
    shown = Figures()
    terr = shown.take(departement_years(gold, year), "heures_departement", ["heures_realisees"])
    names = {c: n for c, n in ref.departements().items() if c in IDF}
    this_year = terr[terr["annee"] == year].set_index("departement")["heures_realisees"]
    by_dept = {d: number(this_year.get(d)) for d in IDF}
    hours_map = charts.departement_map(by_dept, f"Heures d'insertion réalisées en {year}", "Heures")
    ept = shown.take(gold["heures_ept"], "heures_ept", ["heures_realisees"])
    ept_map = charts.ept_map({e: number(v) for e, v in zip(ept["ept"], ept["heures_realisees"], strict=True)},
                             f"Heures d'insertion par territoire du Grand Paris, {_span(gold, 'heures_ept')}",
                             "Heures")
    evolution = charts.bars(terr.assign(nom=terr["departement"].map(names)), "annee", "heures_realisees", "nom",
                            "Heures d'insertion réalisées par année et département", x_title="Année", y_title="Heures")
    marches = gold["marches_par_mois_departement"].copy()
    marches["annee"] = pd.to_datetime(marches["mois"]).dt.year
    marches = marches[(marches["annee"] <= year) & (marches["annee"] >= 2018)
                      & marches["departement"].isin(IDF)
                      & (marches["consideration_sociale"] != ref.ALL)]
    by_year = marches.groupby(["annee", "consideration_sociale"], as_index=False)["nb_marches"].sum()
    labels = {cat: label for cat, label in ref.social_consideration_categories().values()}
    contracts = charts.bars(by_year, "annee", "nb_marches", "consideration_sociale",
                            "Marchés notifiés par année et considération sociale", labels=labels, x_title="Année",
                            y_title="Marchés")
    sorties = gold["sorties_6_mois"]
    sorties = shown.take(sorties[sorties["annee"] <= year].sort_values("annee"), "sorties_6_mois", OUTCOME_FIGURES)
    sections = [
        Section("Chiffres clés", kpis=key_figures(gold, year, shown)),
        Section("Évolution", figures=[contracts, evolution],
                text="Les données couvertes par le secret statistique (« s ») ne figurent pas sur les graphiques."),
        Section("Cartes", figures=[hours_map, ept_map,
                                   charts.structures_map(gold.get("structures", pd.DataFrame(
                                       columns=["latitude", "longitude", "famille"])), "Structures d'insertion")]),
        Section("Parcours et sorties", figures=[_outcomes_figure(sorties)], table_html=_outcomes_table(sorties)),
        Section("Méthodologie", table_html="".join(f"<p>{escape(p)}</p>" for p in METHODOLOGY)),
        quality_section(quality_dir),
    ]
    html = render(f"Rapport statistique annuel {year} — clauses sociales en Île-de-France",
                  "Observatoire régional des clauses sociales dans la commande publique.", sections,
                  data={"annee": year, "heures_par_departement": by_dept, CELLS: shown.cells}, nav=False)
    path = out_dir / f"rapport-annuel-{year}.html"
    path.write_text(html, encoding="utf-8")
    return path
