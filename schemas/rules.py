"""Quality rules, defined once as data.

Each rule yields (in ``jobs.quality``) a Spark predicate for the row-level split silver / quarantine
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
    kind: str  # not_null | in_set | range | date_range | siret | not_before | not_combined | min_value | parse
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
    Rule("decp.montant_plausible", "marches", "montant", "range",
         f"montant missing or outside [{MONTANT_MIN_EUR:,.0f} €, {MONTANT_MAX_EUR:,.0f} €]",
         {"min": MONTANT_MIN_EUR, "max": MONTANT_MAX_EUR}),
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


def rules_for(table: str) -> list[Rule]:
    return [r for r in RULES.values() if r.table == table]
