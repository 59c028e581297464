"""One page per audience: the questions each audience asks, answered from the gold tables.

Every function takes the gold tables (``dict`` of pandas frames, small aggregates) and returns the page's
sections and its figures-data; nothing here reads storage. Suppressed cells (``secret_statistique``) are
shown as « s » and left out of charts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards import charts
from dashboards.page import Kpi, Section, fmt, table
from schemas import referential as ref

Gold = dict[str, pd.DataFrame]
IDF = tuple(ref.IDF_DEPARTEMENTS)


@dataclass
class Page:
    file: str
    title: str
    intro: str
    questions: list[str]
    sections: list[Section]
    data: dict


def _dept_names() -> dict[str, str]:
    return {code: name for code, name in ref.departements().items() if code in IDF}


def visible(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy where the columns of suppressed cells are None (so charts skip them and tables show « s »)."""
    out = df.copy()
    if "secret_statistique" in out:
        for c in columns:
            out[c] = out[c].astype(object).where(~out["secret_statistique"].astype(bool), None)
    return out


def _value(df: pd.DataFrame, col: str) -> float:
    return float(df[col].sum()) if len(df) else 0.0


def scope_marches(gold: Gold, departements: tuple[str, ...] = IDF) -> pd.DataFrame:
    """Contracts executed in the given départements (the eight of IDF by default), notified since October
    2018. ``(ref.NOT_ALLOCATED,)`` gives the contracts no département could be derived for, shown apart."""
    df = gold["marches_par_mois_departement"].copy()
    df["mois"] = pd.to_datetime(df["mois"])
    return df[df["departement"].isin(departements) & (df["mois"] >= pd.Timestamp(ref.DECP_START))]


def home(gold: Gold, threshold: int, year: int) -> Page:

    marches = scope_marches(gold)
    totals = marches[marches["consideration_sociale"] == ref.ALL]
    apart = scope_marches(gold, (ref.NOT_ALLOCATED,))
    apart = apart[apart["consideration_sociale"] == ref.ALL]
    hours = gold["heures_insertion"]
    benef = gold["beneficiaires"]
    benef_year = benef[(benef["dimension"] == "ensemble") & (benef["annee"] == year)]
    persons = visible(benef_year, ["n_personnes"])["n_personnes"]
    kpis = [
        Kpi("nb_marches_total", "marchés notifiés depuis octobre 2018 (IDF)", int(totals["nb_marches"].sum())),
        Kpi("montant_total", "euros HT (montants notifiés ou maxima des accords-cadres ; montants fictifs exclus)",
            round(_value(totals, "montant_total"))),
        Kpi("nb_marches_non_ventiles", "autres marchés sans département d'exécution (lieu régional, national, "
            "étranger ou code inconnu), hors des chiffres IDF", int(apart["nb_marches"].sum())),
        Kpi("heures_realisees_total", "heures d'insertion réalisées (suivi des facilitateurs)",
            round(_value(hours, "heures_realisees"))),
        Kpi(f"beneficiaires_{year}", f"personnes en parcours en {year}",
            int(persons.iloc[0]) if len(persons) and persons.iloc[0] is not None else None),
    ]
    by_dept = totals[totals["departement"].isin(IDF)].groupby("departement")["nb_marches"].sum()
    sections = [
        Section("Chiffres clés", kpis=kpis),
        Section("Marchés notifiés", figures=[
            charts.monthly_figure(marches),
            charts.departement_map({d: float(n) for d, n in by_dept.items()}, "Marchés par département d'exécution",
                                   "Marchés"),
        ], text="Les considérations sociales ne sont publiées que depuis le format 2022 des données essentielles "
                "(2024) : avant, elles sont « inconnues », pas « absentes »."),
        Section("Pages par public", table_html=table(
            ["Page", "Pour qui"],
            [[label, who] for label, who in (
                ("Acheteurs publics", "part des marchés avec une considération sociale, heures générées"),
                ("Grand Paris", "suivi de la charte RSE par maître d'ouvrage et opération"),
                ("Élus", "heures et emplois pour le territoire"),
                ("Coordinations départementales", "couverture territoriale, parcours, besoins de formation"),
                ("Partenaires de l'insertion", "présence des structures, parcours"),
                ("Prescripteurs", "besoins de formation, sorties"),
            )])),
    ]
    data = {"nb_marches_par_departement": {d: int(n) for d, n in by_dept.items()}}
    return Page("index.html", "Observatoire des clauses sociales — Île-de-France",
                "Les clauses sociales des marchés publics franciliens : marchés, heures d'insertion, personnes "
                "accompagnées et leurs parcours, depuis octobre 2018.", [], sections, data)


