"""Normalise one DECP marché record (2019 or 2022 shape, with real-world variants) to the silver shape.

Pure functions: no Spark, no I/O. Shape problems are reported as ``issues`` (rule id + readable message)
instead of being guessed away; value checks (ranges, checksums...) are the rules of ``schemas.rules``.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from datetime import date
from typing import Any

from schemas import referential as ref
from schemas import rules
from schemas.rules import RULES

MAX_NUMBER = 10**300  # larger integers are not amounts (and float() of them overflows)
MISSING_MARKERS = {"", "nc", "nan", "null", "none", "n/a"}
_DATE_RE = re.compile(r"^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T ].*|[+-]\d{2}:\d{2}Z?|Z)?\s*$")
_CPV_RE = re.compile(r"^(\d{8})(?:-\d)?$")


def _issue(rule_id: str, detail: str) -> dict[str, str]:
    return {"rule_id": rule_id, "message": f"{RULES[rule_id].message}: {detail}"}


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().casefold() in MISSING_MARKERS


def text(value: Any) -> str | None:
    if is_missing(value) or isinstance(value, dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in the JSON): not storable as UTF-8 text
        out = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in out)
    return out


def identifier(value: Any) -> str | None:
    """SIRET-like identifiers lose spaces and dots; numbers published as JSON numbers become strings."""
    t = text(value)
    return re.sub(r"[\s.]", "", t) if t else None


def parse_date(value: Any) -> str | None:
    """ISO date (YYYY-MM-DD) from the date shapes DECP really carries; None when it is not a date."""
    t = text(value)
    if not t:
        return None
    m = _DATE_RE.match(t)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    try:
        return date(y, mo, d).isoformat() if y >= 1 else None
    except ValueError:
        return None


def _show(value: Any, limit: int = 120) -> str:
    """repr of a published value for a message, cut: a hostile file may carry megabytes in one field."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}… ({len(shown)} characters)"


def parse_number(value: Any) -> float | None:
    if isinstance(value, bool) or is_missing(value):
        return None
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        return None  # float() of a huge JSON integer raises OverflowError
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    t = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = float(t)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def montant_exclusion(value: float) -> str | None:
    """Why a readable published amount is not a real amount (a key of ``rules.MONTANT_EXCLUSIONS``), else None.

    The contract still counts; only its amount is left out of the sums (domain.md §6.4).
    """
    if not rules.MONTANT_MIN_EUR <= value <= rules.MONTANT_MAX_EUR:
        return "HORS_BORNES"
    digits = f"{value:.2f}".replace(".", "").rstrip("0")  # 123456789.0 and 1234567890 -> "123456789"
    if digits.startswith(rules.MONTANT_PLACEHOLDER_PREFIXES):
        return "PLACEHOLDER"
    integer = str(int(value))
    n = rules.MONTANT_REPEATED_DIGITS
    if len(integer) >= n and len(set(integer)) == 1:
        return "PLACEHOLDER"
    if value > rules.MONTANT_REPEATED_RUN_ABOVE_EUR and re.search(rf"([1-9])\1{{{n - 1}}}", integer):
        return "PLACEHOLDER"
    return None


def parse_months(value: Any) -> int | None:
    """Whole months; None when not a number or beyond a 32-bit integer (the silver column's type)."""
    number = parse_number(value)
    if number is None or abs(number) >= 2**31 - 1:
        return None
    return math.ceil(number)


