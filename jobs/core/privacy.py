"""Pseudonymisation of person ids: a keyed hash (HMAC-SHA256) whose key comes from configuration."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from schemas.referential import fold_text

_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_FR = re.compile(r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})")


def pseudonymize(key: bytes, namespace: str, value: str) -> str:
    """Stable pseudonym of ``value`` within ``namespace`` (e.g. the facilitator the id comes from).

    Without the key the pseudonym cannot be linked back to the id; rotating the key changes every
    pseudonym (see the README's privacy section).
    """
    message = f"{namespace}\x1f{value.strip()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


PERSON_NAMESPACE = "personne"  # one namespace for every facilitator: the same person gets the same key


def name_key(value: str | None) -> str:
    """A last or first name folded for linkage: case, accents, spaces, hyphens and apostrophes ignored
    ("Jean-Pierre", "JEAN PIERRE" and "jean pierre" are one name)."""
    return fold_text(value or "").replace(" ", "")


def birth_date_iso(value: str | None, today: date | None = None) -> str | None:
    """A full birth date (dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd, or a spreadsheet's ISO
    timestamp) as ISO text; None when it is missing, partial (a year, two-digit years), impossible or future."""
    if not value:
        return None
    text = value.strip().split("T")[0].split(" ")[0]
    m = _ISO.fullmatch(text) or _FR.fullmatch(text)
    if not m:
        return None
    y, mo, d = (m["y"], m["m"], m["d"])
    try:
        born = date(int(y), int(mo), int(d))
    except ValueError:
        return None
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        return None
    return born.isoformat()


def person_link_key(key: bytes, last_name: str | None, first_name: str | None, birth_iso: str | None) -> str | None:
    """The cross-facilitator key of a person: keyed hash of the folded (last name, first name, full birth date);
    None when one of the three is missing (the caller then falls back on the local id's pseudonym)."""
    last, first = name_key(last_name), name_key(first_name)
    if not (last and first and birth_iso):
        return None
    return pseudonymize(key, PERSON_NAMESPACE, f"{last}|{first}|{birth_iso}")
