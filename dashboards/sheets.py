"""Periodic sheets: one per IDF département and one per buyer, for a year or a quarter (HTML; PDF by
``dashboards.render``). Contract figures (public DECP) come from ``gold/fiches_territoires`` and
``gold/fiches_acheteurs``; insertion hours and persons from ``gold/heures_departement``, by département and
year, the grain they are published at (never per buyer or per quarter: too few persons)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboards.page import CELLS, Figures, Kpi, Section, fmt, number, render, svg_bars, table
from schemas import referential as ref

QUARTER = re.compile(r"^(\d{4})(?:-T([1-4]))?$")


@dataclass(frozen=True)
class Period:
    year: int
    quarter: int = 0  # 0 = the whole year

    @classmethod
    def parse(cls, text: str) -> Period:
        """``"2025"`` (a year) or ``"2025-T3"`` (a quarter)."""
        match = QUARTER.match(text.strip())
        if not match:
            raise ValueError(f"period {text!r}: expected YYYY or YYYY-T1..T4")
        return cls(int(match.group(1)), int(match.group(2) or 0))

    @classmethod
    def last_complete(cls, as_of: pd.Timestamp, quarter: bool = False) -> Period:
        if not quarter:
            return cls(as_of.year - 1)
        q = (as_of.month - 1) // 3  # quarters fully past in as_of's year
        return cls(as_of.year, q) if q else cls(as_of.year - 1, 4)

    @property
    def label(self) -> str:
        return f"{self.year}" if not self.quarter else f"{self.year}-T{self.quarter}"

    @property
    def title(self) -> str:
        return f"année {self.year}" if not self.quarter else f"{self.quarter}{'er' if self.quarter == 1 else 'e'} " \
                                                              f"trimestre {self.year}"

    @property
    def previous(self) -> Period:
        """The same period one year earlier (the comparison a sheet shows)."""
        return Period(self.year - 1, self.quarter)


def _num(value) -> float | None:
    """A figure of a published frame: None when secret (null / NaN / pandas NA)."""
    return number(value)


CONTRACTS = ("n_marches", "montant", "n_marches_consideration_sociale")
PERSONS = ("heures_realisees", "n_personnes")
NOT_BY_QUARTER = ("Heures d'insertion et personnes : publiées par département et par année (secret statistique : "
                  "par trimestre, trop de cases concerneraient moins de cinq personnes).")
NOT_BY_BUYER = ("Heures d'insertion : elles ne sont pas publiées par acheteur (trop peu de personnes par acheteur "
                "pour respecter le secret statistique) ; elles le sont par département, dans les fiches "
                "territoriales.")


def _cell(df: pd.DataFrame, key_col: str, key: str, period: Period) -> pd.Series | None:
    rows = df[(df[key_col] == key) & (df["annee"] == period.year) & (df["trimestre"] == period.quarter)]
    return rows.iloc[0] if len(rows) else None


def sheet_figures(fiches: pd.DataFrame, key_col: str, key: str, period: Period) -> dict:
    """The contract figures of one sheet (public DECP data): the period, the same period a year earlier and,
    for a year, its quarters."""

    def figures(p: Period) -> dict:
        row = _cell(fiches, key_col, key, p)
        if row is None:  # no contract in the period: zeros are figures
            return {"n_marches": 0, "montant": 0.0, "n_marches_consideration_sociale": 0}
        return {k: _num(row[k]) for k in CONTRACTS}

    out = {"periode": period.label, "courant": figures(period), "precedent": figures(period.previous)}
    if not period.quarter:
        out["trimestres"] = {f"T{q}": figures(Period(period.year, q)) for q in range(1, 5)}
    return out


def person_figures(hours: pd.DataFrame, departement: str, period: Period, shown: Figures) -> dict:
    """Hours and persons of the département in the period's year and the year before (``heures_departement``:
    the grain they are published at), recorded as shown."""
    out = {}
    for year in (period.year, period.year - 1):
        row = hours[(hours["departement"] == departement) & (hours["periode"] == str(year))]
        shown.take(row, "heures_departement", PERSONS)
        out[str(year)] = ({k: _num(row[k].iloc[0]) for k in PERSONS} if len(row)
                          else {"heures_realisees": 0.0, "n_personnes": 0})
    return out


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _sheet_sections(fig: dict, period: Period, persons: dict | None) -> list[Section]:
    cur, prev = fig["courant"], fig["precedent"]
    kpis = [
        Kpi("n_marches", f"marchés notifiés ({period.title})", _whole(cur["n_marches"])),
        Kpi("montant", "euros HT notifiés", _whole(cur["montant"])),
        Kpi("n_marches_consideration_sociale", "marchés avec une considération sociale",
            _whole(cur["n_marches_consideration_sociale"])),
    ]
    rows = [[label, fmt(cur[k]), fmt(prev[k])] for k, label in (
        ("n_marches", "Marchés notifiés"), ("montant", "Montant HT (€)"),
        ("n_marches_consideration_sociale", "dont avec considération sociale"))]
    sections = [Section("Chiffres de la période", kpis=kpis),
                Section("Comparaison avec la même période un an plus tôt",
                        table_html=table(["Indicateur", period.label, period.previous.label], rows, numeric={1, 2}))]
    if persons is not None:
        year, before = str(period.year), str(period.year - 1)
        kpis = [Kpi("heures_realisees", f"heures d'insertion réalisées en {year} (année)",
                    _whole(persons[year]["heures_realisees"])),
                Kpi("n_personnes", f"personnes en parcours en {year} (année)", _whole(persons[year]["n_personnes"]))]
        rows = [[label, fmt(persons[year][k]), fmt(persons[before][k])] for k, label in (
            ("heures_realisees", "Heures d'insertion"), ("n_personnes", "Personnes"))]
        sections.append(Section("Heures d'insertion", kpis=kpis, text=NOT_BY_QUARTER, table_html=table(
            ["Indicateur", year, before], rows, numeric={1, 2})))
    if "trimestres" in fig:
        q = fig["trimestres"]
        chart = svg_bars("Marchés notifiés par trimestre", list(q), [v["n_marches"] for v in q.values()], "marchés")
        sections.append(Section("Par trimestre", table_html=chart + table(
            ["Trimestre", "Marchés", "Montant HT (€)", "dont avec considération sociale"],
            [[k, fmt(v["n_marches"]), fmt(v["montant"]), fmt(v["n_marches_consideration_sociale"])]
             for k, v in q.items()], numeric={1, 2, 3})))
    return sections


def department_sheets(gold: dict[str, pd.DataFrame], period: Period, out_dir: Path) -> list[Path]:
    """One sheet per IDF département (even without activity: a zero is a figure)."""
    names = ref.departements()
    out = []
    for code in ref.IDF_DEPARTEMENTS:
        shown = Figures()
        fig = sheet_figures(gold["fiches_territoires"], "departement", code, period)
        persons = person_figures(gold["heures_departement"], code, period, shown)
        html = render(f"{names[code]} ({code}) — clauses sociales, {period.title}",
                      "Fiche territoriale de l'observatoire des clauses sociales d'Île-de-France : marchés exécutés "
                      "dans le département et heures d'insertion de leurs opérations.",
                      _sheet_sections(fig, period, persons), data=_flat(fig, persons, shown), nav=False)
        path = out_dir / f"departement-{code}-{period.label}.html"
        path.write_text(html, encoding="utf-8")
        out.append(path)
    return out


def buyer_sheets(gold: dict[str, pd.DataFrame], period: Period, out_dir: Path) -> list[Path]:
    """One sheet per buyer with contracts in the period (contract figures only: see ``NOT_BY_BUYER``)."""
    fiches = gold["fiches_acheteurs"]
    active = fiches[(fiches["annee"] == period.year) & (fiches["trimestre"] == period.quarter)
                    & (fiches["n_marches"] > 0) & (fiches["acheteur_id"] != ref.UNKNOWN)]
    buyers = gold.get("acheteurs", pd.DataFrame(columns=["siret", "nom", "categorie_acheteur"])).set_index("siret")
    out = []
    for siret in sorted(active["acheteur_id"].unique()):
        name = buyers["nom"].get(siret) if siret in buyers.index else None
        fig = sheet_figures(fiches, "acheteur_id", siret, period)
        sections = [*_sheet_sections(fig, period, None), Section("Heures d'insertion", text=NOT_BY_BUYER)]
        html = render(f"{name or 'Acheteur'} — SIRET {siret} — clauses sociales, {period.title}",
                      "Fiche acheteur de l'observatoire des clauses sociales d'Île-de-France : marchés notifiés par "
                      "l'acheteur.", sections, data=_flat(fig, None, Figures()), nav=False)
        path = out_dir / f"acheteur-{siret}-{period.label}.html"
        path.write_text(html, encoding="utf-8")
        out.append(path)
    return out


def _flat(fig: dict, persons: dict | None, shown: Figures) -> dict:
    return {"periode": fig["periode"], **fig["courant"], "precedent": fig["precedent"],
            "trimestres": fig.get("trimestres"), "insertion_par_annee": persons, CELLS: shown.cells}