def buyers(gold: Gold, threshold: int, year: int) -> Page:
    share = gold["part_marches_consideration_sociale"].sort_values("annee")
    share = share[share["n_marches"] > 0]  # a year with no contract in the scope has no share (not « s »)
    target = ref.target("PART_MARCHES_CONSIDERATION_SOCIALE")
    both = pd.concat([share.assign(serie="En nombre de marchés", valeur=share["part"]),
                      share.assign(serie="En montant", valeur=share["part_montant"])])
    fig_share = charts.with_target(
        charts.bars(both, "annee", "valeur", "serie",
                    "Part des marchés avec une considération sociale (acheteurs franciliens, au-dessus du seuil)",
                    percent=True, barmode="group", x_title="Année de notification", y_title="Part"),
        target, f"Objectif national {fmt(target, percent=True)}")
    scope_rows = [[str(r.annee), fmt(r.n_marches), fmt(r.part, percent=True), fmt(r.part_montant, percent=True),
                   fmt(r.seuil_eur_ht), fmt(r.n_exclus_acheteur_hors_idf), fmt(r.n_exclus_sous_seuil),
                   fmt(r.n_exclus_montant_inconnu), fmt(r.n_exclus_declaration_absente)] for r in share.itertuples()]
    clauses = gold["marches_clauses"]
    social = clauses[clauses["consideration_sociale"].isin(["CLAUSE_SOCIALE", "CRITERE_SOCIAL", "MARCHE_RESERVE"])]
    by_cat = social.groupby(["annee", "categorie_acheteur"], as_index=False)["n_marches"].sum()
    fig_cat = charts.bars(by_cat, "annee", "n_marches", "categorie_acheteur",
                          "Marchés avec une considération sociale par catégorie d'acheteur",
                          labels={r["code"]: r["label_fr"] for r in ref.code_rows("buyer_categories")} | {
                              ref.UNKNOWN: "Inconnue"}, x_title="Année", y_title="Marchés")
    by_type = social.groupby(["annee", "type_marche"], as_index=False)["n_marches"].sum()
    fig_type = charts.bars(by_type, "annee", "n_marches", "type_marche",
                           "Marchés avec une considération sociale par type de marché",
                           labels=ref.labels("market_types"), x_title="Année", y_title="Marchés")
    yearly = gold["fiches_acheteurs"][gold["fiches_acheteurs"]["trimestre"] == 0]
    fiches = visible(yearly, ["heures_realisees", "n_personnes"])
    names = dict(zip(gold["acheteurs"]["siret"], gold["acheteurs"]["nom"], strict=False)) if "acheteurs" in gold else {}
    top = (yearly.groupby("acheteur_id", as_index=False)
           .agg(n_marches=("n_marches", "sum"), n_cs=("n_marches_consideration_sociale", "sum"))
           .sort_values(["n_marches", "acheteur_id"], ascending=[False, True]).head(15))
    last = fiches[fiches["annee"] == year].set_index("acheteur_id")
    rows = [[names.get(a, a), a, fmt(n), fmt(cs),
             fmt(last["heures_realisees"].get(a)) if a in last.index else "0"] for a, n, cs in
            zip(top["acheteur_id"], top["n_marches"], top["n_cs"], strict=True)]
    data = {"part_consideration_sociale": {int(a): float(p)
                                           for a, p in zip(share["annee"], share["part"], strict=True)},
            "part_montant_consideration_sociale": {int(a): None if pd.isna(p) else float(p) for a, p in
                                                   zip(share["annee"], share["part_montant"], strict=True)}}
    sections = [
        Section("Part des marchés avec une considération sociale", figures=[fig_share],
                text="Périmètre : marchés notifiés dans l'année par un acheteur établi en Île-de-France (commune de "
                     "son établissement dans SIRENE), d'un montant connu au moins égal au seuil de publication des "
                     "données essentielles (25 000 € HT avant 2020, 40 000 € HT depuis), publiés au format 2022 qui "
                     "renseigne le champ ; en nombre et en montant. Les années antérieures ne peuvent pas être "
                     "mesurées (le format 2019 ne le disait pas).",
                table_html=table(["Année", "Marchés dans le périmètre", "Part en nombre", "Part en montant",
                                  "Seuil (€ HT)", "Exclus : acheteur hors IDF", "sous le seuil", "montant exclu",
                                  "champ absent"], scope_rows, numeric={1, 2, 3, 4, 5, 6, 7, 8})),
        Section("Qui achète avec des clauses, et quoi", figures=[fig_cat, fig_type]),
        Section("Acheteurs les plus actifs", table_html=table(
            ["Acheteur", "SIRET", "Marchés", "dont avec considération sociale", f"Heures d'insertion {year}"],
            rows, numeric={2, 3, 4})),
    ]
    return Page("acheteurs.html", "Acheteurs publics",
                "Ce que les acheteurs publics d'Île-de-France inscrivent dans leurs marchés, et ce qui en résulte.",
                ["Quelle part de nos marchés comporte une considération sociale, face à l'objectif national ?",
                 "Quelles catégories d'acheteurs et quels types de marchés portent des clauses ?",
                 "Combien d'heures d'insertion nos marchés ont-ils générées ?"], sections, data)


