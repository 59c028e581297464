"""The annual statistical report: key figures, evolution, maps, methodology and data quality, for one year."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from dashboards import charts
from dashboards.audiences import IDF, _outcomes_figure, territory_hours, visible
from dashboards.page import Kpi, Section, fmt, render, table
from schemas import referential as ref

METHODOLOGY = (
    "Sources : données essentielles de la commande publique (DECP, formats 2019 et 2022), exports des logiciels "
    "de suivi des facilitateurs (heures, contrats, sorties), marchés et engagements du Grand Paris, registres "
    "des SIAE, EA, ESAT et GEIQ, base SIRENE. Les données sont contrôlées (règles communes, référentiel "
    "commun) ; les lignes rejetées sont mises en quarantaine avec leur motif et comptées ci-dessous.",
    "Heures d'insertion : heures travaillées chaque mois par les personnes éligibles, attribuées au mois "
    "travaillé et au département d'exécution de l'opération. Équivalent temps plein : 1 607 heures par an.",
    "Personnes : comptées une fois par année (et par facilitateur : aucun identifiant commun n'existe). "
    "Sorties : situation observée au moins six mois après la fin du contrat (définitions DGEFP).",
    "Part des marchés avec une considération sociale : en nombre et en montant, parmi les marchés notifiés dans "
    "l'année par un acheteur établi en Île-de-France (SIRENE), d'un montant connu au moins égal au seuil de "
    "publication (25 000 € HT avant 2020, 40 000 € HT depuis), publiés au format 2022 qui renseigne le champ ; "
    "les années antérieures ne sont pas mesurables.",
    "Montants : les montants fictifs (123456789, chiffres répétés) ou hors bornes (moins de 1 €, plus de 15 Md€) "
    "sont exclus des sommes ; le marché reste compté. Les marchés sans département d'exécution (code régional, "
    "national, étranger ou inconnu) sont comptés à part, jamais dans les chiffres de l'Île-de-France.",
    "Secret statistique : toute case concernant moins de personnes que le seuil de diffusion est masquée "
    "(« s »), ainsi qu'une case complémentaire lorsqu'elle permettrait de la retrouver par différence.",
)


def key_figures(gold: dict[str, pd.DataFrame], year: int) -> list[Kpi]:
    marches = gold["marches_par_mois_departement"].copy()
    marches["annee"] = pd.to_datetime(marches["mois"]).dt.year
    totals = marches[(marches["consideration_sociale"] == ref.ALL) & (marches["annee"] == year)
                     & marches["departement"].isin(IDF)]
    apart = marches[(marches["consideration_sociale"] == ref.ALL) & (marches["annee"] == year)
                    & (marches["departement"] == ref.NOT_ALLOCATED)]
    hours = gold["heures_insertion"]
    benef = gold["beneficiaires"]
    total = visible(benef[(benef["dimension"] == "ensemble") & (benef["annee"] == year)], ["n_personnes"])
    # The year's hours are about the year's beneficiaries: shown only when their count is.
    hours_year = float(hours[hours["annee"] == year]["heures_realisees"].sum()) if len(total) and \
        total["n_personnes"].iloc[0] is not None else None
    share = gold["part_marches_consideration_sociale"]
    share = share[(share["annee"] == year) & (share["n_marches"] > 0)]
    sorties = visible(gold["sorties_6_mois"][gold["sorties_6_mois"]["annee"] == year], ["taux_sorties_dynamiques"])
    return [
        Kpi("nb_marches", f"marchés notifiés en {year} (IDF)", int(totals["nb_marches"].sum())),
        Kpi("montant", "euros HT (montants fictifs exclus)", round(float(totals["montant_total"].sum()))),
        Kpi("nb_marches_non_ventiles", "autres marchés sans département d'exécution, comptés à part",
            int(apart["nb_marches"].sum())),
        Kpi("part_consideration_sociale", "des marchés des acheteurs franciliens au-dessus du seuil avec une "
            "considération sociale", float(share["part"].iloc[0]) if len(share) else None, percent=True),
        Kpi("part_montant_consideration_sociale", "de leur montant",
            float(share["part_montant"].iloc[0]) if len(share) and pd.notna(share["part_montant"].iloc[0]) else None,
            percent=True),
        Kpi("heures_realisees", "heures d'insertion réalisées", None if hours_year is None else round(hours_year)),
        Kpi("etp", "équivalents temps plein", None if hours_year is None else round(charts.fte(hours_year), 1),
            decimals=1),
        Kpi("n_personnes", "personnes en parcours",
            int(total["n_personnes"].iloc[0]) if len(total) and total["n_personnes"].iloc[0] is not None else None),
        Kpi("taux_sorties_dynamiques", "de sorties dynamiques six mois après",
            float(sorties["taux_sorties_dynamiques"].iloc[0])
            if len(sorties) and sorties["taux_sorties_dynamiques"].iloc[0] is not None else None, percent=True),
    ]


def quality_section(quality_dir: Path) -> Section:
    """Rows read, kept and quarantined per table, from the latest run's data-quality report."""
    files = sorted(quality_dir.glob("*.json"), key=lambda p: p.stat().st_mtime) if quality_dir.exists() else []
    if not files:
        return Section("Qualité des données", text="Aucun rapport de qualité n'est encore disponible.")
    report = json.loads(files[-1].read_text(encoding="utf-8"))
    rows = [[t["table"], fmt(t["rows_in"]), fmt(t["rows_written"]), fmt(t["rows_quarantined"]),
             fmt(t["rows_quarantined"] / t["rows_in"] if t["rows_in"] else 0.0, percent=True)]
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
    terr = visible(territory_hours(gold, 0), ["heures_realisees"])
    names = {c: n for c, n in ref.departements().items() if c in IDF}
    this_year = terr[terr["annee"] == year].set_index("departement")["heures_realisees"]
    hours_map = charts.departement_map({d: this_year.get(d) for d in IDF},
                                       f"Heures d'insertion réalisées en {year}", "Heures")
    ept = gold["heures_insertion_ept"]
    ept = visible(ept[ept["annee"] == year], ["heures_realisees"])
    ept_map = charts.ept_map(dict(zip(ept["ept"], ept["heures_realisees"], strict=True)),
                             f"Heures d'insertion par territoire du Grand Paris en {year}", "Heures")
    history = terr[terr["annee"] <= year].dropna(subset=["heures_realisees"])
    evolution = charts.bars(history.assign(nom=history["departement"].map(names)), "annee", "heures_realisees", "nom",
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
    sections = [
        Section("Chiffres clés", kpis=key_figures(gold, year)),
        Section("Évolution", figures=[contracts, evolution]),
        Section("Cartes", figures=[hours_map, ept_map,
                                   charts.structures_map(gold.get("structures", pd.DataFrame(
                                       columns=["latitude", "longitude", "famille"])), "Structures d'insertion")]),
        Section("Parcours et sorties", figures=[_outcomes_figure(gold["sorties_6_mois"][
            gold["sorties_6_mois"]["annee"] <= year])]),
        Section("Méthodologie", table_html="".join(f"<p>{escape(p)}</p>" for p in METHODOLOGY)),
        quality_section(quality_dir),
    ]
    html = render(f"Rapport statistique annuel {year} — clauses sociales en Île-de-France",
                  "Observatoire régional des clauses sociales dans la commande publique.", sections,
                  data={"annee": year, "heures_par_departement": {d: this_year.get(d) for d in IDF}}, nav=False)
    path = out_dir / f"rapport-annuel-{year}.html"
    path.write_text(html, encoding="utf-8")
    return path
