"""The one loader of the common referential (versioned data files under ``schemas/referential``)."""

from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

REFERENTIAL_DIR = Path(__file__).resolve().parent / "referential"
GEO_DIR = REFERENTIAL_DIR / "geo"
IDF_DEPARTEMENTS = ("75", "77", "78", "91", "92", "93", "94", "95")
COG_VINTAGE = "COG 2026"
DECP_START = date(2018, 10, 1)  # DECP open data starts in October 2018 (domain.md §1.1)
# Values the tables share for what no code list gives: one spelling each, everywhere.
UNKNOWN = "INCONNU"  # missing, or a label outside its referential list (listed in quality/values_to_map)
NOT_ALLOCATED = "NON_VENTILE"  # no département can be derived (region or country codes, unknown commune)
OUTSIDE_EPT = "HORS_EPT"  # outside the Métropole du Grand Paris' territories
ALL = "TOUTES"  # the row of all categories of a breakdown (each contract or person once)
TOTAL = "TOTAL"  # the total row of a person breakdown


def fold(value: str) -> str:
    """Case-, accent- and space-insensitive key used to match enum variants."""
    text = unicodedata.normalize("NFKD", value.strip().replace("’", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class CodeList:
    name: str
    values: tuple[str, ...]
    _lookup: dict[str, str]

    def canonical(self, value: object) -> str | None:
        """Canonical value for a raw value or one of its known variants; None when unknown."""
        if value is None:
            return None
        return self._lookup.get(fold(str(value)))


@cache
def code_list(name: str) -> CodeList:
    data = json.loads((REFERENTIAL_DIR / "decp_code_lists.json").read_text(encoding="utf-8"))
    entries = data[name]
    lookup: dict[str, str] = {}
    for canonical, variants in entries.items():
        for v in (canonical, *variants):
            lookup[fold(v)] = canonical
    return CodeList(name, tuple(entries), lookup)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def departements() -> dict[str, str]:
    """All French départements (code -> name), including DOM/COM codes."""
    return {r["code"]: r["nom"] for r in _read_csv(REFERENTIAL_DIR / "departements.csv")}


@cache
def idf_communes() -> tuple[dict[str, str], ...]:
    """IDF communes, Paris arrondissements and former communes (COG 2026)."""
    return tuple(_read_csv(GEO_DIR / "idf_communes_cog2026.csv"))


@cache
def insee_to_departement() -> dict[str, str]:
    return {r["code_insee"]: r["departement_code"] for r in idf_communes()}


@cache
def postal_to_departement() -> dict[str, str]:
    """Postal code -> département, for IDF postal codes that map to a single département."""
    seen: dict[str, set[str]] = {}
    for r in idf_communes():
        for cp in filter(None, r["codes_postaux"].split("|")):
            seen.setdefault(cp, set()).add(r["departement_code"])
    return {cp: next(iter(d)) for cp, d in seen.items() if len(d) == 1}


@cache
def social_consideration_categories() -> dict[str, tuple[str, str]]:
    """DECP social consideration (''= unknown) -> (category code, French label)."""
    rows = _read_csv(REFERENTIAL_DIR / "social_consideration_categories.csv")
    return {r["consideration"]: (r["category"], r["label_fr"]) for r in rows}


@cache
def social_considerations() -> tuple[str, ...]:
    """The DECP values that declare a social consideration ('Pas de considération sociale' does not)."""
    return tuple(k for k, (cat, _) in social_consideration_categories().items() if k and cat != "AUCUNE")


def idf_departements_geojson() -> dict:
    return json.loads((GEO_DIR / "idf_departements_2018.geojson").read_text(encoding="utf-8"))


@cache
def mgp_communes_geojson() -> dict:
    """Communes of the Métropole du Grand Paris (COG 2018 shapes, coordinates rounded to 1e-4°)."""
    return json.loads((GEO_DIR / "mgp_communes_2018.geojson").read_text(encoding="utf-8"))


def labels(name: str) -> dict[str, str]:
    """Code -> French label of a referential list (``schemas/referential/<name>.csv``)."""
    return {row["code"]: row.get("label_fr") or row["code"] for row in code_rows(name)}


def legal_modalities() -> tuple[dict[str, str], ...]:
    """Legal modalities of social clauses (domain.md §4.1-4.2) with their legacy labels."""
    return tuple(_read_csv(REFERENTIAL_DIR / "legal_modalities.csv"))


MAPPED_LISTS = ("market_types", "contract_types", "realisation_modalities", "outcomes", "diploma_levels",
                "prescribers", "structure_kinds", "eligibility_criteria", "sexes", "legal_modalities", "company_roles")


@cache
def code_rows(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a code list file ``schemas/referential/<name>.csv`` (each has at least ``code``)."""
    return tuple(_read_csv(REFERENTIAL_DIR / f"{name}.csv"))


@cache
def mapping(name: str) -> CodeList:
    """Raw label -> code for a referential list: the code itself, its label, article and every alias
    (``aliases`` or ``legacy_labels``, pipe-separated) match, folded (case, accents, spaces)."""
    lookup: dict[str, str] = {}
    codes = []
    for row in code_rows(name):
        codes.append(row["code"])
        labels = [row["code"], row.get("label_fr", ""), row.get("article", "")]
        labels += (row.get("aliases") or row.get("legacy_labels") or "").split("|")
        for label in filter(None, labels):
            lookup.setdefault(fold(label), row["code"])
    return CodeList(name, tuple(codes), lookup)


@cache
def cpv_market_type() -> dict[str, str]:
    """CPV division (2 digits) -> market type code (works / services / supplies)."""
    return {r["division"]: r["market_type"] for r in _read_csv(REFERENTIAL_DIR / "cpv_divisions.csv")}


@cache
def age_bands() -> tuple[tuple[str, int, int], ...]:
    return tuple((r["code"], int(r["min_age"]), int(r["max_age"])) for r in code_rows("age_bands"))


@cache
def commune_attributes() -> dict[str, dict[str, str]]:
    """INSEE code -> département, EPT and MGP membership (IDF communes, COG 2026)."""
    return {r["code_insee"]: {"departement": r["departement_code"], "ept": r["ept_code"] or None,
                              "in_mgp": r["in_mgp"] == "oui"} for r in idf_communes()}


@cache
def buyer_categories() -> tuple[tuple[str, str], ...]:
    """(catégorie juridique prefix, buyer category), longest prefixes first (SIRENE nomenclature)."""
    rows = sorted(_read_csv(REFERENTIAL_DIR / "buyer_categories.csv"), key=lambda r: -len(r["prefix"]))
    return tuple((r["prefix"], r["code"]) for r in rows)


@cache
def dynamic_outcomes() -> tuple[str, ...]:
    """Outcome codes that are 'sorties dynamiques' (durable job, transition job, positive exit)."""
    return tuple(r["code"] for r in code_rows("outcomes") if r["dynamic"] == "true")


@cache
def target(code: str) -> float:
    """A published target (share) of the observatory's indicators, from ``targets.csv``."""
    return float(next(r["value"] for r in _read_csv(REFERENTIAL_DIR / "targets.csv") if r["code"] == code))