def grand_paris(gold: Gold, threshold: int, year: int) -> Page:
    charte = gold["charte_grand_paris"].sort_values(["maitre_ouvrage", "operation"])
    shown = visible(charte, ["heures_realisees", "n_personnes", "taux_realisation_objectif", "part_heures_insertion"])
    fig = charts.bars(shown.assign(label=shown["operation"]), "label", "taux_realisation_objectif", "maitre_ouvrage",
                      "Heures d'insertion réalisées / objectif, par opération", percent=True, barmode="group",
                      x_title="Opération", y_title="Taux de réalisation")
    owners = sorted(charte["maitre_ouvrage"].unique())
    charts.dropdown(fig, [("Tous les maîtres d'ouvrage", list(range(len(owners))))]
                    + [(o, [i]) for i, o in enumerate(owners)])
    charts.with_target(fig, 1.0, "Objectif")
    tpe = charte.groupby("maitre_ouvrage", as_index=False)[["montant_tpe_pme", "montant_ht"]].sum()
    tpe["part"] = tpe["montant_tpe_pme"] / tpe["montant_ht"]
    target = ref.target("PART_TPE_PME_GRAND_PARIS")
    fig_tpe = charts.with_target(charts.bars(tpe, "maitre_ouvrage", "part", None, "Part du montant aux TPE/PME",
                                             percent=True, y_title="Part TPE/PME"),
                                 target, f"Engagement {fmt(target, percent=True)}")
    rows = [[r.maitre_ouvrage, r.operation, fmt(r.n_marches), fmt(r.montant_ht), fmt(r.heures_insertion_objectif),
             fmt(r.heures_insertion_objectif_declare), fmt(r.n_marches_objectif_ecart), fmt(r.heures_realisees),
             fmt(r.taux_realisation_objectif, percent=True), fmt(r.part_tpe_pme, percent=True)]
            for r in shown.itertuples()]
    data = {"heures_realisees_par_operation": {
        f"{r.maitre_ouvrage} / {r.operation}": (None if r.heures_realisees is None else float(r.heures_realisees))
        for r in shown.itertuples()}}
    sections = [
        Section("Suivi de la charte par opération", figures=[fig, fig_tpe],
                text="Objectif d'heures d'insertion calculé par l'observatoire : taux de la charte à la date de "
                     "notification (10 % des heures travaillées prévues depuis octobre 2020, 5 % avant) × heures "
                     "travaillées prévues ; l'objectif déclaré par le maître d'ouvrage n'est retenu que lorsque les "
                     "heures travaillées manquent. Engagement de 20 % du montant aux TPE/PME."),
        Section("Tableau de suivi", table_html=table(
            ["Maître d'ouvrage", "Opération", "Marchés", "Montant HT", "Objectif retenu (h)", "Objectif déclaré (h)",
             "Marchés où ils diffèrent", "Réalisé (h)", "Réalisation", "Part TPE/PME"], rows,
            numeric={2, 3, 4, 5, 6, 7, 8, 9})),
    ]
    return Page("grand_paris.html", "Grand Paris — suivi de la charte RSE",
                "Pour les maîtres d'ouvrage du Grand Paris (Société des grands projets, SNCF, RATP, Solideo...).",
                ["Nos opérations atteignent-elles l'objectif d'heures d'insertion de la charte ?",
                 "Quelle part du montant de nos marchés va aux TPE/PME, face à l'engagement de 20 % ?"],
                sections, data)


