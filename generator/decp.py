"""DECP records of synthetic contracts, in the format of their period, with optional dirt.

Contracts notified before 2024 are written in the 2019 format (schema 1.5.0, no social considerations),
later ones in the 2022 format (schema 2.0.3).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# (CPV, weight): works, services, supplies, roughly the IDF mix of DECP.
CPV_CODES = [
    ("45000000", 12), ("45210000", 8), ("45233140", 6), ("45453000", 6), ("45310000", 5),
    ("90910000", 8), ("77310000", 6), ("79000000", 5), ("71000000", 6), ("55520000", 4), ("72000000", 4),
    ("30190000", 3), ("34100000", 2), ("09310000", 3), ("15000000", 3), ("39000000", 3),
]
PROCEDURES = [("Procédure adaptée", 60), ("Appel d'offres ouvert", 28), ("Appel d'offres restreint", 3),
              ("Procédure avec négociation", 4), ("Marché passé sans publicité ni mise en concurrence préalable", 5)]


@dataclass(frozen=True)
class DirtRates:
    """Share of DECP records carrying each pitfall class of domain.md §6 (one knob per class)."""

    republication: float = 0.02  # §6.1 the same contract published again
    titulaire_shapes: float = 0.02  # §6.3 nested lists, single object, empty blocks (readable: no rejection)
    invalid_siret: float = 0.01  # §6.3 Luhn-invalid buyer SIRET
    absurd_amount: float = 0.005  # §6.4 1e17
    bad_date: float = 0.003  # §6.5 year 5021, textual dates
    enum_variants: float = 0.02  # §6.6 upper case, missing accents (normalised, not rejected)
    duration_nc: float = 0.005  # §6.6 dureeMois "NC"
    combined_considerations: float = 0.003  # §6.6 "Pas de considération sociale" + another value
    flattened_keys: float = 0.01  # §6.7 "acheteur.id"
    cpv_check_digit: float = 0.05  # §6.8 "45000000-7" (readable)
    placeholder_amount: float = 0.01  # §6.4 123456789, 999999999... (flagged, excluded from sums, contract kept)
    foreign_titulaire: float = 0.01  # §6.3 a holder identified by a VAT number or another non-SIRET id

    @classmethod
    def clean(cls) -> DirtRates:
        return cls(**{k: 0.0 for k in cls.__dataclass_fields__})


def social_considerations(modality: str | None, rng: random.Random) -> list[str]:
    """What the buyer declares in DECP 2022 for the contract's actual clause (declarations are imperfect)."""
    if modality is None:
        return ["Clause sociale"] if rng.random() < 0.01 else ["Pas de considération sociale"]
    if modality.startswith("MARCHE_RESERVE"):
        return ["Marché réservé"]
    if modality == "CRITERE_ATTRIBUTION_R2152_7":
        return ["Clause sociale", "Critère social"] if rng.random() < 0.6 else ["Critère social"]
    if rng.random() < 0.12:  # under-declaration: the clause exists but the buyer did not say so
        return ["Pas de considération sociale"]
    return ["Clause sociale"]


def decp_record(c: dict, rng: random.Random) -> dict:
    """The clean DECP record of contract ``c`` in the format of its notification year."""
    common = {"id": c["id"], "objet": c["objet"], "codeCPV": c["cpv"], "procedure": c["procedure"],
              "dureeMois": c["duree"], "dateNotification": c["notified"].isoformat(),
              "datePublicationDonnees": c["published"].isoformat(), "montant": c["montant"]}
    if c["notified"].year < 2024:
        return {**common, "_type": "Marché", "acheteur": {"id": c["buyer"].siret, "nom": c["buyer"].name},
                "nature": "Marché", "lieuExecution": {**c["lieu"], "nom": c["commune"]["nom"]},
                "formePrix": "Révisable", "modifications": [],
                "titulaires": [{"typeIdentifiant": "SIRET", "id": t.siret, "denominationSociale": t.name}
                               for t in c["titulaires"]]}
    works = c["cpv"].startswith("45")
    return {**common, "acheteur": {"id": c["buyer"].siret}, "nature": "Marché",
            "techniques": {"technique": ["Sans objet"]}, "modalitesExecution": {"modaliteExecution": ["Sans objet"]},
            "marcheInnovant": False, "ccag": "Travaux" if works else "Fournitures courantes et services",
            "offresRecues": rng.randint(1, 8), "attributionAvance": False,
            "typeGroupementOperateurs": "Pas de groupement" if len(c["titulaires"]) == 1 else "Conjoint",
            "lieuExecution": c["lieu"], "typesPrix": {"typePrix": ["Définitif révisable"]}, "formePrix": "Forfaitaire",
            "sousTraitanceDeclaree": False,
            "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": t.siret}} for t in c["titulaires"]],
            "considerationsSociales": {"considerationSociale": social_considerations(c["modality"], rng)},
            "considerationsEnvironnementales": {
                "considerationEnvironnementale": ["Pas de considération environnementale"]}}


