"""Quality rules, defined once as data.

Each rule yields (in ``jobs.core.quality``) a Spark predicate for the row-level split silver / quarantine
and a Pandera check that validates what was written to silver. Rules of kind ``parse`` are raised by
the normaliser when a value cannot be read at all (their message then says which value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import referential as ref


@dataclass(frozen=True)
class Rule:
    id: str
    table: str
    column: str | None
    kind: str  # not_null | in_set | range | date_range | siret | not_before | not_after | not_combined | parse | unique
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    required: bool = True  # a null value fails the rule


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


# Bounds from the real pipelines (domain.md §2.1, §6): MINEF rejects > 15 G€ and < 1 €, durations > 180 months.
MONTANT_MIN_EUR = 1.0
MONTANT_MAX_EUR = 15_000_000_000.0
DUREE_MAX_MOIS = 180
DATE_MIN = "1990-01-01"
# Amounts that are not amounts (domain.md §6.4; decp-arr2022, decp-processing): the contract still counts, its
# amount is excluded from every sum (silver ``montant`` null, ``montant_publie`` as published, and why below).
MONTANT_PLACEHOLDER_PREFIXES = ("123456789",)  # digits typed in order: 123456789, 123456789.0, 1234567890...
MONTANT_REPEATED_DIGITS = 7  # an integer part of 7+ times one non-zero digit (9 999 999, 111 111 111)...
MONTANT_REPEATED_RUN_ABOVE_EUR = 100_000_000.0  # ...or, above 100 M€, such a run anywhere in it (MINEF)
MONTANT_EXCLUSIONS = {  # montant_exclu_motif -> meaning
    "PLACEHOLDER": "placeholder amount (123456789..., runs of one digit)",
    "HORS_BORNES": f"outside [{MONTANT_MIN_EUR:,.0f} €, {MONTANT_MAX_EUR:,.0f} €] (more than 11 integer digits, 0...)",
}

RULES: dict[str, Rule] = _rules(
    Rule("decp.record_shape", "marches", None, "parse", "record is not a JSON object"),
    Rule("decp.titulaires_shape", "marches", None, "parse", "titulaires block has an unreadable item"),
    Rule("decp.uid_present", "marches", "uid", "not_null", "id or acheteur.id missing, no uid can be built"),
    Rule("decp.acheteur_siret", "marches", "acheteur_id", "siret", "acheteur.id is not a valid SIRET"),
    Rule("decp.nature_known", "marches", "nature", "in_set", "nature missing or not in the DECP list",
         {"values": ref.code_list("nature").values}),
    Rule("decp.procedure_known", "marches", "procedure", "in_set", "procedure not in the DECP list",
         {"values": ref.code_list("procedure").values}, required=False),
    Rule("decp.cpv_format", "marches", "code_cpv", "not_null", "codeCPV missing or not 8 digits"),
    Rule("decp.date_notification_valid", "marches", "date_notification", "date_range",
         "dateNotification missing, impossible or in the future", {"min": DATE_MIN, "max": "today"}),
    Rule("decp.date_publication_valid", "marches", "date_publication", "date_range",
         "datePublicationDonnees impossible or in the future", {"min": DATE_MIN, "max": "today"}, required=False),
    Rule("decp.publication_after_notification", "marches", "date_publication", "not_before",
         "data published before the contract was notified", {"other": "date_notification"}, required=False),
    Rule("decp.montant_present", "marches", "montant_publie", "not_null", "montant missing or not a number"),
    # A readable but implausible amount does not refuse the contract: the normaliser excludes it (montant null,
    # montant_exclu_motif); the rule checks that what silver keeps as an amount is plausible.
    Rule("decp.montant_plausible", "marches", "montant", "range",
         f"montant outside [{MONTANT_MIN_EUR:,.0f} €, {MONTANT_MAX_EUR:,.0f} €] kept as an amount",
         {"min": MONTANT_MIN_EUR, "max": MONTANT_MAX_EUR}, required=False),
    Rule("decp.duree_mois_valid", "marches", "duree_mois", "range",
         f"dureeMois missing or outside [1, {DUREE_MAX_MOIS}] months", {"min": 1, "max": DUREE_MAX_MOIS}),
    Rule("decp.titulaires_present", "marches", "n_titulaires", "range", "no titulaire",
         {"min": 1, "max": 10_000}),
    Rule("decp.considerations_known", "marches", "considerations_sociales", "parse",
         "considerationsSociales holds a value outside the DECP list"),
    Rule("decp.considerations_not_combined", "marches", "considerations_sociales", "not_combined",
         "'Pas de considération sociale' combined with another value",
         {"exclusive": "Pas de considération sociale"}, required=False),
    Rule("decp.duplicate", "marches", "uid", "unique",
         "same uid published again: superseded by a later publication", {"keep": "latest date_publication"}),
)


# Facilitators' exports, Grand Paris, structures and SIRENE (silver tables of issue 4).
HEURES_MOIS_MAX = 300.0  # a month holds at most ~220 worked hours; above 300 the figure is not a month's work
_today = {"min": DATE_MIN, "max": "today"}


def _mapped(table: str, column: str, code_list: str) -> Rule:
    return Rule(f"{table}.{column}_mapped", table, column, "parse",
                f"{column} value not in the referential list '{code_list}' (to map by the data steward)")


RULES.update(_rules(
    Rule("operations.key_present", "operations", "operation_key", "not_null", "operation id missing"),
    Rule("operations.donneur_ordre_siret", "operations", "donneur_ordre_siret", "siret",
         "donneur d'ordre SIRET invalid"),
    Rule("operations.type_marche_present", "operations", "type_marche", "not_null", "market type missing"),
    _mapped("operations", "type_marche", "market_types"),
    Rule("operations.modalite_juridique_present", "operations", "modalite_juridique", "not_null",
         "legal modality missing (its hours cannot be counted under any modality)"),
    _mapped("operations", "modalite_juridique", "legal_modalities"),
    Rule("operations.date_debut_valid", "operations", "date_debut", "date_range",
         "operation start date missing, unreadable or impossible", {"min": DATE_MIN, "max": "today+3660"}),
    Rule("operations.dates_ordered", "operations", "date_fin", "not_before", "operation ends before it starts",
         {"other": "date_debut"}, required=False),
    Rule("operations.heures_objectif_valid", "operations", "heures_objectif", "range",
         "hours objective missing or negative", {"min": 0, "max": 10_000_000}),
    Rule("operations.duplicate", "operations", "operation_key", "unique",
         "operation exported again: superseded by the latest export", {"keep": "latest ingested_at"}),
    Rule("entreprises.operation_present", "entreprises", "operation_key", "not_null", "company without operation"),
    Rule("entreprises.siret", "entreprises", "siret", "siret", "company SIRET invalid"),
    _mapped("entreprises", "type_structure", "structure_kinds"),
    Rule("entreprises.duplicate", "entreprises", "entreprise_key", "unique",
         "company of this operation exported again: superseded by the latest export", {"keep": "latest ingested_at"}),
    Rule("participants.key_present", "participants", "participant_key", "not_null", "participant id missing"),
    Rule("participants.duplicate", "participants", "participant_key", "unique",
         "participant exported again: superseded by the latest export", {"keep": "latest ingested_at"}),
    Rule("contrats.key_present", "contrats", "contrat_key", "not_null", "contract id missing"),
    Rule("contrats.person_present", "contrats", "person_key", "not_null", "contract without participant"),
    Rule("contrats.employer_siret", "contrats", "entreprise_siret", "siret", "employer SIRET invalid"),
    Rule("contrats.date_debut_valid", "contrats", "date_debut", "date_range",
         "contract start date missing, unreadable or more than a year ahead", {"min": DATE_MIN, "max": "today+366"}),
    Rule("contrats.dates_ordered", "contrats", "date_fin", "not_before", "contract ends before it starts",
         {"other": "date_debut"}, required=False),
    Rule("contrats.duplicate", "contrats", "contrat_key", "unique",
         "contract exported again: superseded by the latest export", {"keep": "latest ingested_at"}),
    # Hours: one line = hours of one work contract for one month. Lines of one contract-month in one export are
    # summed; a later export of the facilitator replaces an earlier one for the contract-months it holds.
    Rule("heures.contrat_known", "heures", "contrat_debut_mois", "not_null",
         "hours reported for a contract that is not among the facilitator's valid contracts"),
    Rule("heures.operation_known", "heures", "operation_key", "parse",
         "hours of an operation that is not among the facilitator's valid operations (missing or quarantined)"),
    Rule("heures.modalite_known", "heures", "modalite_code", "parse",
         "legal modality of the operation not in the referential: hours kept out of the figures until the "
         "label is mapped"),
    Rule("heures.mois_valid", "heures", "mois", "date_range", "month missing, unreadable or in the future", _today),
    Rule("heures.value_present", "heures", "heures", "not_null", "hours missing or unreadable"),
    Rule("heures.not_negative", "heures", "heures", "range",
         "negative hours (never netted against another line or month)", {"min": 0, "max": float("inf")},
         required=False),
    Rule("heures.value_plausible", "heures", "heures", "range",
         f"more than {HEURES_MOIS_MAX:.0f} hours in a month", {"min": float("-inf"), "max": HEURES_MOIS_MAX},
         required=False),
    Rule("heures.not_before_contract", "heures", "mois", "not_before", "hours before the work contract started",
         {"other": "contrat_debut_mois"}, required=False),
    Rule("heures.not_after_contract", "heures", "mois", "not_after", "hours after the work contract ended",
         {"other": "contrat_fin_mois"}, required=False),
    Rule("heures.not_before_operation", "heures", "mois", "not_before", "hours before the operation started",
         {"other": "operation_debut_mois"}, required=False),
    Rule("heures.not_after_operation", "heures", "mois", "not_after", "hours after the operation ended",
         {"other": "operation_fin_mois"}, required=False),
    Rule("heures.month_total_plausible", "heures", None, "parse",
         f"lines of this contract and month in one export add up to more than {HEURES_MOIS_MAX:.0f} hours"),
    Rule("heures.duplicate", "heures", "heures_key", "unique",
         "hours of this contract and month replaced by a later export of the facilitator",
         {"keep": "latest export (load, then file name)"}),
    Rule("sorties.person_present", "sorties", "person_key", "not_null", "outcome without participant"),
    _mapped("sorties", "situation", "outcomes"),
    Rule("sorties.date_valid", "sorties", "date_situation", "date_range",
         "situation date missing, unreadable or in the future", _today),
    Rule("sorties.duplicate", "sorties", "sortie_key", "unique",
         "situation of this person and contract at this date exported again: superseded by the latest export",
         {"keep": "latest ingested_at"}),
    Rule("structures.siret", "structures", "siret", "siret", "structure SIRET invalid"),
    _mapped("structures", "type_structure", "structure_kinds"),
    Rule("structures.duplicate", "structures", "siret", "unique", "structure listed twice: latest kept",
         {"keep": "latest ingested_at"}),
    Rule("companies.siret", "companies", "siret", "siret", "SIRENE SIRET invalid"),
    Rule("companies.duplicate", "companies", "siret", "unique", "establishment listed twice: latest kept",
         {"keep": "latest ingested_at"}),
    Rule("grand_paris.uid_present", "grand_paris", "decp_uid", "not_null", "buyer SIRET or contract id missing"),
    Rule("grand_paris.acheteur_siret", "grand_paris", "acheteur_siret", "siret", "buyer SIRET invalid"),
    Rule("grand_paris.montant_valid", "grand_paris", "montant_ht", "range",
         "amount missing or outside [1 €, 15,000,000,000 €]", {"min": MONTANT_MIN_EUR, "max": MONTANT_MAX_EUR}),
    Rule("grand_paris.date_valid", "grand_paris", "date_notification", "date_range",
         "notification date missing, unreadable or impossible", _today),
    Rule("grand_paris.duplicate", "grand_paris", "decp_uid", "unique", "contract listed twice: latest kept",
         {"keep": "latest ingested_at"}),
))


def rules_for(table: str) -> list[Rule]:
    return [r for r in RULES.values() if r.table == table]