def territory_hours(gold: Gold, threshold: int) -> pd.DataFrame:
    """Hours and persons per IDF département and year (from the sheets' table, with its own populations)."""
    fiches = gold["fiches_territoires"]
    return fiches[fiches["departement"].isin(IDF) & (fiches["trimestre"] == 0)]


def elected(gold: Gold, threshold: int, year: int) -> Page:
    terr = visible(territory_hours(gold, threshold), ["heures_realisees", "n_personnes"])
    names = _dept_names()
    this_year = terr[terr["annee"] == year].set_index("departement")
    hours_map = {d: this_year["heures_realisees"].get(d) for d in IDF}
    fig_map = charts.departement_map(hours_map, f"Heures d'insertion réalisées en {year}", "Heures")
    ept = gold["heures_insertion_ept"]
    ept = visible(ept[ept["annee"] == year], ["heures_realisees"])
    fig_ept = charts.ept_map(dict(zip(ept["ept"], ept["heures_realisees"], strict=True)),
                             f"Heures d'insertion par territoire de la Métropole du Grand Paris en {year}", "Heures")
    series = terr.dropna(subset=["heures_realisees"]).assign(nom=lambda d: d["departement"].map(names))
    fig_line = charts.bars(series, "annee", "heures_realisees", "nom", "Heures d'insertion réalisées par année",
                           x_title="Année", y_title="Heures", barmode="group")
    depts = sorted(series["nom"].unique())
    charts.dropdown(fig_line, [("Tous les départements", list(range(len(depts))))]
                    + [(n, [i]) for i, n in enumerate(depts)])
    total_hours = float(terr[terr["annee"] == year]["heures_realisees"].dropna().sum())
    kpis = [Kpi(f"heures_{year}", f"heures d'insertion réalisées en {year} (départements publiés)", round(total_hours)),
            Kpi(f"etp_{year}", "équivalents temps plein (1 607 h par an)", round(charts.fte(total_hours), 1),
                decimals=1)]
    data = {"heures_par_departement": {d: (None if v is None else float(v)) for d, v in hours_map.items()},
            "annee": year}
    sections = [
        Section("Ce que les clauses apportent au territoire", kpis=kpis, figures=[fig_map, fig_ept, fig_line],
                text="Heures travaillées par des personnes éloignées de l'emploi au titre des clauses, par "
                     "département et territoire d'exécution des marchés."),
    ]
    return Page("elus.html", "Élus — attractivité et emploi du territoire",
                "Pour les élus : ce que la commande publique de leur territoire produit en emploi.",
                ["Combien d'heures de travail les clauses ont-elles apportées à notre territoire ?",
                 "Combien d'emplois équivalents temps plein cela représente-t-il, et comment cela évolue-t-il ?"],
                sections, data)


def _benef(gold: Gold, dimension: str, list_name: str | None) -> tuple[pd.DataFrame, dict[str, str]]:
    b = gold["beneficiaires"]
    part = visible(b[b["dimension"] == dimension], ["n_personnes"]).dropna(subset=["n_personnes"])
    labels = ref.labels(list_name) if list_name else {}
    return part, labels


