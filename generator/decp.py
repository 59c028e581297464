"""Synthetic DECP files for IDF buyers, in the format of their period.

Contracts notified before 2024 are written in the 2019 format (schema 1.5.0, no social considerations),
later ones in the 2022 format (schema 2.0.3). Same seed, same bytes.

Calibration (domain.md §4.8): the share of contracts with a social consideration rises toward the
national 30 % target of the PNAD; the DAE counted > 58,000 contracts with an insertion clause in 2021.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from stdnum import luhn

from schemas import referential as ref

# (CPV, share of draws): works, services, supplies, as in the IDF mix of DECP.
CPV_CODES = [
    ("45000000", 12), ("45210000", 8), ("45233140", 6), ("45453000", 6), ("45310000", 5),
    ("90910000", 8), ("77310000", 6), ("79000000", 5), ("71000000", 6), ("55520000", 4), ("72000000", 4),
    ("30190000", 3), ("34100000", 2), ("09310000", 3), ("15000000", 3), ("39000000", 3),
]
PROCEDURES = [("Procédure adaptée", 60), ("Appel d'offres ouvert", 28), ("Appel d'offres restreint", 3),
              ("Procédure avec négociation", 4), ("Marché passé sans publicité ni mise en concurrence préalable", 5)]
# Share of contracts with each social consideration, by notification year (2022 format only).
SOCIAL_RATES = {2024: (0.14, 0.05, 0.02), 2025: (0.19, 0.07, 0.03), 2026: (0.24, 0.08, 0.03)}


@dataclass(frozen=True)
class DirtRates:
    """Share of records carrying each pitfall of domain.md §6 (one knob per class)."""

    invalid_siret: float = 0.01
    absurd_amount: float = 0.005
    duration_nc: float = 0.005
    republication: float = 0.02


def make_siret(rng: random.Random) -> str:
    base = f"{rng.randrange(10**7, 10**8)}"
    siren = base + luhn.calc_check_digit(base)
    nic = f"{rng.randrange(1, 10**3):04d}"[:4]
    return siren + nic + luhn.calc_check_digit(siren + nic)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def months(start: date, end: date):
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        yield date(y, m, 1)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def generate(out_dir: Path, n_contracts: int, start: date, end: date, seed: int = 42,
             dirt: DirtRates | None = None) -> list[Path]:
    """Write ``decp_<year>.json`` files into ``out_dir``; return their paths."""
    rng = random.Random(seed)
    dirt = dirt or DirtRates()
    communes = [c for c in ref.idf_communes() if c["type"] == "commune-actuelle"]
    weights = [int(c["population"] or 1) for c in communes]
    buyers = [(make_siret(rng), f"Commune de {c['nom']}") for c in rng.sample(communes, 40)]
    companies = [make_siret(rng) for _ in range(max(50, n_contracts // 6))]
    all_months = list(months(start, end))
    by_year: dict[int, list[dict]] = {}
    for i in range(n_contracts):
        month = all_months[i % len(all_months)]
        notified = month + timedelta(days=rng.randrange(28))
        published = min(notified + timedelta(days=rng.randrange(1, 60)), end + timedelta(days=27))
        buyer_id, buyer_name = rng.choice(buyers)
        commune = rng.choices(communes, weights=weights)[0]
        place = rng.random()
        if place < 0.6:
            lieu = {"code": commune["codes_postaux"].split("|")[0], "typeCode": "Code postal"}
        elif place < 0.9:
            lieu = {"code": commune["code_insee"], "typeCode": "Code commune"}
        else:
            lieu = {"code": commune["departement_code"], "typeCode": "Code département"}
        montant = round(min(rng.lognormvariate(11.9, 1.2), 5e7), 2)
        titulaires = [rng.choice(companies) for _ in range(1 if rng.random() < 0.85 else rng.randint(2, 3))]
        if rng.random() < dirt.invalid_siret:
            buyer_id = buyer_id[:-1] + str((int(buyer_id[-1]) + 1) % 10)
        if rng.random() < dirt.absurd_amount:
            montant = 1.0e17
        duree: int | str = rng.choice([3, 6, 12, 12, 24, 36, 48])
        if rng.random() < dirt.duration_nc:
            duree = "NC"
        cid = f"{notified.year}{i:07d}00"
        common = {"id": cid, "objet": f"Marché {i} de {buyer_name}", "codeCPV": _weighted(rng, CPV_CODES),
                  "procedure": _weighted(rng, PROCEDURES), "dureeMois": duree,
                  "dateNotification": notified.isoformat(), "datePublicationDonnees": published.isoformat(),
                  "montant": montant}
        if notified.year < 2024:
            record = {**common, "_type": "Marché", "acheteur": {"id": buyer_id, "nom": buyer_name},
                      "nature": "Marché", "lieuExecution": {**lieu, "nom": commune["nom"]},
                      "formePrix": "Révisable", "modifications": [],
                      "titulaires": [{"typeIdentifiant": "SIRET", "id": t, "denominationSociale": f"Entreprise {t[:9]}"}
                                     for t in titulaires]}
        else:
            clause, critere, reserve = SOCIAL_RATES.get(notified.year, SOCIAL_RATES[2026])
            social = [v for v, p in (("Clause sociale", clause), ("Critère social", critere),
                                     ("Marché réservé", reserve)) if rng.random() < p]
            record = {**common, "acheteur": {"id": buyer_id}, "nature": "Marché",
                      "techniques": {"technique": ["Sans objet"]},
                      "modalitesExecution": {"modaliteExecution": ["Sans objet"]}, "marcheInnovant": False,
                      "ccag": "Travaux" if common["codeCPV"].startswith("45") else "Fournitures courantes et services",
                      "offresRecues": rng.randint(1, 8), "attributionAvance": False,
                      "typeGroupementOperateurs": "Pas de groupement" if len(titulaires) == 1 else "Conjoint",
                      "lieuExecution": lieu, "typesPrix": {"typePrix": ["Définitif révisable"]},
                      "formePrix": "Forfaitaire", "sousTraitanceDeclaree": False,
                      "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": t}} for t in titulaires],
                      "considerationsSociales": {"considerationSociale": social or ["Pas de considération sociale"]},
                      "considerationsEnvironnementales": {
                          "considerationEnvironnementale": ["Pas de considération environnementale"]}}
        by_year.setdefault(notified.year, []).append(record)
        if rng.random() < dirt.republication:  # republished later by another platform: a duplicate
            by_year[notified.year].append(json.loads(json.dumps(record)))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for year, records in sorted(by_year.items()):
        doc = {"marches": records} if year < 2024 else {"marches": {"marche": records}}
        path = out_dir / f"decp_{year}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=None), encoding="utf-8")
        paths.append(path)
    return paths