def unflatten(record: dict[str, Any]) -> dict[str, Any]:
    """``{"acheteur.id": x}`` -> ``{"acheteur": {"id": x}}`` (flattened keys seen in real exports)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(key, str) and "." in key and key.split(".", 1)[0] not in record:
            head, tail = key.split(".", 1)
            nested = out.setdefault(head, {})
            if isinstance(nested, dict):
                nested[tail] = value
        else:
            out[key] = value
    return out


def _flatten_items(value: Any, wrapper: str) -> list[Any]:
    """Items of a DECP list whatever its shape: wrapped (2022), nested lists, single object, empty."""
    items: list[Any] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if v is None:
            continue
        if isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, dict) and set(v) == {wrapper}:
            stack.append(v[wrapper])
        elif isinstance(v, dict) and wrapper + "s" in v and len(v) == 1:
            stack.append(v[wrapper + "s"])
        else:
            items.append(v)
    return items


def normalize_titulaires(value: Any) -> tuple[list[dict[str, str | None]], list[dict[str, str]]]:
    titulaires, issues = [], []
    type_list = ref.code_list("typeIdentifiant")
    for item in _flatten_items(value, "titulaire"):
        if not isinstance(item, dict):
            issues.append(_issue("decp.titulaires_shape", f"unexpected item {_show(item, 60)}"))
            continue
        tid = identifier(item.get("id"))
        if not tid and not item.get("denominationSociale"):
            continue  # empty block {} as published by some platforms: not a titulaire
        raw_type = text(item.get("typeIdentifiant"))
        ttype = type_list.canonical(raw_type) if raw_type else None
        if ttype is None and raw_type is None and tid and re.fullmatch(r"\d{14}", tid):
            ttype = "SIRET"  # decp-processing's rule: a 14-digit id without type is a SIRET
        titulaires.append(
            {
                "type_identifiant": ttype or (raw_type and f"INCONNU:{raw_type}"),
                "id": tid,
                "denomination": text(item.get("denominationSociale")),
            }
        )
    return titulaires, issues


def _modification_date(mod: dict[str, Any]) -> str:
    for key in ("dateNotificationModification", "dateSignatureModification", "datePublicationDonneesModification"):
        d = parse_date(mod.get(key))
        if d:
            return d
    return "9999-12-31"


def _modification_order(mod: dict[str, Any]) -> tuple[str, int, float, str]:
    """Modifications apply by notification date, then by id (ids are integers: 2 before 10)."""
    number = parse_number(mod.get("id"))
    return (_modification_date(mod), 0 if number is not None else 1, number or 0.0, str(mod.get("id", "")))


def normalize_considerations(value: Any, list_name: str, wrapper: str) -> tuple[list[str] | None, list[str]]:
    """Canonical values of a multi-valued consideration; None (unknown) when the field is absent."""
    if value is None:
        return None, []
    code_list = ref.code_list(list_name)
    known, unknown = [], []
    for item in _flatten_items(value, wrapper):
        t = text(item)
        if t is None:
            continue
        c = code_list.canonical(t)
        if c is None:
            unknown.append(t)
        elif c not in known:
            known.append(c)
    ordered = [v for v in code_list.values if v in known]
    return (ordered if ordered or unknown else None), unknown


@functools.cache
def _generic_postal_codes() -> dict[str, str]:
    """Generic postal codes written for a city (``75000`` for Paris) -> département (referential file)."""
    insee = ref.insee_to_departement()
    with (ref.GEO_DIR / "generic_postal_codes.csv").open(encoding="utf-8", newline="") as f:
        return {r["code_postal"]: insee[r["code_insee"]] for r in csv.DictReader(f)}


@functools.cache
def _idf_arrondissements() -> dict[str, str]:
    """INSEE arrondissement code (``751``, ``932``...) -> IDF département."""
    return {r["arrondissement"]: r["departement_code"] for r in ref.idf_communes() if r["arrondissement"]}


def _prefix_departement(c: str, type_code: str | None) -> str | None:
    """The département a French code names by its first digits (canton ``3501``, arrondissement ``351``,
    commune, municipal arrondissement or postal ``35238`` / ``69383`` / ``1000``), or None when the code has no
    such shape."""
    if type_code == "Code canton" and re.fullmatch(r"\d{4}|97\d{3}|2[AB]\d{2}", c):
        return c[:3] if c.startswith("97") else c[:2]
    if type_code == "Code arrondissement" and re.fullmatch(r"\d{3}|97\d{2}|2[AB]\d", c):
        return c[:3] if c.startswith("97") else c[:2]
    if type_code in (None, "Code commune", "Code postal", "Code arrondissement") and re.fullmatch(r"\d{4,5}", c):
        c = c.zfill(5)
        return c[:3] if c.startswith("97") else c[:2]
    if type_code in (None, "Code commune") and re.fullmatch(r"2[AB]\d{3}", c):
        return c[:2]
    return None


def resolve_departement(code: str | None, type_code: str | None) -> tuple[str | None, str]:
    """Département of execution from ``lieuExecution`` (code, typeCode), and how it was found.

    An Île-de-France département comes only from the IDF referential (every commune, postal code and
    arrondissement of the region is in it): a code it does not hold is unknown, never counted as IDF
    (decision 144). Region and country codes are not allocated.
    """
    if not code:
        return None, "absent"
    deps = ref.departements()
    c = code.strip().upper()
    if type_code == "Code département":
        c = c.zfill(2) if c.isdigit() and len(c) < 2 else c
        return (c, "departement") if c in deps else (None, "unknown_code")
    if type_code in ("Code région", "Code pays"):
        return None, "not_departemental"
    insee, postal = ref.insee_to_departement(), ref.postal_to_departement()
    if type_code == "Code commune" and c in insee:
        return insee[c], "commune_insee"
    if type_code == "Code postal" and c in postal:
        return postal[c], "code_postal"
    # Postal code vs INSEE code mix-ups (domain.md §5.5): the code is not of the declared kind but is
    # exactly a code of the other kind. Resolved, and the mix-up recorded in departement_method.
    if type_code == "Code postal" and c in insee:
        return insee[c], "insee_declare_code_postal"
    if type_code == "Code commune" and c in postal:
        return postal[c], "postal_declare_code_commune"
    if type_code in ("Code postal", None) and c in _generic_postal_codes():
        return _generic_postal_codes()[c], "code_postal_generique"
    if type_code == "Code arrondissement" and c in _idf_arrondissements():
        return _idf_arrondissements()[c], "arrondissement"
    if type_code == "Code arrondissement" and c in insee:  # a municipal arrondissement (75112)
        return insee[c], "commune_insee"
    if type_code is None:  # no (or an unknown) typeCode: an IDF code of either kind, when both agree
        found = {d for d in (insee.get(c), postal.get(c)) if d}
        if len(found) == 1:
            return found.pop(), "code_sans_type"
    # Outside IDF (no commune referential): the first digits of a French code name the département,
    # recorded as a weaker match. An IDF prefix here is a code the IDF referential does not know.
    prefix = _prefix_departement(c, type_code)
    if prefix and prefix in deps and prefix not in ref.IDF_DEPARTEMENTS:
        return prefix, "prefix"
    return None, "unknown_code"


def normalize_marche(record: Any, decp_format: str) -> dict[str, Any]:
    """The current version of one marché (modifications applied in order) in the silver shape."""
    if not isinstance(record, dict):
        return {"issues": [_issue("decp.record_shape", f"a {type(record).__name__}, not an object")]}
    rec = unflatten(record)
    issues: list[dict[str, str]] = []
    acheteur = rec.get("acheteur") if isinstance(rec.get("acheteur"), dict) else {}
    acheteur_id = identifier(acheteur.get("id"))
    contract_id = text(rec.get("id"))
    lieu = rec.get("lieuExecution") if isinstance(rec.get("lieuExecution"), dict) else {}

    raw_nature = text(rec.get("nature"))
    nature = ref.code_list("nature").canonical(raw_nature)
    if raw_nature and nature is None:
        issues.append(_issue("decp.nature_known", _show(raw_nature)))
    raw_procedure = text(rec.get("procedure"))
    procedure = ref.code_list("procedure").canonical(raw_procedure)
    if raw_procedure and procedure is None:
        issues.append(_issue("decp.procedure_known", _show(raw_procedure)))

    techniques, _ = normalize_considerations(rec.get("techniques"), "nature", "technique")
    is_accord_cadre = nature == "Accord-cadre" or "Accord-cadre" in (techniques or [])

    raw_cpv = text(rec.get("codeCPV"))
    cpv_match = _CPV_RE.match(raw_cpv or "")
    if raw_cpv and not cpv_match:
        issues.append(_issue("decp.cpv_format", _show(raw_cpv)))

    lieu_code = text(lieu.get("code"))
    raw_type_code = text(lieu.get("typeCode"))
    type_code = ref.code_list("lieuExecution.typeCode").canonical(raw_type_code)
    departement, dep_method = resolve_departement(lieu_code, type_code)

    montant, duree = parse_number(rec.get("montant")), parse_months(rec.get("dureeMois"))
    titulaires, tit_issues = normalize_titulaires(rec.get("titulaires"))
    issues += tit_issues

    modifications = [m for m in _flatten_items(rec.get("modifications"), "modification") if isinstance(m, dict)]
    history = []
    ordered = sorted(modifications, key=_modification_order)
    for rank, mod in enumerate(ordered, start=1):
        mod_date = _modification_date(mod)
        history.append({"rang": rank, "date_modification": None if mod_date == "9999-12-31" else mod_date,
                         "montant": parse_number(mod.get("montant")), "duree_mois": parse_months(mod.get("dureeMois")),
                         "objet": text(mod.get("objetModification"))})
        # Amounts and durations in modifications are new totals; titulaires replace the previous ones.
        if parse_number(mod.get("montant")) is not None:
            montant = parse_number(mod.get("montant"))
        if parse_months(mod.get("dureeMois")) is not None:
            duree = parse_months(mod.get("dureeMois"))
        mod_titulaires, mod_issues = normalize_titulaires(mod.get("titulaires"))
        history[-1]["n_titulaires"] = len(mod_titulaires) or None
        if mod_titulaires:
            titulaires = mod_titulaires
        issues += mod_issues

    if decp_format == "2019":
        considerations, unknown_cs = None, []  # the 2019 format has no such field: unknown, never "none"
    else:
        considerations, unknown_cs = normalize_considerations(
            rec.get("considerationsSociales"), "considerationSociale", "considerationSociale"
        )
    if unknown_cs:
        issues.append(_issue("decp.considerations_known", ", ".join(_show(v) for v in unknown_cs)))
    environment, _ = normalize_considerations(
        rec.get("considerationsEnvironnementales"), "considerationEnvironnementale", "considerationEnvironnementale"
    )

    for key, label in (("dateNotification", "date_notification"), ("datePublicationDonnees", "date_publication")):
        if not is_missing(rec.get(key)) and parse_date(rec.get(key)) is None:
            issues.append(_issue(f"decp.{label}_valid", f"{_show(rec.get(key))} is not a date"))
    for key, rule_id, parser in (("montant", "decp.montant_present", parse_number),
                                 ("dureeMois", "decp.duree_mois_valid", parse_months)):
        if rec.get(key) is not None and parser(rec.get(key)) is None:
            issues.append(_issue(rule_id, f"{_show(rec.get(key))} is not a number"))
    # The current amount as published (modifications applied); a placeholder or absurd one is flagged and
    # excluded from every sum, the contract still counts (decision 140).
    montant_publie = montant
    motif = montant_exclusion(montant) if montant is not None else None

    return {
        "uid": (acheteur_id or "") + (contract_id or "") if acheteur_id and contract_id else None,
        "id": contract_id,
        "acheteur_id": acheteur_id,
        "acheteur_nom": text(acheteur.get("nom")),
        "decp_format": decp_format,
        "nature": nature,
        "is_accord_cadre": is_accord_cadre,
        "objet": text(rec.get("objet")),
        "code_cpv": cpv_match.group(1) if cpv_match else None,
        "procedure": procedure,
        "lieu_execution_code": lieu_code,
        "lieu_execution_type_code": type_code,
        "departement_execution": departement,
        "departement_method": dep_method,
        "duree_mois": duree,
        "date_notification": parse_date(rec.get("dateNotification")),
        "date_publication": parse_date(rec.get("datePublicationDonnees")),
        "montant": None if motif else montant,
        "montant_publie": montant_publie,
        "montant_exclu_motif": motif,
        "forme_prix": ref.code_list("formePrix").canonical(text(rec.get("formePrix"))),
        "considerations_sociales": considerations,
        "considerations_environnementales": environment,
        "titulaires": titulaires,
        "n_titulaires": len(titulaires),
        "n_modifications": len(modifications),
        "modifications": history,
        "issues": issues,
    }