def coordinations(gold: Gold, threshold: int, year: int) -> Page:
    hours = gold["heures_insertion"]
    objectives = hours[hours["annee"] == year].groupby("departement")["heures_objectif"].sum()
    cover = visible(territory_hours(gold, threshold), ["heures_realisees"])
    cover = cover[cover["annee"] == year].assign(heures_objectif=lambda d: d["departement"].map(objectives))
    long = pd.concat([cover.assign(serie="Réalisé", heures=cover["heures_realisees"]),
                      cover.assign(serie="Objectif", heures=cover["heures_objectif"])])
    long["nom"] = long["departement"].map(_dept_names())
    fig_cover = charts.bars(long.dropna(subset=["heures"]), "nom", "heures", "serie",
                            f"Heures d'insertion réalisées et objectifs par département en {year}", barmode="group",
                            y_title="Heures")
    contracts = visible(gold["contrats_insertion_par_type"], ["n_contrats"]).dropna(subset=["n_contrats"])
    by_type = contracts.groupby(["annee", "type_contrat"], as_index=False)["n_contrats"].sum()
    fig_types = charts.bars(by_type, "annee", "n_contrats", "type_contrat", "Contrats d'insertion par type",
                            labels=ref.labels("contract_types"), x_title="Année de début", y_title="Contrats")
    diplomas, labels = _benef(gold, "niveau_diplome", "diploma_levels")
    fig_dipl = charts.bars(diplomas, "annee", "n_personnes", "valeur", "Personnes par niveau de diplôme",
                           labels=labels, x_title="Année", y_title="Personnes")
    sorties = gold["sorties_6_mois"]
    data = {"heures_realisees_par_departement": {
        d: (None if v is None else float(v)) for d, v in zip(cover["departement"], cover["heures_realisees"],
                                                              strict=True)}, "annee": year}
    sections = [
        Section("Couverture territoriale", figures=[fig_cover]),
        Section("Parcours des personnes", figures=[fig_types, _outcomes_figure(sorties)]),
        Section("Besoins de formation", figures=[fig_dipl],
                text="Niveau de diplôme à l'entrée en parcours : la part sans diplôme ou infra niveau 3 signale "
                     "les besoins de formation."),
    ]
    return Page("coordinations.html", "Coordinations départementales",
                "Pour les coordinations des clauses sociales : couverture, parcours et besoins de formation.",
                ["Les heures d'insertion couvrent-elles tout le territoire, au regard des objectifs ?",
                 "Par quels contrats passent les personnes, et où en sont-elles six mois après ?",
                 "Quels niveaux de qualification, donc quels besoins de formation ?"], sections, data)


def _outcomes_figure(sorties: pd.DataFrame):
    shown = visible(sorties, ["taux_emploi_durable", "taux_emploi_transition", "taux_sortie_positive"])
    long = pd.concat([shown.assign(serie=label, taux=shown[col]) for col, label in (
        ("taux_emploi_durable", "Emploi durable"), ("taux_emploi_transition", "Emploi de transition"),
        ("taux_sortie_positive", "Sortie positive"))]).dropna(subset=["taux"])
    return charts.bars(long, "annee", "taux", "serie", "Situation six mois après la fin du contrat (sorties "
                       "dynamiques)", percent=True, x_title="Année de fin de contrat",
                       y_title="Part des personnes ayant répondu")


