"""Generate every source of the observatory, consistently, for a month range and a number of contracts.

Calibration (domain.md §4.8): nationally in 2021, > 58,000 contracts with an insertion clause gave
> 25 M hours and 75,194 work contracts (≈ 430 hours and 1.3 work contracts per contract); IDF counted
6.3 M hours and 12,364 beneficiaries in 2021, 15 % women, 28.2 % under 26, ~15 % living in a QPV,
grands projets ≈ 27 % of hours. The share of contracts with a social clause rises toward the national
30 % target (PNAD) over the years. Same seed and arguments: same bytes.
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from generator import decp
from generator.world import FACILITATORS, GRAND_PARIS_OPERATIONS, GRAND_PARIS_OWNERS, Company, build_world
from generator.writers import CsvFiles, DecpJsonWriter, DecpXmlWriter
from schemas import referential as ref
from schemas.sources import source_contract

CLAUSE_RATE = {2018: 0.07, 2019: 0.08, 2020: 0.09, 2021: 0.11, 2022: 0.13, 2023: 0.15, 2024: 0.18, 2025: 0.22,
               2026: 0.26}
MODALITIES = [("CLAUSE_EXECUTION_L2112_2", 78), ("CRITERE_ATTRIBUTION_R2152_7", 8), ("MARCHE_RESERVE_SIAE_L2113_13", 5),
              ("MARCHE_RESERVE_HANDICAP_L2113_12", 3), ("MARCHE_INSERTION_QUALIFICATION", 6)]
REALISATION = [("embauche directe", 32), ("mise à disposition ETTI", 30), ("mise à disposition AI", 8),
               ("GEIQ", 5), ("sous-traitance SIAE", 15), ("co-traitance SIAE", 5), ("formation", 5)]
CONTRACT_TYPES = {"embauche directe": [("CDD", 45), ("CDI", 15), ("Contrat de professionnalisation", 20),
                                       ("Contrat d'apprentissage", 20)],
                  "mise à disposition ETTI": [("Contrat de mission intérimaire d'insertion", 1)],
                  "mise à disposition AI": [("Mise à disposition AI", 1)],
                  "GEIQ": [("Contrat de professionnalisation", 1)],
                  "sous-traitance SIAE": [("CDDI", 1)], "co-traitance SIAE": [("CDDI", 1)],
                  "formation": [("Contrat de professionnalisation", 1)]}
DIPLOMAS = [("infra 3", 35), ("3", 35), ("4", 20), ("5", 7), ("6", 3)]
CRITERIA = [("DELD", 40), ("RSA", 25), ("JEUNE", 25), ("TH", 8), ("SENIOR", 10), ("ASS", 5), ("PLIE", 5)]
PRESCRIBERS = [("France Travail", 45), ("Mission locale", 25), ("PLIE", 15), ("Cap emploi", 5),
               ("Service social du département", 5), ("Autre", 5)]
# Situations as facilitators' tools write them (DGEFP categories, domain.md §4.6), non-responses included.
OUTCOMES = [("CDI", 9), ("CDD de 6 mois et plus", 7), ("Création d'entreprise", 2), ("emploi durable", 5),
            ("CDD de moins de 6 mois", 11), ("Intérim de moins de 6 mois", 8), ("emploi de transition", 6),
            ("Formation qualifiante", 7), ("Embauche dans une autre SIAE", 3), ("sortie positive", 3),
            ("Demandeur d'emploi", 15), ("autre", 6), ("Sans nouvelle", 18)]
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Diallo", "Traoré", "Nguyen", "Benali",
            "Lefebvre", "Moreau", "Girard", "Mercier", "Bonnet", "Fontaine", "Chevalier", "Garnier", "Faure",
            "Rousseau", "Blanchard", "Guérin", "Boyer", "Lemoine", "Kone", "Camara", "Cissé", "Haddad",
            "Mansouri", "Belkacem", "Tran", "Pham", "Da Silva", "Ferreira", "Le Gall", "N'Diaye", "Saint-Louis",
            "Dumont", "Lacroix", "Barbier"]
FIRST_NAMES = ["Marie", "Karim", "Fatou", "Lucas", "Inès", "Mamadou", "Julie", "Youssef", "Léa", "Ousmane",
               "Nadia", "Hugo", "Aïcha", "Théo", "Samira", "Moussa", "Chloé", "Bilal", "Manon", "Ibrahima",
               "Sarah", "Nathan", "Yasmine", "Kevin", "Awa", "Mehdi", "Camille", "Amadou", "Zoé", "Rayan",
               "Jean-Pierre", "Anne-Sophie", "Éloïse", "Sékou", "Mariam", "Adrien", "Kenza", "Bakary", "Elodie",
               "Hamza"]
# Ambiguous labels some tools write: never mapped by the pipeline, listed for the data steward.
AMBIGUOUS = {"type_contrat": "Mise à disposition", "situation": "Formation"}


@dataclass(frozen=True)
class FacilitatorDirt:
    """Pitfalls of facilitators' exports (domain.md §6, §4.3), one knob each."""

    negative_hours: float = 0.002
    hours_outside_contract: float = 0.003
    unknown_modality_label: float = 0.01
    invalid_siret: float = 0.005
    contract_beyond_operation: float = 0.003  # the work contract (and its hours) runs 2 months past the operation
    split_hours_lines: float = 0.02  # a month's hours written as two lines of the same export (summed)
    corrected_hours: float = 0.005  # a month's hours sent again, corrected, in a later "rectificatif" export
    ambiguous_labels: float = 0.005  # "Mise à disposition" as contract type, "Formation" as situation
    missing_birth_date: float = 0.01  # no birth date: the person cannot be linked across facilitators
    shared_person: float = 0.06  # a new participant is a person another facilitator already follows

    @classmethod
    def clean(cls) -> FacilitatorDirt:
        return cls(**{k: 0.0 for k in cls.__dataclass_fields__})


