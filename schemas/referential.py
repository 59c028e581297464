"""The one loader of the common referential (versioned data files under ``schemas/referential``)."""

from __future__ import annotations

import csv
import json
import re
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


# --- the one label normaliser ----------------------------------------------------------------------
# ``fold`` (here) and its Spark twin (``jobs.core.labels.spark_fold``) give the same key for a label; the
# twin is built from the tables below, so both follow one definition (tested equal on every referential label).
APOSTROPHES = "'’‘ʼ`´"  # U+02BC is a letter for Unicode: folded to a space like the others
# Symbols that carry meaning, spelt out before punctuation goes: "CDD ≥ 6 mois", "+50 ans", "Objectif (%)".
SYMBOLS = ((r"[≥>]=?|\+", " plus de "), (r"[≤<]=?", " moins de "), (r"%", " pct "))
LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"}
# Characters the Spark twin maps one by one (Latin letters of French exports, combining accents, spaces and
# punctuation of General Punctuation, €, №); outside them both sides keep letters and digits and blank the rest.
FOLD_RANGES = ((0x80, 0x180), (0x2B0, 0x370), (0x1E00, 0x1F00), (0x2000, 0x2070), (0x20AC, 0x20AD), (0x2116, 0x2117))
# Article references: "art.", "Art", "articles" -> "article"; "L.2112-2", "L 2112-2" -> "l2112 2"; "article
# L2112-2" -> "l2112 2". A label holding exactly one reference is keyed by it ("Clause d'insertion (art. 14)"
# -> "article 14"); several different references leave the whole label as the key (ambiguous: not matched).
ARTICLE_WORD = (r"\b(?:art|arts|article|articles)\b", "article")
CODED_ARTICLE = r"\b([lrd]) ?([0-9]{3,4})\b"  # replaced by group 1 + group 2
ARTICLE_BEFORE_CODED = r"\barticle (?=[lrd][0-9]{3,4}\b)"
REFERENCE = r"\b[lrd][0-9]{3,4}(?: [0-9]{1,2}\b)*|\barticle [0-9]{1,3}(?: (?:i|ii|iii|iv)\b)?"
_SYMBOLS = tuple((re.compile(p), r) for p, r in SYMBOLS)
_ARTICLE_WORD = re.compile(ARTICLE_WORD[0])
_CODED_ARTICLE = re.compile(CODED_ARTICLE)
_ARTICLE_BEFORE_CODED = re.compile(ARTICLE_BEFORE_CODED)
_REFERENCE = re.compile(REFERENCE)


def _fold_chars(text: str) -> str:
    """Per character: apostrophes and punctuation to spaces, accents off, ligatures spelt out, case folded."""
    text = text.translate({ord(a): " " for a in APOSTROPHES})
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    for a, b in LIGATURES.items():
        text = text.replace(a, b)
    return "".join(c if c.isalnum() else " " for c in text.casefold())


def fold_text(value: str) -> str:
    """Case, accents, ligatures, apostrophes, punctuation and every kind of space (NBSP, narrow NBSP...)
    folded: "Clause  d’Insertion" -> "clause d insertion". No article handling (see ``fold``)."""
    text = value
    for pattern, repl in _SYMBOLS:
        text = pattern.sub(repl, text)
    return " ".join(_fold_chars(text).split())


def fold(value: str) -> str:
    """The key a label is matched on, everywhere (referential lists, DECP enums, file headers): ``fold_text``
    plus article references ("Art.38", "article L.2112-2 du CCP", "Clause d'insertion (art. 14)")."""
    text = _ARTICLE_WORD.sub(ARTICLE_WORD[1], fold_text(value))
    text = _ARTICLE_BEFORE_CODED.sub("", _CODED_ARTICLE.sub(r"\1\2", text))
    refs = {m.group(0) for m in _REFERENCE.finditer(text)}
    return refs.pop() if len(refs) == 1 else text