def partners(gold: Gold, threshold: int, year: int) -> Page:
    structures = gold.get("structures", pd.DataFrame(columns=["latitude", "longitude", "famille"]))
    fig_map = charts.structures_map(structures, "Structures d'insertion et du handicap (SIAE, EA, ESAT, GEIQ)")
    incl = gold["structures_inclusion"]
    presence = incl[(incl["indicateur"] == "presence") & incl["departement"].isin(IDF)]
    presence = presence.assign(nom=presence["departement"].map(_dept_names()))
    fig_presence = charts.bars(presence.groupby(["nom", "famille"], as_index=False)["valeur"].sum(), "nom", "valeur",
                               "famille", "Structures par département", y_title="Structures")
    shares = visible(incl[incl["indicateur"].isin(["part_montant_titulaires", "part_heures_employeurs"])], ["valeur"])
    shares = shares.dropna(subset=["valeur", "annee"]).assign(annee=lambda d: d["annee"].astype(int))
    shares = shares[shares["annee"] >= 2018]
    fig_shares = charts.bars(shares, "annee", "valeur", "indicateur", "Part des structures dans les marchés et les "
                             "heures", percent=True, barmode="group", labels={
                                 "part_montant_titulaires": "Part du montant des titulaires",
                                 "part_heures_employeurs": "Part des heures d'insertion"}, x_title="Année")
    contracts = visible(gold["contrats_insertion_par_type"], ["n_contrats"]).dropna(subset=["n_contrats"])
    by_mode = contracts.groupby(["annee", "modalite_realisation"], as_index=False)["n_contrats"].sum()
    fig_mode = charts.bars(by_mode, "annee", "n_contrats", "modalite_realisation",
                           "Contrats d'insertion par mode de réalisation", labels=ref.labels("realisation_modalities"),
                           x_title="Année de début", y_title="Contrats")
    counts = structures.groupby("famille").size().to_dict() if len(structures) else {}
    kpis = [Kpi(f"structures_{f}", f"structures {f}", int(n)) for f, n in sorted(counts.items())]
    data = {"structures_par_famille": {f: int(n) for f, n in counts.items()},
            "structures_sans_coordonnees": int(structures["latitude"].isna().sum()) if len(structures) else 0}
    sections = [
        Section("Présence des structures", kpis=kpis, figures=[fig_map, fig_presence],
                text="Registres publics des SIAE, EA, ESAT et GEIQ ; les structures sans coordonnées ne sont "
                     f"pas sur la carte ({data['structures_sans_coordonnees']})."),
        Section("Place des structures dans les marchés", figures=[fig_shares]),
        Section("Parcours des personnes", figures=[fig_mode]),
    ]
    return Page("partenaires.html", "Partenaires de l'insertion et du handicap",
                "Pour les SIAE, EA, ESAT, GEIQ et leurs réseaux.",
                ["Où sont les structures d'insertion et du handicap ?",
                 "Quelle part des marchés et des heures d'insertion leur revient ?",
                 "Par quels modes de réalisation passent les parcours ?"], sections, data)


def prescribers(gold: Gold, threshold: int, year: int) -> Page:
    presc, presc_labels = _benef(gold, "prescripteur", "prescribers")
    fig_presc = charts.bars(presc, "annee", "n_personnes", "valeur", "Personnes par prescripteur",
                            labels=presc_labels, x_title="Année", y_title="Personnes")
    crit, crit_labels = _benef(gold, "critere", "eligibility_criteria")
    fig_crit = charts.bars(crit, "annee", "n_personnes", "valeur", "Personnes par critère d'éligibilité",
                           labels=crit_labels, barmode="group", x_title="Année", y_title="Personnes")
    dipl, dipl_labels = _benef(gold, "niveau_diplome", "diploma_levels")
    fig_dipl = charts.bars(dipl, "annee", "n_personnes", "valeur", "Personnes par niveau de diplôme",
                           labels=dipl_labels, x_title="Année", y_title="Personnes")
    sorties = gold["sorties_6_mois"].sort_values("annee")
    shown = visible(sorties, ["taux_sorties_dynamiques", "n_sorties", "n_reponses", "taux_reponse"])
    data = {"taux_sorties_dynamiques": {int(a): (None if t is None else float(t))
                                        for a, t in zip(shown["annee"], shown["taux_sorties_dynamiques"], strict=True)}}
    sections = [
        Section("Qui oriente vers les clauses", figures=[fig_presc, fig_crit]),
        Section("Besoins de formation", figures=[fig_dipl]),
        Section("Sorties six mois après", figures=[_outcomes_figure(sorties)],
                table_html=table(["Année de fin", "Sorties", "Réponses", "Taux de réponse",
                                  "Sorties dynamiques (part des réponses)"],
                                 [[a, fmt(n), fmt(r), fmt(tr, percent=True), fmt(t, percent=True)]
                                  for a, n, r, tr, t in zip(shown["annee"], shown["n_sorties"], shown["n_reponses"],
                                                            shown["taux_reponse"], shown["taux_sorties_dynamiques"],
                                                            strict=True)], numeric={1, 2, 3, 4})),
    ]
    return Page("prescripteurs.html", "Prescripteurs",
                "Pour France Travail, les missions locales, Cap emploi, les PLIE et les départements.",
                ["Quels publics orientons-nous vers les clauses, et par quels critères ?",
                 "Quels besoins de formation ?", "Où en sont les personnes six mois après leur contrat ?"],
                sections, data)


PAGES = (home, buyers, grand_paris, elected, coordinations, partners, prescribers)