# Per facilitator: encoding, separator, header style, date style, decimal comma.
DIALECTS = {
    "clause75": ("utf-8", ";", "name", "fr", True), "clause77": ("cp1252", ";", "syn0", "fr", True),
    "clause78": ("utf-8-sig", ",", "syn1", "iso", False), "clause91": ("utf-8", ",", "name", "iso", False),
    "clause92": ("cp1252", ";", "syn0", "fr", True), "clause93": ("cp1252", ";", "software", "fr", True),
    "clause94": ("utf-8", "\t", "syn1", "fr", True), "clause95": ("utf-8", "|", "syn0", "iso", False),
}
# The headers of the "Clause"-like tracking software (header style "software"), in its one-file export and in
# its per-entity exports alike. Some are the contract's synonyms; the others ("N° opé", "Base juridique"...)
# are declared in the facilitator's declaration (schemas/sources/facilitateurs/clause93.yaml).
SOFTWARE_HEADERS = {
    "operations": {"facilitateur_marche_id": "N° opé", "donneur_ordre_siret": "SIRET donneur d'ordre",
                   "donneur_ordre_nom": "Donneur d'ordre", "decp_id": "Identifiant DECP", "objet": "Objet du marché",
                   "type_marche": "Type de marché", "modalite_juridique": "Base juridique",
                   "date_notification": "Date de notification", "date_debut": "Début opération",
                   "date_fin": "Fin opération", "heures_objectif": "Heures contractuelles",
                   "commune_execution_insee": "Code INSEE exécution", "grand_projet": "Grand projet",
                   "facilitateur_structure": "Structure facilitatrice"},
    "entreprises": {"facilitateur_marche_id": "N° opé", "siret": "SIRET employeur", "raison_sociale": "Employeur",
                    "role": "Rôle employeur", "type_structure": "Type employeur"},
    "participants": {"participant_id": "Réf. personne", "nom": "Nom", "prenom": "Prénom", "sexe": "H/F",
                     "date_naissance": "Date de naissance", "niveau_diplome": "Niveau de diplôme",
                     "criteres_eligibilite": "Critères", "commune_residence_insee": "Commune de résidence",
                     "qpv": "QPV", "prescripteur": "Prescripteur", "date_entree": "Date d'entrée",
                     "telephone": "Téléphone"},
    "contrats": {"contrat_id": "Réf. contrat", "participant_id": "Réf. personne", "facilitateur_marche_id": "N° opé",
                 "entreprise_siret": "SIRET employeur", "modalite_realisation": "Modalité de réalisation",
                 "type_contrat": "Type de contrat", "date_debut": "Début contrat", "date_fin": "Fin contrat"},
    "heures": {"contrat_id": "Réf. contrat", "mois": "Mois", "heures_realisees": "Heures du mois"},
    "sorties": {"participant_id": "Réf. personne", "contrat_id": "Réf. contrat",
                "date_situation": "Date de la situation", "situation": "Situation à 6 mois", "detail": "Précision"},
}
# Columns of a one-file export, in order: each (entity, column) once; shared identifiers and the employer's
# SIRET appear once (the same header feeds every entity holding them).
WIDE_COLUMNS = [(e, c) for e, cols in SOFTWARE_HEADERS.items() for c in cols
                if not (e != "operations" and c == "facilitateur_marche_id") and not (e == "contrats" and c in (
                    "participant_id", "entreprise_siret")) and not (e in ("heures", "sorties") and c in (
                        "contrat_id", "participant_id"))]


def months(start: date, end: date):
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        yield date(y, m, 1)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