PLACEHOLDER_AMOUNTS = (123456789, 123456789.0, 1234567890, 999999999, 99999999.99, 1111111111)
# (typeIdentifiant as published, id, name): foreign holders, with the spellings real files use.
FOREIGN_TITULAIRES = (("TVA", "DE814864138", "Hellman GmbH"), ("TVA-intracommunautaire", "BE0123456749", "Bouw NV"),
                      ("TVA intracommunautaire", "IT01234567897", "Costruzioni Srl"),
                      ("HORS-UE", "CHE-105.815.381", "Bau AG"), ("HORS_UE", "GB123456789", "Build Ltd"))


def add_dirt(record: dict, rng: random.Random, dirt: DirtRates, rng_amounts: random.Random | None = None) -> dict:
    """``record`` with the pitfalls drawn for it. The classes added with issue 17 (placeholder amounts, foreign
    holders) draw from ``rng_amounts``, their own seeded stream: the rest of the data stays as it was."""
    r = record
    extra = rng_amounts or rng
    if rng.random() < dirt.titulaire_shapes and r["titulaires"]:
        r["titulaires"] = rng.choice([[r["titulaires"]], r["titulaires"] + [{}], r["titulaires"][0]])
    if rng.random() < dirt.invalid_siret:
        s = r["acheteur"]["id"]
        r["acheteur"]["id"] = s[:-1] + str((int(s[-1]) + 1) % 10)
    if rng.random() < dirt.absurd_amount:
        r["montant"] = 1.0e17
    if rng.random() < dirt.bad_date:
        d = date.fromisoformat(r["dateNotification"])
        r["dateNotification"] = rng.choice([f"5{d.isoformat()[1:]}", d.strftime("%B, %d %Y 00:00:00")])
    if rng.random() < dirt.enum_variants:
        r["nature"] = "MARCHE"
        r["lieuExecution"]["typeCode"] = r["lieuExecution"]["typeCode"].upper()
    if rng.random() < dirt.duration_nc:
        r["dureeMois"] = "NC"
    if "considerationsSociales" in r and rng.random() < dirt.combined_considerations:
        r["considerationsSociales"] = {"considerationSociale": ["Pas de considération sociale", "Clause sociale"]}
    if rng.random() < dirt.cpv_check_digit:
        r["codeCPV"] = r["codeCPV"] + "-" + str(rng.randint(0, 9))
    if rng.random() < dirt.flattened_keys:
        r["acheteur.id"] = r.pop("acheteur")["id"]
    if extra.random() < dirt.placeholder_amount:
        r["montant"] = extra.choice(PLACEHOLDER_AMOUNTS)
    if extra.random() < dirt.foreign_titulaire and isinstance(r["titulaires"], list) \
            and r["titulaires"] and isinstance(r["titulaires"][0], dict) and r["titulaires"][0]:
        kind, tid, name = extra.choice(FOREIGN_TITULAIRES)
        first = r["titulaires"][0]
        if "titulaire" in first:  # 2022 format: wrapped, no name
            r["titulaires"][0] = {"titulaire": {"typeIdentifiant": kind, "id": tid}}
        else:
            r["titulaires"][0] = {"typeIdentifiant": kind, "id": tid, "denominationSociale": name}
    return r


def republished(record: dict) -> dict:
    """The same contract published again later (another platform): a duplicate to resolve."""
    return copy.deepcopy(record)


def file_name(month: date, xml: bool) -> str:
    return f"decp_{month:%Y-%m}.{'xml' if xml else 'json'}"


def format_of(month: date) -> str:
    return "2019" if month.year < 2024 else "2022"


def out_path(folder: Path, month: date, xml: bool) -> Path:
    return folder / file_name(month, xml)
