"""One page per audience: the questions each audience asks, answered from the published tables.

Every function takes the tables as published (``dict`` of pandas frames, already protected by the disclosure
control: a secret figure is null) and returns the page's sections and its figures-data; nothing here reads
storage. A secret figure is shown as « s » in tables and left out of charts (the page says so); each person
figure a page shows is recorded in its figures-data (``Figures``), where the disclosure audit checks it
against the open data. Rates are shown with their denominator (n).

Grains (the disclosure policy's, ``docs/disclosure.md``): hours and persons by département and year, for the
whole region by year, quarter and month; by EPT and by legal modality since the first month of hours; never
by buyer (too few persons per buyer).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards import charts
from dashboards.page import CELLS, Figures, Html, Kpi, Section, fmt, number, rate, table
from schemas import referential as ref

Gold = dict[str, pd.DataFrame]
IDF = tuple(ref.IDF_DEPARTEMENTS)
TOTAL = ref.TOTAL
LEFT_OUT = "Les données couvertes par le secret statistique (« s ») ne figurent pas sur le graphique."


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


def _value(df: pd.DataFrame, col: str) -> float:
    return float(df[col].sum()) if len(df) else 0.0


def _one(df: pd.DataFrame, col: str) -> float | None:
    """The figure of a one-row selection (None when secret or when there is no row)."""
    return number(df[col].iloc[0]) if len(df) else None


def scope_marches(gold: Gold, departements: tuple[str, ...] = IDF) -> pd.DataFrame:
    """Contracts executed in the given départements (the eight of IDF by default), notified since October
    2018. ``(ref.NOT_ALLOCATED,)`` gives the contracts no département could be derived for, shown apart."""
    df = gold["marches_par_mois_departement"].copy()
    df["mois"] = pd.to_datetime(df["mois"])
    return df[df["departement"].isin(departements) & (df["mois"] >= pd.Timestamp(ref.DECP_START))]


def hours_year(gold: Gold, year: int, figures: Figures, territory: str = TOTAL) -> pd.DataFrame:
    """The row of ``heures_departement`` for a territory (``TOTAL``: all) and a year, recorded as shown."""
    h = gold["heures_departement"]
    row = h[(h["departement"] == territory) & (h["periode"] == str(year))]
    return figures.take(row, "heures_departement", ["heures_realisees", "n_personnes"])


def persons_year(gold: Gold, year: int, figures: Figures) -> float | None:
    b = gold["beneficiaires"]
    row = b[(b["dimension"] == "ensemble") & (b["annee"] == year)]
    return _one(figures.take(row, "beneficiaires", ["n_personnes"]), "n_personnes")


def departement_years(gold: Gold, last: int | None = None) -> pd.DataFrame:
    """Hours and persons per IDF département and year (``heures_departement``), up to ``last`` (the rows of
    later years hold only the targets of operations still running)."""
    h = gold["heures_departement"]
    rows = h[h["departement"].isin(IDF) & (h["trimestre"] == 0)]
    return (rows if last is None else rows[rows["annee"] <= last]).copy()


def home(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    marches = scope_marches(gold)
    totals = marches[marches["consideration_sociale"] == ref.ALL]
    apart = scope_marches(gold, (ref.NOT_ALLOCATED,))
    apart = apart[apart["consideration_sociale"] == ref.ALL]
    hours = hours_year(gold, year, figures)
    kpis = [
        Kpi("nb_marches_total", "marchés notifiés depuis octobre 2018 (IDF)", int(totals["nb_marches"].sum())),
        Kpi("montant_total", "euros HT (montants notifiés ou maxima des accords-cadres ; montants fictifs exclus)",
            round(_value(totals, "montant_total"))),
        Kpi("nb_marches_non_ventiles", "autres marchés sans département d'exécution (lieu régional, national, "
            "étranger ou code inconnu), hors des chiffres IDF", int(apart["nb_marches"].sum())),
        Kpi(f"heures_realisees_{year}", f"heures d'insertion réalisées en {year} (suivi des facilitateurs)",
            None if _one(hours, "heures_realisees") is None else round(_one(hours, "heures_realisees"))),
        Kpi(f"beneficiaires_{year}", f"personnes en parcours en {year}", persons_year(gold, year, figures)),
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
                ("Acheteurs publics", "part des marchés avec une considération sociale"),
                ("Grand Paris", "suivi de la charte RSE par maître d'ouvrage et opération"),
                ("Élus", "heures et emplois pour le territoire"),
                ("Coordinations départementales", "couverture territoriale, parcours, besoins de formation"),
                ("Partenaires de l'insertion", "présence des structures, parcours"),
                ("Prescripteurs", "besoins de formation, sorties"),
            )])),
        Section("À quel niveau les chiffres sont publiés", text=GRAINS),
    ]
    data = {"nb_marches_par_departement": {d: int(n) for d, n in by_dept.items()}, CELLS: figures.cells}
    return Page("index.html", "Observatoire des clauses sociales — Île-de-France",
                "Les clauses sociales des marchés publics franciliens : marchés, heures d'insertion, personnes "
                "accompagnées et leurs parcours, depuis octobre 2018.", [], sections, data)


GRAINS = ("Marchés (DECP, données publiques) : par mois, département, acheteur, jamais masqués. Heures d'insertion "
          "et personnes : par département d'exécution et par année ; pour toute l'Île-de-France par année, "
          "trimestre et mois ; par territoire de la Métropole du Grand Paris (EPT) et par modalité juridique "
          "depuis le début du suivi ; par opération du Grand Paris. Elles ne sont pas publiées par acheteur ni par "
          "trimestre et département : trop de cases y concerneraient moins de cinq personnes.")


def buyers(gold: Gold, threshold: int, year: int) -> Page:
    share = gold["part_marches_consideration_sociale"].sort_values("annee")
    share = share[share["n_marches"] > 0]  # a year with no contract in the scope has no share (not « s »)
    target = ref.target("PART_MARCHES_CONSIDERATION_SOCIALE")
    labelled = share.assign(annee=[f"{a} (n = {fmt(n)})" for a, n in zip(share["annee"], share["n_marches"],
                                                                         strict=True)])
    both = pd.concat([labelled.assign(serie="En nombre de marchés", valeur=labelled["part"]),
                      labelled.assign(serie="En montant", valeur=labelled["part_montant"])])
    fig_share = charts.with_target(
        charts.bars(both, "annee", "valeur", "serie",
                    "Part des marchés avec une considération sociale (acheteurs franciliens, au-dessus du seuil ; "
                    "n = marchés)", percent=True, barmode="group", x_title="Année de notification", y_title="Part"),
        target, f"Objectif national {fmt(target, percent=True)}")
    scope_rows = [[str(r.annee), fmt(r.n_marches), rate(number(r.part), r.n_marches, "marchés"),
                   rate(number(r.part_montant), r.n_marches, "marchés"),
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
    names = dict(zip(gold["acheteurs"]["siret"], gold["acheteurs"]["nom"], strict=False)) if "acheteurs" in gold else {}
    top = (yearly.groupby("acheteur_id", as_index=False)
           .agg(n_marches=("n_marches", "sum"), n_cs=("n_marches_consideration_sociale", "sum"))
           .sort_values(["n_marches", "acheteur_id"], ascending=[False, True]).head(15))
    rows = [[names.get(a) or a, a, fmt(n), rate(cs / n if n else None, n, "marchés")]
            for a, n, cs in zip(top["acheteur_id"], top["n_marches"], top["n_cs"], strict=True)]
    data = {"part_consideration_sociale": {int(a): float(p)
                                           for a, p in zip(share["annee"], share["part"], strict=True)},
            "part_montant_consideration_sociale": {int(a): None if pd.isna(p) else float(p) for a, p in
                                                   zip(share["annee"], share["part_montant"], strict=True)}, CELLS: []}
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
            ["Acheteur", "SIRET", "Marchés", "dont avec considération sociale"], rows, numeric={2, 3}),
                text="Les heures d'insertion ne sont pas publiées par acheteur : trop peu de personnes par acheteur "
                     "pour respecter le secret statistique. Elles le sont par département (page « Élus »)."),
    ]
    return Page("acheteurs.html", "Acheteurs publics",
                "Ce que les acheteurs publics d'Île-de-France inscrivent dans leurs marchés.",
                ["Quelle part de nos marchés comporte une considération sociale, face à l'objectif national ?",
                 "Quelles catégories d'acheteurs et quels types de marchés portent des clauses ?"], sections, data)


def grand_paris(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    keys = ["maitre_ouvrage", "operation", "programme"]
    charte = gold["charte_grand_paris"].sort_values(keys)
    hours = figures.take(gold["heures_charte"], "heures_charte",
                         ["heures_realisees", "n_personnes", "taux_realisation_objectif"])
    charte = charte.merge(hours[[*keys, "heures_realisees", "n_personnes", "taux_realisation_objectif"]], on=keys,
                          how="left")
    shown = charte.assign(label=[f"{op} (n = {fmt(n)})" for op, n in zip(charte["operation"], charte["n_personnes"],
                                                                          strict=True)])
    fig = charts.bars(shown, "label", "taux_realisation_objectif", "maitre_ouvrage",
                      "Heures d'insertion réalisées / objectif, par opération (n = personnes)", percent=True,
                      barmode="group", x_title="Opération", y_title="Taux de réalisation")
    owners = [t.name for t in fig.data]
    charts.dropdown(fig, [("Tous les maîtres d'ouvrage", list(range(len(owners))))]
                    + [(o, [i]) for i, o in enumerate(owners)])
    charts.with_target(fig, 1.0, "Objectif")
    tpe = charte.groupby("maitre_ouvrage", as_index=False)[["montant_tpe_pme", "montant_ht", "n_marches"]].sum()
    tpe["part"] = tpe["montant_tpe_pme"] / tpe["montant_ht"]
    tpe["owner"] = [f"{o} (n = {fmt(n)} marchés)" for o, n in zip(tpe["maitre_ouvrage"], tpe["n_marches"], strict=True)]
    target = ref.target("PART_TPE_PME_GRAND_PARIS")
    fig_tpe = charts.with_target(charts.bars(tpe, "owner", "part", None, "Part du montant aux TPE/PME",
                                             percent=True, y_title="Part TPE/PME"),
                                 target, f"Engagement {fmt(target, percent=True)}")
    rows = [[r.maitre_ouvrage, r.operation, fmt(r.n_marches), fmt(r.montant_ht), fmt(r.heures_insertion_objectif),
             fmt(r.heures_insertion_objectif_declare), fmt(r.n_marches_objectif_ecart), fmt(r.heures_realisees),
             rate(number(r.taux_realisation_objectif), r.n_personnes, "personnes"),
             rate(number(r.part_tpe_pme), r.n_marches, "marchés")]
            for r in charte.itertuples()]
    data = {"heures_realisees_par_operation": {f"{r.maitre_ouvrage} / {r.operation}": number(r.heures_realisees)
                                               for r in charte.itertuples()}, CELLS: figures.cells}
    sections = [
        Section("Suivi de la charte par opération", figures=[fig, fig_tpe],
                text="Objectif d'heures d'insertion calculé par l'observatoire : taux de la charte à la date de "
                     "notification (10 % des heures travaillées prévues depuis octobre 2020, 5 % avant) × heures "
                     "travaillées prévues ; l'objectif déclaré par le maître d'ouvrage n'est retenu que lorsque les "
                     "heures travaillées manquent. Engagement de 20 % du montant aux TPE/PME. Heures réalisées "
                     "depuis le début des opérations. " + LEFT_OUT),
        Section("Tableau de suivi", table_html=table(
            ["Maître d'ouvrage", "Opération", "Marchés", "Montant HT", "Objectif retenu (h)", "Objectif déclaré (h)",
             "Marchés où ils diffèrent", "Réalisé (h)", "Réalisation (n = personnes)", "Part TPE/PME (n = marchés)"],
            rows, numeric={2, 3, 4, 5, 6, 7, 8, 9})),
    ]
    return Page("grand_paris.html", "Grand Paris — suivi de la charte RSE",
                "Pour les maîtres d'ouvrage du Grand Paris (Société des grands projets, SNCF, RATP, Solideo...).",
                ["Nos opérations atteignent-elles l'objectif d'heures d'insertion de la charte ?",
                 "Quelle part du montant de nos marchés va aux TPE/PME, face à l'engagement de 20 % ?"],
                sections, data)


def _span(gold: Gold, table: str) -> str:
    """The months a cumulated table covers, in words (``de 2018-11 à 2026-10``)."""
    periods = gold[table]["periode"].dropna().unique() if len(gold[table]) else []
    if len(periods) != 1 or "/" not in str(periods[0]):
        return "depuis le début du suivi"
    start, end = str(periods[0]).split("/")
    return f"de {start} à {end}"


def elected(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    terr = figures.take(departement_years(gold, year + 1), "heures_departement", ["heures_realisees", "n_personnes"])
    names = _dept_names()
    this_year = terr[terr["annee"] == year].set_index("departement")
    hours_map = {d: number(this_year["heures_realisees"].get(d)) for d in IDF}
    fig_map = charts.departement_map(hours_map, f"Heures d'insertion réalisées en {year}", "Heures")
    ept = figures.take(gold["heures_ept"], "heures_ept", ["heures_realisees"])
    span = _span(gold, "heures_ept")
    fig_ept = charts.ept_map({e: number(v) for e, v in zip(ept["ept"], ept["heures_realisees"], strict=True)},
                             f"Heures d'insertion par territoire de la Métropole du Grand Paris, {span}", "Heures")
    series = terr.assign(nom=lambda d: d["departement"].map(names))
    fig_line = charts.bars(series, "annee", "heures_realisees", "nom", "Heures d'insertion réalisées par année",
                           x_title="Année", y_title="Heures", barmode="group")
    depts = [t.name for t in fig_line.data]
    charts.dropdown(fig_line, [("Tous les départements", list(range(len(depts))))]
                    + [(n, [i]) for i, n in enumerate(depts)])
    h = gold["heures_departement"]
    months = figures.take(h[(h["departement"] == TOTAL) & (h["mois"] > 0) & (h["annee"] <= year + 1)],
                          "heures_departement", ["heures_realisees"])
    fig_months = charts.bars(months.assign(serie="Île-de-France"), "periode", "heures_realisees", "serie",
                             "Heures d'insertion réalisées par mois (toute l'Île-de-France)", x_title="Mois",
                             y_title="Heures")
    total = _one(hours_year(gold, year, figures), "heures_realisees")
    kpis = [Kpi(f"heures_{year}", f"heures d'insertion réalisées en {year} (Île-de-France)",
                None if total is None else round(total)),
            Kpi(f"etp_{year}", "équivalents temps plein (1 607 h par an)",
                None if total is None else round(charts.fte(total), 1), decimals=1)]
    rows = [[names[d], fmt(this_year["heures_realisees"].get(d)), fmt(this_year["n_personnes"].get(d))] for d in IDF]
    data = {"heures_par_departement": hours_map, "annee": year, CELLS: figures.cells}
    sections = [
        Section("Ce que les clauses apportent au territoire", kpis=kpis,
                figures=[fig_map, fig_ept, fig_line, fig_months],
                text="Heures travaillées par des personnes éloignées de l'emploi au titre des clauses, par "
                     "département d'exécution et par année ; par territoire de la Métropole (EPT) cumulées "
                     f"{span} (par année, trop de territoires compteraient moins de cinq personnes). " + LEFT_OUT),
        Section(f"Par département en {year}", table_html=table(["Département", "Heures d'insertion", "Personnes"],
                                                             rows, numeric={1, 2})),
    ]
    return Page("elus.html", "Élus — attractivité et emploi du territoire",
                "Pour les élus : ce que la commande publique de leur territoire produit en emploi.",
                ["Combien d'heures de travail les clauses ont-elles apportées à notre territoire ?",
                 "Combien d'emplois équivalents temps plein cela représente-t-il, et comment cela évolue-t-il ?"],
                sections, data)


def _benef(gold: Gold, dimension: str, list_name: str | None, figures: Figures) -> tuple[pd.DataFrame, dict]:
    b = gold["beneficiaires"]
    part = figures.take(b[b["dimension"] == dimension], "beneficiaires", ["n_personnes"])
    labels = ref.labels(list_name) if list_name else {}
    return part, labels


def _contracts_of_year(gold: Gold, year: int, figures: Figures) -> pd.DataFrame:
    c = gold["contrats_insertion_par_type"]
    return figures.take(c[c["annee"] == year], "contrats_insertion_par_type", ["n_contrats", "n_personnes"])


def _contracts_table(contracts: pd.DataFrame) -> str:
    types, modes = ref.labels("contract_types"), ref.labels("realisation_modalities")
    rows = [[types.get(r.type_contrat, r.type_contrat), modes.get(r.modalite_realisation, r.modalite_realisation),
             fmt(r.n_contrats), fmt(r.n_personnes)]
            for r in contracts.sort_values(["type_contrat", "modalite_realisation"]).itertuples()]
    return table(["Type de contrat", "Mode de réalisation", "Contrats", "Personnes"], rows, numeric={2, 3})


def coordinations(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    cover = departement_years(gold)
    cover = figures.take(cover[cover["annee"] == year], "heures_departement", ["heures_realisees"])
    long = pd.concat([cover.assign(serie="Réalisé", heures=cover["heures_realisees"]),
                      cover.assign(serie="Objectif", heures=cover["heures_objectif"])])
    long["nom"] = long["departement"].map(_dept_names())
    fig_cover = charts.bars(long, "nom", "heures", "serie",
                            f"Heures d'insertion réalisées et objectifs par département en {year}", barmode="group",
                            y_title="Heures")
    contracts = _contracts_of_year(gold, year, figures)
    fig_types = charts.bars(contracts.assign(type_contrat=contracts["type_contrat"].map(
                                lambda c: ref.labels("contract_types").get(c, c))),
                            "type_contrat", "n_contrats", "modalite_realisation",
                            f"Contrats d'insertion commencés en {year}, par type et mode de réalisation",
                            labels=ref.labels("realisation_modalities"), x_title="Type de contrat",
                            y_title="Contrats")
    diplomas, labels = _benef(gold, "niveau_diplome", "diploma_levels", figures)
    fig_dipl = charts.bars(diplomas, "annee", "n_personnes", "valeur", "Personnes par niveau de diplôme",
                           labels=labels, x_title="Année", y_title="Personnes")
    sorties = gold["sorties_6_mois"].sort_values("annee")
    figures.take(sorties, "sorties_6_mois", OUTCOME_FIGURES)
    data = {"heures_realisees_par_departement": {
        d: number(v) for d, v in zip(cover["departement"], cover["heures_realisees"], strict=True)}, "annee": year,
        CELLS: figures.cells}
    sections = [
        Section("Couverture territoriale", figures=[fig_cover], text=LEFT_OUT),
        Section("Parcours des personnes", figures=[fig_types, _outcomes_figure(sorties)],
                table_html=_contracts_table(contracts) + _outcomes_table(sorties)),
        Section("Besoins de formation", figures=[fig_dipl],
                text="Niveau de diplôme à l'entrée en parcours : la part sans diplôme ou infra niveau 3 signale "
                     "les besoins de formation. " + LEFT_OUT),
    ]
    return Page("coordinations.html", "Coordinations départementales",
                "Pour les coordinations des clauses sociales : couverture, parcours et besoins de formation.",
                ["Les heures d'insertion couvrent-elles tout le territoire, au regard des objectifs ?",
                 "Par quels contrats passent les personnes, et où en sont-elles six mois après ?",
                 "Quels niveaux de qualification, donc quels besoins de formation ?"], sections, data)


OUTCOMES = (("taux_emploi_durable", "emploi_durable", "Emploi durable"),
            ("taux_emploi_transition", "emploi_transition", "Emploi de transition"),
            ("taux_sortie_positive", "sortie_positive", "Sortie positive"))
OUTCOME_FIGURES = ["n_sorties", "n_reponses", "taux_reponse",
                   *[c for rate_col, count, _ in OUTCOMES for c in (rate_col, count)], "taux_sorties_dynamiques"]


def _outcomes_figure(sorties: pd.DataFrame):
    """Rates by year of contract end, over the responses; each year labelled with its number of responses (n)."""
    years = sorties.assign(annee=[f"{a} (n = {fmt(n)})" for a, n in zip(sorties["annee"], sorties["n_reponses"],
                                                                         strict=True)])
    long = pd.concat([years.assign(serie=label, taux=years[col]) for col, _, label in OUTCOMES])
    return charts.bars(long, "annee", "taux", "serie", "Situation six mois après la fin du contrat (sorties "
                       "dynamiques ; n = réponses)", percent=True, x_title="Année de fin de contrat",
                       y_title="Part des personnes ayant répondu")


def _outcomes_table(sorties: pd.DataFrame) -> str:
    """Rates over the responses (n), with the exits and the response rate beside them."""
    rows = [[r.annee, fmt(r.n_sorties), fmt(r.n_reponses), rate(number(r.taux_reponse), r.n_sorties),
             *[rate(number(getattr(r, col)), r.n_reponses) for col, _, _ in OUTCOMES],
             rate(number(r.taux_sorties_dynamiques), r.n_reponses)] for r in sorties.itertuples()]
    return table(["Année de fin", "Sorties", "Réponses (n)", "Taux de réponse", *[label for _, _, label in OUTCOMES],
                  "Sorties dynamiques"], rows, numeric={1, 2, 3, 4, 5, 6, 7})


def partners(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    structures = gold.get("structures", pd.DataFrame(columns=["latitude", "longitude", "famille"]))
    fig_map = charts.structures_map(structures, "Structures d'insertion et du handicap (SIAE, EA, ESAT, GEIQ)")
    incl = gold["structures_inclusion"]
    presence = incl[(incl["indicateur"] == "presence") & incl["departement"].isin(IDF)]
    presence = presence.assign(nom=presence["departement"].map(_dept_names()))
    fig_presence = charts.bars(presence.groupby(["nom", "famille"], as_index=False)["valeur"].sum(), "nom", "valeur",
                               "famille", "Structures par département", y_title="Structures")
    shares = incl[incl["indicateur"].isin(["part_montant_titulaires", "part_heures_employeurs"])]
    shares = shares.dropna(subset=["annee"]).assign(annee=lambda d: d["annee"].astype(int))
    shares = shares[shares["annee"] >= 2018]
    figures.take(shares[shares["indicateur"] == "part_heures_employeurs"], "structures_inclusion",
                 ["valeur", "population"])
    fig_shares = charts.bars(shares, "annee", "valeur", "indicateur", "Part des structures dans les marchés et les "
                             "heures", percent=True, barmode="group", labels={
                                 "part_montant_titulaires": "Part du montant des titulaires",
                                 "part_heures_employeurs": "Part des heures d'insertion"}, x_title="Année")
    marches = gold["marches_par_mois_departement"]
    notified = marches[marches["consideration_sociale"] == ref.ALL].groupby("annee")["nb_marches"].sum()

    def share(a: int, indicator: str) -> Html:
        """The share with its denominator: contracts notified in the year, or persons in parcours."""
        row = shares[(shares["annee"] == a) & (shares["indicateur"] == indicator)]
        if indicator == "part_montant_titulaires":
            return rate(_one(row, "valeur"), notified.get(a), "marchés")
        return rate(_one(row, "valeur"), persons_year(gold, a, figures), "personnes")

    share_rows = [[a, share(a, "part_montant_titulaires"), share(a, "part_heures_employeurs")]
                  for a in sorted(shares["annee"].unique())]
    contracts = _contracts_of_year(gold, year, figures)
    fig_mode = charts.bars(contracts.assign(modalite_realisation=contracts["modalite_realisation"].map(
                               lambda c: ref.labels("realisation_modalities").get(c, c))),
                           "modalite_realisation", "n_contrats", "type_contrat",
                           f"Contrats d'insertion commencés en {year}, par mode de réalisation et type",
                           labels=ref.labels("contract_types"), x_title="Mode de réalisation", y_title="Contrats")
    counts = structures.groupby("famille").size().to_dict() if len(structures) else {}
    kpis = [Kpi(f"structures_{f}", f"structures {f}", int(n)) for f, n in sorted(counts.items())]
    data = {"structures_par_famille": {f: int(n) for f, n in counts.items()},
            "structures_sans_coordonnees": int(structures["latitude"].isna().sum()) if len(structures) else 0,
            CELLS: figures.cells}
    sections = [
        Section("Présence des structures", kpis=kpis, figures=[fig_map, fig_presence],
                text="Registres publics des SIAE, EA, ESAT et GEIQ ; les structures sans coordonnées ne sont "
                     f"pas sur la carte ({data['structures_sans_coordonnees']})."),
        Section("Place des structures dans les marchés", figures=[fig_shares], table_html=table(
            ["Année", "Part du montant des titulaires (n = marchés notifiés)",
             "Part des heures d'insertion (n = personnes en parcours)"],
            share_rows, numeric={1, 2})),
        Section("Parcours des personnes", figures=[fig_mode], table_html=_contracts_table(contracts)),
    ]
    return Page("partenaires.html", "Partenaires de l'insertion et du handicap",
                "Pour les SIAE, EA, ESAT, GEIQ et leurs réseaux.",
                ["Où sont les structures d'insertion et du handicap ?",
                 "Quelle part des marchés et des heures d'insertion leur revient ?",
                 "Par quels modes de réalisation passent les parcours ?"], sections, data)


def prescribers(gold: Gold, threshold: int, year: int) -> Page:
    figures = Figures()
    presc, presc_labels = _benef(gold, "prescripteur", "prescribers", figures)
    fig_presc = charts.bars(presc, "annee", "n_personnes", "valeur", "Personnes par prescripteur",
                            labels=presc_labels, x_title="Année", y_title="Personnes")
    crit, crit_labels = _benef(gold, "critere", "eligibility_criteria", figures)
    fig_crit = charts.bars(crit, "annee", "n_personnes", "valeur", "Personnes par critère d'éligibilité",
                           labels=crit_labels, barmode="group", x_title="Année", y_title="Personnes")
    dipl, dipl_labels = _benef(gold, "niveau_diplome", "diploma_levels", figures)
    fig_dipl = charts.bars(dipl, "annee", "n_personnes", "valeur", "Personnes par niveau de diplôme",
                           labels=dipl_labels, x_title="Année", y_title="Personnes")
    sorties = gold["sorties_6_mois"].sort_values("annee")
    figures.take(sorties, "sorties_6_mois", OUTCOME_FIGURES)
    data = {"taux_sorties_dynamiques": {int(a): number(t) for a, t in zip(sorties["annee"],
                                                                          sorties["taux_sorties_dynamiques"],
                                                                          strict=True)}, CELLS: figures.cells}
    sections = [
        Section("Qui oriente vers les clauses", figures=[fig_presc, fig_crit], text=LEFT_OUT),
        Section("Besoins de formation", figures=[fig_dipl]),
        Section("Sorties six mois après", figures=[_outcomes_figure(sorties)], table_html=_outcomes_table(sorties)),
    ]
    return Page("prescripteurs.html", "Prescripteurs",
                "Pour France Travail, les missions locales, Cap emploi, les PLIE et les départements.",
                ["Quels publics orientons-nous vers les clauses, et par quels critères ?",
                 "Quels besoins de formation ?", "Où en sont les personnes six mois après leur contrat ?"],
                sections, data)


PAGES = (home, buyers, grand_paris, elected, coordinations, partners, prescribers)