@dataclass
class Summary:
    contracts: int = 0
    decp_records: int = 0
    clause_contracts: int = 0
    operations: int = 0
    participants: int = 0
    work_contracts: int = 0
    hours_rows: int = 0
    hours_total: float = 0.0  # every line written (negative and refused lines included, corrections not)
    hours_lines_split: int = 0
    hours_corrected: int = 0
    shared_participants: int = 0  # participants who are a person another facilitator follows
    grand_paris_contracts: int = 0
    wide_lines: int = 0
    files: list[str] = field(default_factory=list)


class Facilitators:
    """Writes each facilitator's exports, in its own dialect and with its own headers: six files (one per
    entity) or, for the facilitators in ``wide``, one file (one line per work contract and month repeating the
    operation, the employer and the person, plus one line per company of an operation). Both layouts hold the
    same data: the random draws do not depend on the layout."""

    def __init__(self, root: Path, rng: random.Random, dirt: FacilitatorDirt, period: str = "year",
                 wide: tuple[str, ...] = ()):
        self.root, self.rng, self.dirt, self.period, self.wide = root, rng, dirt, period, set(wide)
        unknown = self.wide - set(FACILITATORS)
        if unknown:
            raise ValueError(f"no facilitator {sorted(unknown)} in the synthetic world ({', '.join(FACILITATORS)})")
        self.contract = source_contract("facilitateurs")
        self.files = CsvFiles()
        self.pools: dict[str, deque] = {f: deque(maxlen=3000) for f in FACILITATORS}
        self.people: dict[str, dict[str, dict]] = {f: {} for f in self.wide}  # attributes of the pooled persons
        self.counters: dict[str, int] = dict.fromkeys(FACILITATORS, 0)
        self.legacy_labels = {r["code"]: modality_labels(r) for r in ref.legal_modalities()}
        # Recent persons of each facilitator (surname, first name, birth date, sex): others may follow them too.
        self.identities: dict[str, deque] = {f: deque(maxlen=1000) for f in FACILITATORS}

    def _header(self, fac: str, entity: str, column: str) -> str:
        style = DIALECTS[fac][2]
        col = next(c for c in self.contract.entities[entity].columns if c.name == column)
        if style == "software":
            label = SOFTWARE_HEADERS.get(entity, {}).get(column)
            if label:
                return label
            style = "syn0"
        if style == "syn1" and len(col.synonyms) > 1:
            return col.synonyms[1]
        if style in ("syn0", "syn1") and col.synonyms:
            return col.synonyms[0]
        return column

    def _date(self, fac: str, d: date | None) -> str | None:
        if d is None:
            return None
        return d.strftime("%d/%m/%Y") if DIALECTS[fac][3] == "fr" else d.isoformat()

    def _num(self, fac: str, x: float) -> str:
        text = f"{x:.2f}".rstrip("0").rstrip(".")
        return text.replace(".", ",") if DIALECTS[fac][4] else text

    def _path(self, fac: str, name: str, when: date, suffix: str = "") -> Path:
        label = f"{when:%Y-%m}" if self.period == "month" else f"{when:%Y}"
        return self.root / f"{fac}_{name}_{label}{suffix}.csv"

    def write(self, fac: str, entity: str, when: date, row: dict, suffix: str = "") -> None:
        """Rows go to the export of their period (year, or month with ``period="month"``); ``suffix`` names a
        later export of the same period (``_rectificatif`` sorts after the period's own file)."""
        if fac in self.wide:
            return  # written as lines of the one-file export (``write_line``)
        encoding, delimiter = DIALECTS[fac][:2]
        columns = list(row)
        self.files.write(self._path(fac, entity, when, suffix), [self._header(fac, entity, c) for c in columns],
                         list(row.values()), encoding, delimiter)

    def write_line(self, fac: str, when: date, parts: dict[str, dict], summary: Summary) -> None:
        """One line of a one-file export: the values of the given entities, empty cells elsewhere."""
        encoding, delimiter = DIALECTS[fac][:2]
        values = [parts.get(e, {}).get(c) for e, c in WIDE_COLUMNS]
        self.files.write(self._path(fac, "export", when), [SOFTWARE_HEADERS[e][c] for e, c in WIDE_COLUMNS], values,
                         encoding, delimiter)
        summary.wide_lines += 1

    def operation(self, c: dict, summary: Summary) -> None:
        rng, fac = self.rng, c["facilitator"]
        start = c["notified"] + timedelta(days=rng.randrange(10, 60))
        end = add_months(start, max(1, min(c["duree"], 36))) - timedelta(days=1)
        labour = 0.40 if c["cpv"].startswith("45") else 0.25
        objective = max(35, round(c["montant"] * labour / 45 * rng.choice([0.05, 0.07, 0.10])))
        op_id = f"OP{c['id']}"
        label = rng.choice(self.legacy_labels[c["modality"]])
        if rng.random() < self.dirt.unknown_modality_label:
            label = "clause spéciale n°7"
        if rng.random() < self.dirt.contract_beyond_operation:
            c = {**c, "beyond_operation": True}
        op_row = {
            "facilitateur_marche_id": op_id, "donneur_ordre_siret": c["buyer"].siret,
            "donneur_ordre_nom": c["buyer"].name, "decp_id": c["id"], "objet": c["objet"],
            "type_marche": c["market_type"], "modalite_juridique": label,
            "date_notification": self._date(fac, c["notified"]), "date_debut": self._date(fac, start),
            "date_fin": self._date(fac, end), "heures_objectif": str(objective),
            "commune_execution_insee": c["commune"]["code_insee"], "grand_projet": c.get("operation") or "",
            "facilitateur_structure": f"Service clauses {fac[-2:]}",
        }
        self.write(fac, "operations", c["notified"], op_row)
        summary.operations += 1
        employers: list[tuple[Company, str]] = [(t, "titulaire") for t in c["titulaires"]]
        realisation = weighted(rng, REALISATION)
        if realisation in ("sous-traitance SIAE", "co-traitance SIAE", "mise à disposition ETTI",
                           "mise à disposition AI", "GEIQ"):
            kind = {"mise à disposition ETTI": "ETTI", "mise à disposition AI": "AI", "GEIQ": "GEIQ"}.get(
                realisation, rng.choice(["EI", "ACI"]))
            structure = rng.choice(c["world"].structure_by_kind.get(kind) or c["world"].structures)
            role = {"sous-traitance SIAE": "sous-traitant", "co-traitance SIAE": "cotraitant"}.get(
                realisation, "mise à disposition")
            employers.append((structure, role))
        company_rows = []
        for company, role in employers:
            siret = company.siret
            if rng.random() < self.dirt.invalid_siret:
                siret = siret[:-1] + str((int(siret[-1]) + 3) % 10)
            company_rows.append({"facilitateur_marche_id": op_id, "siret": siret, "raison_sociale": company.name,
                                 "role": role, "type_structure": company.structure_kind or "classique"})
            self.write(fac, "entreprises", c["notified"], company_rows[-1])
            if fac in self.wide:  # every company of the operation, employer or not, on a line of its own
                self.write_line(fac, c["notified"], {"operations": op_row, "entreprises": company_rows[-1]}, summary)
        n_people = max(1, min(30, round(objective / rng.uniform(400, 700))))
        employer = employers[-1][0]
        context = {"operations": op_row, "entreprises": company_rows[-1]}
        for _ in range(n_people):
            self._work_contract(fac, c, op_id, employer, realisation, start, end, summary, context)

    def _identity(self, fac: str) -> tuple[str, str, date | None, str, bool]:
        """(surname, first name, birth date, sex, shared): a new identity, or one another facilitator follows."""
        rng = self.rng
        others = [f for f in FACILITATORS if f != fac and self.identities[f]]
        if others and rng.random() < self.dirt.shared_person:
            surname, first, born, sex = rng.choice(self.identities[rng.choice(others)])
            # another tool, another spelling: upper case, no accents, or a space for a hyphen
            style = rng.choice(["upper", "plain", "space", "same"])
            if style == "upper":
                surname = surname.upper()
            elif style == "plain":
                surname, first = (unicodedata.normalize("NFKD", x).encode("ascii", "ignore").decode()
                                  for x in (surname, first))
            elif style == "space":
                first = first.replace("-", " ")
            return surname, first, born, sex, True
        return rng.choice(SURNAMES), rng.choice(FIRST_NAMES), None, "F" if rng.random() < 0.15 else "H", False

    def _person(self, fac: str, when: date, summary: Summary) -> str:
        rng = self.rng
        pool = self.pools[fac]
        if pool and rng.random() < 0.25:
            return rng.choice(pool)  # the same person on another contract: counted once per period
        self.counters[fac] += 1
        pid = f"{fac[-2:]}-{self.counters[fac]:07d}"
        surname, first, born, sex, shared = self._identity(fac)
        if born is None:
            band = rng.choices(["jeune", "adulte", "senior"], weights=[28, 57, 15])[0]
            age = {"jeune": rng.randint(18, 25), "adulte": rng.randint(26, 49), "senior": rng.randint(50, 62)}[band]
            born = date(when.year - age, rng.randint(1, 12), rng.randint(1, 28))
        age = when.year - born.year
        criteria = {weighted(rng, CRITERIA) for _ in range(rng.randint(1, 2))}
        if age < 26:
            criteria.add("JEUNE")
        commune = rng.choice(self.world_communes)
        no_birth_date = rng.random() < self.dirt.missing_birth_date
        row = {
            "participant_id": pid, "nom": surname, "prenom": first,
            "sexe": sex, "date_naissance": None if no_birth_date else self._date(fac, born),
            "niveau_diplome": weighted(rng, DIPLOMAS), "criteres_eligibilite": "|".join(sorted(criteria)),
            "commune_residence_insee": commune["code_insee"], "qpv": "oui" if rng.random() < 0.2 else "non",
            "prescripteur": weighted(rng, PRESCRIBERS), "date_entree": self._date(fac, when),
            "telephone": f"06{rng.randrange(10**8):08d}",
        }
        self.write(fac, "participants", when, row)
        if fac in self.wide:  # a one-file export repeats the person on each of its lines: keep the pooled ones
            if len(pool) == pool.maxlen:
                self.people[fac].pop(pool[0], None)
            self.people[fac][pid] = row
        pool.append(pid)
        if not shared:
            self.identities[fac].append((surname, first, born, sex))
        summary.participants += 1
        summary.shared_participants += shared
        return pid

    def _work_contract(self, fac, c, op_id, employer, realisation, op_start, op_end, summary, context) -> None:
        rng, dirt = self.rng, self.dirt
        start = op_start + timedelta(days=rng.randrange(0, max(1, (op_end - op_start).days // 2 + 1)))
        end = min(op_end, start + timedelta(days=rng.randint(20, 240)))
        if c.get("beyond_operation"):
            end = add_months(op_end, 2) + timedelta(days=14)  # worked past the operation: those months are refused
        if start > c["generated_until"]:
            return  # not started yet when the export is made
        pid = self._person(fac, start, summary)
        cid = f"{op_id}-{summary.work_contracts:08d}"
        summary.work_contracts += 1
        contract_type = weighted(rng, CONTRACT_TYPES[realisation])
        if realisation == "mise à disposition AI" and rng.random() < dirt.ambiguous_labels * 20:
            contract_type = AMBIGUOUS["type_contrat"]
        contract_row = {
            "contrat_id": cid, "participant_id": pid, "facilitateur_marche_id": op_id,
            "entreprise_siret": employer.siret, "modalite_realisation": realisation,
            "type_contrat": contract_type, "date_debut": self._date(fac, start),
            "date_fin": self._date(fac, end)}
        self.write(fac, "contrats", start, contract_row)
        hours_rows = []
        month = date(start.year, start.month, 1)
        while month <= min(end, c["generated_until"]):  # hours are reported for past months only
            hours = round(rng.uniform(40, 151.67), 2)
            if rng.random() < dirt.negative_hours:
                hours = -hours
            shown = month if rng.random() >= dirt.hours_outside_contract else add_months(end, 3)
            label = shown.strftime("%m/%Y") if DIALECTS[fac][3] == "fr" else shown.strftime("%Y-%m")
            lines = [hours]
            if hours > 0 and rng.random() < dirt.split_hours_lines:  # e.g. two pay slips: one line each
                first = round(hours * rng.uniform(0.3, 0.7), 2)
                lines = [first, round(hours - first, 2)]
            for value in lines:
                hours_rows.append((month, {"contrat_id": cid, "mois": label,
                                           "heures_realisees": self._num(fac, value)}))
                self.write(fac, "heures", month, hours_rows[-1][1])
                summary.hours_rows += 1
                summary.hours_total += value
            summary.hours_lines_split += len(lines) - 1
            if hours > 0 and rng.random() < dirt.corrected_hours and fac not in self.wide:  # sent again, corrected
                corrected = round(hours * rng.uniform(0.8, 1.0), 2)
                self.write(fac, "heures", month, {"contrat_id": cid, "mois": label,
                                                  "heures_realisees": self._num(fac, corrected)},
                           suffix="_rectificatif")
                summary.hours_rows += 1
                summary.hours_corrected += 1
            month = add_months(month, 1)
        outcome = self._outcomes(fac, c, pid, cid, end)
        if fac in self.wide:
            person = self.people[fac][pid]
            for month, hours_row in hours_rows:
                self.write_line(fac, month, {**context, "participants": person, "contrats": contract_row,
                                             "heures": hours_row, "sorties": outcome or {}}, summary)

    def _outcomes(self, fac, c, pid, cid, end) -> dict | None:
        """The situation about 6 months after the end (sometimes also at 3 or 12 months: outside the window);
        returns the 6-month one (a one-file export carries it on the contract's lines)."""
        rng = self.rng
        six_months = None
        for days, chance in ((91, 0.1), (182, 1.0), (365, 0.2)):
            situation_date = end + timedelta(days=days)
            if situation_date > c["generated_until"] or rng.random() >= chance:
                continue
            situation = weighted(rng, OUTCOMES)
            if days == 182 and rng.random() < self.dirt.ambiguous_labels:
                situation = AMBIGUOUS["situation"]
            row = {"participant_id": pid, "contrat_id": cid, "date_situation": self._date(fac, situation_date),
                   "situation": situation, "detail": ""}
            self.write(fac, "sorties", situation_date, row)
            if days == 182:
                six_months = row
        return six_months


def modality_labels(row: dict) -> list[str]:
    """How facilitators' tools name a legal modality: its current and legacy names (referential), the name with
    its article in parentheses, the article alone in several spellings."""
    labels = [x for x in row["legacy_labels"].split("|") if x]
    article = row["article"]
    if article.startswith(("L", "R")) and " " not in article:
        letter, number = article[0], article[1:]
        labels += [article, f"{letter} {number}", f"article {letter}.{number} du CCP",
                   f"{row['label_fr'].split(' (')[0]} ({article})"]
    for legacy in [x for x in labels if x.startswith("art. ")]:
        number = legacy.split()[1]
        labels += [f"Art.{number}", f"Article {number}"]
    return labels


def _market_type(cpv: str) -> str:
    division = int(cpv[:2])
    return "travaux" if division == 45 else "fournitures" if division < 45 else "services"


def _distribute(n: int, k: int, rng: random.Random) -> list[int]:
    """n contracts over k months, slowly rising (DECP volumes grow), exact total."""
    weights = [1 + 0.4 * i / max(1, k - 1) for i in range(k)]
    total = sum(weights)
    counts = [int(n * w / total) for w in weights]
    for i in rng.sample(range(k), n - sum(counts)):
        counts[i] += 1
    return counts


def generate_all(inbox: Path, n_contracts: int, start: date, end: date, seed: int = 42,
                 decp_dirt: decp.DirtRates | None = None, facilitator_dirt: FacilitatorDirt | None = None,
                 xml_every: int = 6, sources: tuple[str, ...] = ("decp", "facilitateurs", "grand_paris",
                                                                 "structures", "sirene"),
                 progress: bool = False, facilitator_period: str = "year",
                 wide_facilitators: tuple[str, ...] = ()) -> Summary:
    """Write the sources into ``inbox/<source>/``; return what was written. The facilitators named in
    ``wide_facilitators`` deliver one-file exports (``<fac>_export_<period>.csv``) instead of six files."""
    from tqdm import tqdm

    decp_dirt = decp_dirt or decp.DirtRates()
    world = build_world(seed, n_contracts)
    rng = random.Random(seed + 1)
    rng_amounts = random.Random(seed + 3)  # the DECP dirt classes of issue 17: their own stream
    summary = Summary()
    facilitators = Facilitators(inbox / "facilitateurs", random.Random(seed + 2),
                                facilitator_dirt or FacilitatorDirt(), facilitator_period, wide_facilitators)
    facilitators.world_communes = world.communes
    gp_rows: dict[tuple[str, int], list[dict]] = {}
    month_list = list(months(start, end))
    counts = _distribute(n_contracts, len(month_list), rng)
    generated_until = add_months(end, 1) - timedelta(days=1)
    gp_buyers = [b for b in world.buyers if b.grand_paris]
    other_buyers = [b for b in world.buyers if not b.grand_paris]
    bar = tqdm(total=n_contracts, unit="contract", disable=not progress, mininterval=1.0)
    for seq, (month, count) in enumerate(zip(month_list, counts, strict=True)):
        xml = xml_every > 0 and seq % xml_every == xml_every - 1 and count > 0
        writer = None
        if "decp" in sources:
            path = decp.out_path(inbox / "decp", month, xml)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = (DecpXmlWriter if xml else DecpJsonWriter)(path, decp.format_of(month))
            summary.files.append(str(path))
        republish_later = []
        for _ in range(count):
            i = summary.contracts
            grand_paris = rng.random() < 0.04
            buyer = rng.choice(gp_buyers if grand_paris else other_buyers)
            notified = month + timedelta(days=rng.randrange(28))
            published = min(notified + timedelta(days=rng.randrange(1, 60)), generated_until)
            cpv = "45000000" if grand_paris else weighted(rng, decp.CPV_CODES)
            commune = world.commune()
            place = rng.random()
            if place < 0.6:
                lieu = {"code": commune["codes_postaux"].split("|")[0], "typeCode": "Code postal"}
            elif place < 0.9:
                lieu = {"code": commune["code_insee"], "typeCode": "Code commune"}
            else:
                lieu = {"code": commune["departement_code"], "typeCode": "Code département"}
            has_clause = grand_paris or rng.random() < CLAUSE_RATE.get(notified.year, 0.26)
            modality = weighted(rng, MODALITIES) if has_clause else None
            if grand_paris:
                modality = "CLAUSE_EXECUTION_L2112_2"
            if modality and modality.startswith("MARCHE_RESERVE"):
                kinds = ["EA", "ESAT"] if "HANDICAP" in modality else ["EI", "ACI", "AI", "ETTI"]
                titulaires = [rng.choice(world.structure_by_kind.get(rng.choice(kinds)) or world.structures)]
            else:
                n_tit = 1 if rng.random() < 0.85 else rng.randint(2, 3)
                titulaires = [rng.choice(world.companies) for _ in range(n_tit)]
            montant = round(min(rng.lognormvariate(11.9 if not grand_paris else 15.5, 1.1), 8e8), 2)
            contract = {
                "id": f"{notified.year}{i:09d}", "buyer": buyer, "notified": notified, "published": published,
                "cpv": cpv, "market_type": _market_type(cpv), "procedure": weighted(rng, decp.PROCEDURES),
                "duree": rng.choice([3, 6, 12, 12, 24, 36, 48]), "montant": montant, "commune": commune,
                "lieu": lieu, "titulaires": titulaires, "modality": modality, "world": world,
                "objet": f"Marché {i} de {buyer.name}", "generated_until": generated_until,
                "facilitator": f"clause{commune['departement_code']}",
            }
            if grand_paris:
                _, _, programme = next(o for o in GRAND_PARIS_OWNERS if o[0] == buyer.name)
                contract["operation"] = rng.choice(GRAND_PARIS_OPERATIONS[programme])
                contract["programme"] = programme
            summary.contracts += 1
            bar.update(1)
            if writer is not None:
                record = decp.add_dirt(decp.decp_record(contract, rng), rng, decp_dirt, rng_amounts)
                writer.write(record)
                summary.decp_records += 1
                if rng.random() < decp_dirt.republication:
                    republish_later.append(decp.republished(record))
            if has_clause and "facilitateurs" in sources:
                summary.clause_contracts += 1
                facilitators.operation(contract, summary)
            if grand_paris and "grand_paris" in sources:
                gp_rows.setdefault((buyer.name, notified.year), []).append(_gp_row(contract, rng))
                summary.grand_paris_contracts += 1
        for record in republish_later:  # same month's file: another platform published it too
            writer.write(record)
            summary.decp_records += 1
        if writer is not None:
            writer.close()
    bar.close()
    summary.files += [str(p) for p in facilitators.files.paths()]
    facilitators.files.close()
    if "grand_paris" in sources:
        summary.files += _write_grand_paris(inbox / "grand_paris", gp_rows)
    if "structures" in sources:
        summary.files += _write_structures(inbox / "structures", world)
    if "sirene" in sources:
        summary.files += _write_sirene(inbox / "sirene", world)
    return summary


GP_HEADERS = {"maitre_ouvrage": "Maître d'ouvrage", "operation": "Opération", "programme": "Programme",
              "acheteur_siret": "SIRET acheteur", "marche_id": "N° de marché", "objet": "Objet du marché",
              "titulaire_siret": "SIRET titulaire", "titulaire_nom": "Titulaire", "montant_ht": "Montant HT (€)",
              "date_notification": "Date de notification",
              "heures_travaillees_prevues": "Heures travaillées prévues",
              "objectif_insertion_pct": "Objectif insertion (%)",
              "heures_insertion_objectif": "Heures d'insertion prévues",
              "engagement_tpe_pme_pct": "Engagement TPE/PME (%)", "montant_tpe_pme": "Montant TPE/PME"}


def _gp_row(c: dict, rng: random.Random) -> dict:
    worked = round(c["montant"] * 0.40 / 45)
    # CSR charter: insertion >= 5 % of worked hours until October 2020, >= 10 % since (domain.md §4.3).
    pct = 10 if c["notified"] >= date(2020, 10, 1) else 5
    return {"maitre_ouvrage": c["buyer"].name, "operation": c["operation"], "programme": c["programme"],
            "acheteur_siret": c["buyer"].siret, "marche_id": c["id"], "objet": c["objet"],
            "titulaire_siret": c["titulaires"][0].siret, "titulaire_nom": c["titulaires"][0].name,
            "montant_ht": c["montant"], "date_notification": c["notified"], "heures_travaillees_prevues": worked,
            "objectif_insertion_pct": pct, "heures_insertion_objectif": round(worked * pct / 100),
            "engagement_tpe_pme_pct": 20, "montant_tpe_pme": round(c["montant"] * rng.uniform(0.08, 0.35), 2)}


def _write_grand_paris(folder: Path, rows: dict[tuple[str, int], list[dict]]) -> list[str]:
    """SGP and Solideo send workbooks; RATP and SNCF Réseau send CSV (as the owners do)."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (owner, year), items in sorted(rows.items()):
        slug = "".join(ch for ch in owner.lower() if ch.isalnum())[:20]
        if owner.startswith("Société"):
            path = folder / f"contrats_{slug}_{year}.xlsx"
            book = Workbook(write_only=True)
            sheet = book.create_sheet("contrats")
            sheet.append(list(GP_HEADERS.values()))
            for r in items:
                sheet.append(list(r.values()))
            book.save(path)
            _freeze_xlsx(path)
        else:
            path = folder / f"contrats_{slug}_{year}.csv"
            files = CsvFiles()
            for r in items:
                row = {**r, "date_notification": r["date_notification"].strftime("%d/%m/%Y"),
                       "montant_ht": f"{r['montant_ht']:.2f}".replace(".", ",")}
                files.write(path, list(GP_HEADERS.values()), list(row.values()), "utf-8", ";")
            files.close()
        written.append(str(path))
    return written


def _freeze_xlsx(path: Path) -> None:
    """Rewrite a workbook with fixed timestamps (zip entries, document dates): same seed, same bytes."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2000-01-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


STRUCTURE_COLUMNS = ["pk", "siret", "name", "brand", "kind", "legal_form", "naf", "address", "post_code", "city",
                     "department", "latitude", "longitude", "source", "api_entreprise_employees", "created_at",
                     "updated_at"]


def _write_structures(folder: Path, world) -> list[str]:
    """The register in le marché de l'inclusion's shape: the real sample rows, then EA / ESAT / GEIQ."""
    from jobs.core.settings import PROJECT_ROOT

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "structures_inclusion_idf.csv"
    sample = (PROJECT_ROOT / "samples" / "siae" / "lemarche_fixture_siae_idf.csv").read_text(encoding="utf-8")
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("\n".join(sample.splitlines()) + "\n")
    extra = [s for s in world.structures if not s.from_register_sample]
    with path.open("a", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for n, s in enumerate(extra, start=100000):
            c = s.commune
            w.writerow([n, s.siret, s.name, "", s.structure_kind, "ASSO", s.naf, "", c["codes_postaux"].split("|")[0],
                        c["nom"], c["departement_code"], "", "", "GESAT" if s.structure_kind != "GEIQ" else "GEIQ",
                        "10 à 19 salariés", "2021-01-01", "2025-01-01"])
    return [str(path)]


def _write_sirene(folder: Path, world) -> list[str]:
    """StockEtablissement and StockUniteLegale extracts, with INSEE's column names."""
    folder.mkdir(parents=True, exist_ok=True)
    etab = folder / "StockEtablissement_extrait_idf.csv"
    ul = folder / "StockUniteLegale_extrait_idf.csv"
    files = CsvFiles()
    etab_cols = ["siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
                 "trancheEffectifsEtablissement", "activitePrincipaleEtablissement", "etablissementSiege",
                 "codePostalEtablissement", "libelleCommuneEtablissement", "codeCommuneEtablissement",
                 "etatAdministratifEtablissement"]
    ul_cols = ["siren", "statutDiffusionUniteLegale", "dateCreationUniteLegale", "denominationUniteLegale",
               "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "trancheEffectifsUniteLegale",
               "categorieEntreprise", "economieSocialeSolidaireUniteLegale", "etatAdministratifUniteLegale",
               "nomUniteLegale", "prenom1UniteLegale"]
    seen = set()
    units = [(c.siret, c.name, "5710" if not c.structure_kind else "9220", c.naf, c.tranche_effectifs, c.categorie,
              c.ess, c.commune) for c in [*world.companies, *world.structures]]
    units += [(b.siret, b.name, b.categorie_juridique, "8411Z", "22", "", False, b.commune) for b in world.buyers]
    for siret, name, cj, naf, tranche, cat, ess, commune in units:
        files.write(etab, etab_cols, [siret[:9], siret[9:], siret, "O", "2010-01-01", tranche, naf[:2] + "." + naf[2:],
                                      "true", commune["codes_postaux"].split("|")[0], commune["nom"].upper(),
                                      commune["code_insee"], "A"], "utf-8", ",")
        if siret[:9] in seen:
            continue
        seen.add(siret[:9])
        files.write(ul, ul_cols, [siret[:9], "O", "2010-01-01", name, cj, naf[:2] + "." + naf[2:], tranche, cat,
                                  "O" if ess else "N", "A", "", ""], "utf-8", ",")
    files.close()
    return [str(etab), str(ul)]


MONTH_TAG = re.compile(r"(?<!\d)(\d{4}-(?:0[1-9]|1[0-2]))(?!\d)")


def to_monthly_folders(inbox: Path) -> int:
    """Move every file whose name carries a month (``..._YYYY-MM.ext``) into ``<source>/<YYYY-MM>/``,
    the inbox layout of monthly deliveries; undated files (registers, yearly lists) stay where they are.
    Returns the number of files moved."""
    moved = 0
    for source in sorted(p for p in inbox.iterdir() if p.is_dir()):
        for f in sorted(p for p in source.iterdir() if p.is_file()):
            tag = MONTH_TAG.search(f.name)
            if tag:
                (source / tag.group(1)).mkdir(exist_ok=True)
                f.rename(source / tag.group(1) / f.name)
                moved += 1
    return moved
