"""Periodic sheets: one per IDF département and one per buyer, for a year or a quarter (HTML; PDF by
``dashboards.render``). Figures come from ``gold/fiches_territoires`` and ``gold/fiches_acheteurs``, whose
cells count their own distinct persons per period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboards.page import Kpi, Section, fmt, render, svg_bars, table
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
    """A figure of a protected frame: None when suppressed (null / NaN / pandas NA)."""
    return None if value is None or pd.isna(value) else float(value)


def _cell(df: pd.DataFrame, key_col: str, key: str, period: Period) -> pd.Series | None:
    rows = df[(df[key_col] == key) & (df["annee"] == period.year) & (df["trimestre"] == period.quarter)]
    return rows.iloc[0] if len(rows) else None


def sheet_figures(fiches: pd.DataFrame, key_col: str, key: str, period: Period) -> dict:
    """The figures of one sheet: the period, the same period a year earlier and, for a year, its quarters.
    ``fiches`` is protected already (``jobs.publish.disclosure``: small cells and their complements are null)."""

    def figures(p: Period) -> dict:
        row = _cell(fiches, key_col, key, p)
        if row is None:  # no contract and no hour in the period: zeros are figures
            return {"n_marches": 0, "montant": 0.0, "n_marches_consideration_sociale": 0, "heures_realisees": 0.0,
                    "n_personnes": 0, "secret": False}
        out = {k: _num(row[k]) for k in ("n_marches", "montant", "n_marches_consideration_sociale",
                                         "heures_realisees", "n_personnes")}
        return {**out, "secret": bool(row["secret_statistique"])}

    out = {"periode": period.label, "courant": figures(period), "precedent": figures(period.previous)}
    if not period.quarter:
        out["trimestres"] = {f"T{q}": figures(Period(period.year, q)) for q in range(1, 5)}
    return out


def _sheet_sections(fig: dict, period: Period) -> list[Section]:
    cur, prev = fig["courant"], fig["precedent"]
    def whole(value: float | None) -> int | None:
        return None if value is None else round(value)

    kpis = [
        Kpi("n_marches", f"marchés notifiés ({period.title})", whole(cur["n_marches"])),
        Kpi("montant", "euros HT notifiés", whole(cur["montant"])),
        Kpi("n_marches_consideration_sociale", "marchés avec une considération sociale",
            whole(cur["n_marches_consideration_sociale"])),
        Kpi("heures_realisees", "heures d'insertion réalisées", whole(cur["heures_realisees"])),
        Kpi("n_personnes", "personnes en parcours", whole(cur["n_personnes"])),
    ]
    rows = [[label, fmt(cur[k]), fmt(prev[k])] for k, label in (
        ("n_marches", "Marchés notifiés"), ("montant", "Montant HT (€)"),
        ("n_marches_consideration_sociale", "dont avec considération sociale"),
        ("heures_realisees", "Heures d'insertion"), ("n_personnes", "Personnes"))]
    sections = [Section("Chiffres de la période", kpis=kpis),
                Section("Comparaison avec la même période un an plus tôt",
                        table_html=table(["Indicateur", period.label, period.previous.label], rows, numeric={1, 2}))]
    if "trimestres" in fig:
        q = fig["trimestres"]
        chart = svg_bars("Heures d'insertion par trimestre", list(q), [v["heures_realisees"] for v in q.values()],
                         "heures")
        sections.append(Section("Par trimestre", table_html=chart + table(
            ["Trimestre", "Marchés", "Heures d'insertion", "Personnes"],
            [[k, fmt(v["n_marches"]), fmt(v["heures_realisees"]), fmt(v["n_personnes"])] for k, v in q.items()],
            numeric={1, 2, 3})))
    return sections


def department_sheets(gold: dict[str, pd.DataFrame], period: Period, out_dir: Path) -> list[Path]:
    """One sheet per IDF département (even without activity: a zero is a figure)."""
    names = ref.departements()
    out = []
    for code in ref.IDF_DEPARTEMENTS:
        fig = sheet_figures(gold["fiches_territoires"], "departement", code, period)
        html = render(f"{names[code]} ({code}) — clauses sociales, {period.title}",
                      "Fiche territoriale de l'observatoire des clauses sociales d'Île-de-France : marchés exécutés "
                      "dans le département et heures d'insertion de leurs opérations.",
                      _sheet_sections(fig, period), data=_flat(fig), nav=False)
        path = out_dir / f"departement-{code}-{period.label}.html"
        path.write_text(html, encoding="utf-8")
        out.append(path)
    return out


def buyer_sheets(gold: dict[str, pd.DataFrame], period: Period, out_dir: Path) -> list[Path]:
    """One sheet per buyer with contracts or insertion hours in the period."""
    fiches = gold["fiches_acheteurs"]
    active = fiches[(fiches["annee"] == period.year) & (fiches["trimestre"] == period.quarter)
                    & ((fiches["n_marches"] > 0) | (fiches["heures_realisees"] > 0))
                    & (fiches["acheteur_id"] != ref.UNKNOWN)]
    buyers = gold.get("acheteurs", pd.DataFrame(columns=["siret", "nom", "categorie_acheteur"])).set_index("siret")
    out = []
    for siret in sorted(active["acheteur_id"].unique()):
        name = buyers["nom"].get(siret) if siret in buyers.index else None
        fig = sheet_figures(fiches, "acheteur_id", siret, period)
        html = render(f"{name or 'Acheteur'} — SIRET {siret} — clauses sociales, {period.title}",
                      "Fiche acheteur de l'observatoire des clauses sociales d'Île-de-France : marchés notifiés par "
                      "l'acheteur et heures d'insertion des opérations dont il est donneur d'ordre.",
                      _sheet_sections(fig, period), data=_flat(fig), nav=False)
        path = out_dir / f"acheteur-{siret}-{period.label}.html"
        path.write_text(html, encoding="utf-8")
        out.append(path)
    return out


def _flat(fig: dict) -> dict:
    return {"periode": fig["periode"], **{k: v for k, v in fig["courant"].items() if k != "secret"},
            "precedent": fig["precedent"], "trimestres": fig.get("trimestres")}
