"""The shared synthetic world: buyers, companies, structures, facilitators, persons.

Everything every source file refers to comes from here, so the sources agree with each other: the
SIRETs of DECP titulaires are in SIRENE and (for SIAE) in the structures register; facilitators'
operations point at DECP contracts; Grand Paris contracts are DECP contracts of the programme's owners.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field

from stdnum import luhn

from jobs.core.settings import PROJECT_ROOT
from schemas import referential as ref


def make_siren(rng: random.Random) -> str:
    base = f"{rng.randrange(10**7, 10**8)}"
    return base + luhn.calc_check_digit(base)


def make_siret(rng: random.Random, siren: str | None = None) -> str:
    siren = siren or make_siren(rng)
    nic = f"{rng.randrange(1, 10**4):04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


@dataclass(frozen=True)
class Buyer:
    siret: str
    name: str
    categorie_juridique: str  # SIRENE catégorie juridique: 7210 commune, 7220 département, 4110 EPIC...
    commune: dict
    grand_paris: bool = False


@dataclass(frozen=True)
class Company:
    siret: str
    name: str
    naf: str
    tranche_effectifs: str
    categorie: str  # PME | ETI | GE (SIRENE categorieEntreprise)
    commune: dict
    ess: bool = False
    structure_kind: str | None = None  # SIAE kind, EA, ESAT, GEIQ when it is an insertion structure
    from_register_sample: bool = False  # a real SIAE of samples/siae (already in the register file)


# Grand Paris programme's owners (domain.md §4.8, §2.4): SGP, Solideo, RATP, SNCF Réseau.
GRAND_PARIS_OWNERS = [
    ("Société des grands projets", "4110", "GPE"),
    ("Société de livraison des ouvrages olympiques", "4110", "JOP"),
    ("RATP", "4110", "GPE"),
    ("SNCF Réseau", "4110", "GPE"),
]
GRAND_PARIS_OPERATIONS = {
    "GPE": ["GPE ligne 14 Sud", "GPE ligne 15 Sud", "GPE ligne 15 Ouest", "GPE ligne 15 Est", "GPE ligne 16",
            "GPE ligne 17", "GPE ligne 18"],
    "JOP": ["JOP village des athlètes", "JOP centre aquatique", "JOP village des médias"],
}
FACILITATORS = ["clause75", "clause77", "clause78", "clause91", "clause92", "clause93", "clause94", "clause95"]


@dataclass
class World:
    rng: random.Random
    communes: list[dict]
    commune_weights: list[int]
    buyers: list[Buyer]
    companies: list[Company]
    structures: list[Company]
    structure_by_kind: dict[str, list[Company]] = field(default_factory=dict)

    def commune(self) -> dict:
        return self.rng.choices(self.communes, weights=self.commune_weights)[0]


def _siae_sample() -> list[dict]:
    with (PROJECT_ROOT / "samples" / "siae" / "lemarche_fixture_siae_idf.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def build_world(seed: int, n_contracts: int) -> World:
    rng = random.Random(seed)
    communes = [c for c in ref.idf_communes() if c["type"] == "commune-actuelle"]
    by_insee = {c["code_insee"]: c for c in communes}
    weights = [max(1, int(c["population"] or 1)) for c in communes]
    buyers = []
    for c in rng.sample(communes, 60):
        buyers.append(Buyer(make_siret(rng), f"Commune de {c['nom']}", "7210", c))
    for dep in ref.IDF_DEPARTEMENTS:
        chef = next(c for c in communes if c["departement_code"] == dep)
        buyers.append(Buyer(make_siret(rng), f"Département {ref.departements()[dep]}", "7220", chef))
    paris = by_insee["75056"]
    for name, cat, _ in GRAND_PARIS_OWNERS:
        buyers.append(Buyer(make_siret(rng), name, cat, paris, grand_paris=True))

    companies = []
    for i in range(max(60, n_contracts // 8)):
        c = rng.choices(communes, weights=weights)[0]
        size = rng.choices(["PME", "ETI", "GE"], weights=[80, 15, 5])[0]
        tranche = {"PME": rng.choice(["01", "02", "03", "11", "12", "21"]), "ETI": rng.choice(["31", "32", "41"]),
                   "GE": rng.choice(["42", "51", "52", "53"])}[size]
        naf = rng.choice(["4120A", "4321A", "4399C", "8121Z", "4211Z", "7112B", "8130Z", "4941A", "5629A"])
        companies.append(Company(make_siret(rng), f"Entreprise {i:06d}", naf, tranche, size, c,
                                 ess=rng.random() < 0.05))

    structures = []
    for row in _siae_sample():  # real SIAE of the register sample: their SIRETs appear in every source
        commune = next((c for c in communes if row["post_code"] in c["codes_postaux"].split("|")), paris)
        structures.append(Company(row["siret"], row["name"], row["naf"] or "8899B", "11", "PME", commune,
                                  ess=True, structure_kind=row["kind"], from_register_sample=True))
    for kind, n in (("EA", 25), ("ESAT", 25), ("GEIQ", 8)):
        for i in range(n):
            c = rng.choices(communes, weights=weights)[0]
            structures.append(Company(make_siret(rng), f"{kind} {c['nom']} {i}", "8810C", "12", "PME", c,
                                      ess=True, structure_kind=kind))
    by_kind: dict[str, list[Company]] = {}
    for s in structures:
        by_kind.setdefault(s.structure_kind, []).append(s)
    return World(rng, communes, weights, buyers, companies, structures, by_kind)