def fold_char_tables() -> tuple[str, str, str, dict[str, str]]:
    """What the Spark twin needs: (characters mapped to one character, their images, characters deleted,
    characters mapped to several characters), computed from ``_fold_chars`` over ``FOLD_RANGES``."""
    src, dst, deleted, multi = [], [], [], {}
    for lo, hi in FOLD_RANGES:
        for c in map(chr, range(lo, hi)):
            image = _fold_chars(c)
            if image.strip() == "" and image:
                image = " "
            if image == c:
                continue
            if image == "":
                deleted.append(c)
            elif len(image) == 1:
                src.append(c)
                dst.append(image)
            else:
                multi[c] = image
    return "".join(src), "".join(dst), "".join(deleted), multi


@dataclass(frozen=True)
class CodeList:
    name: str
    values: tuple[str, ...]
    _lookup: dict[str, str]
    contains: tuple[tuple[str, str], ...] = ()  # (folded phrase, code): a label holding the phrase has the code

    def code_of_key(self, key: str) -> str | None:
        """Code of a folded key: an alias, else the one code whose phrases the key holds (whole words)."""
        if key in self._lookup:
            return self._lookup[key]
        hits = {code for phrase, code in self.contains if f" {phrase} " in f" {key} "}
        return hits.pop() if len(hits) == 1 else None

    def canonical(self, value: object) -> str | None:
        """Canonical value for a raw value or one of its known variants; None when unknown or ambiguous."""
        if value is None:
            return None
        return self.code_of_key(fold(str(value)))


@cache
def code_list(name: str) -> CodeList:
    data = json.loads((REFERENTIAL_DIR / "decp_code_lists.json").read_text(encoding="utf-8"))
    entries = data[name]
    lookup: dict[str, str] = {}
    for canonical, variants in entries.items():
        for v in (canonical, *variants):
            _add_label(lookup, f"decp_code_lists.json[{name}]", v, canonical)
    return CodeList(name, tuple(entries), lookup)


class ReferentialError(ValueError):
    """A referential file that cannot be trusted: the message names the file and the line."""


def _read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a referential CSV; a row with more or fewer fields than the header is refused (an unquoted
    comma would shift every later field of the row)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = []
        for values in reader:
            if len(values) != len(header):
                raise ReferentialError(f"{path.name}:{reader.line_num}: {len(values)} fields where the header has "
                                       f"{len(header)} (unquoted comma?)")
            rows.append(dict(zip(header, values, strict=True)))
    return rows


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
                "grand_projects", "prescribers", "structure_kinds", "eligibility_criteria", "sexes",
                "legal_modalities", "company_roles")


@cache
def code_rows(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a code list file ``schemas/referential/<name>.csv`` (each has at least ``code``)."""
    return tuple(_read_csv(REFERENTIAL_DIR / f"{name}.csv"))


def _add_label(lookup: dict[str, str], where: str, label: str, code: str) -> None:
    key = fold(label)
    if lookup.setdefault(key, code) != code:
        raise ReferentialError(f"{where}: label {label!r} (key {key!r}) names both {lookup[key]} and {code}")


@cache
def mapping(name: str) -> CodeList:
    """Raw label -> code for a referential list: the code itself, its label, article and every alias
    (``aliases`` or ``legacy_labels``, pipe-separated) match, folded by ``fold``; ``contains`` phrases match
    inside a longer label. A label naming two codes is an error of the list, never a silent first choice."""
    lookup: dict[str, str] = {}
    contains: list[tuple[str, str]] = []
    codes = []
    for row in code_rows(name):
        codes.append(row["code"])
        labels = [row["code"], row.get("label_fr", ""), row.get("article", "")]
        labels += (row.get("aliases") or row.get("legacy_labels") or "").split("|")
        for label in filter(None, labels):
            _add_label(lookup, f"{name}.csv", label, row["code"])
        contains += [(fold(p), row["code"]) for p in filter(None, (row.get("contains") or "").split("|"))]
    return CodeList(name, tuple(codes), lookup, tuple(contains))


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
