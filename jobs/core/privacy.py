"""Pseudonymisation of person ids: a keyed hash (HMAC-SHA256) whose key comes from configuration."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date
from typing import TYPE_CHECKING

from schemas.referential import fold_text

if TYPE_CHECKING:
    from jobs.core.settings import Settings
    from jobs.core.storage import ObjectStore

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


class KeyMismatchError(RuntimeError):
    """The configured key is not the one the lake's pseudonyms were made with."""


def key_mark_dir(settings: Settings) -> str:
    """The folder of the lake's key fingerprint (a folder: ``rotate-key`` deletes it as a prefix)."""
    return f"{settings.lake_uri}/_meta/pseudonymisation_key"


def key_fingerprint(key: bytes) -> str:
    """Names the key without revealing it (an HMAC of a constant): two keys, two fingerprints."""
    return hmac.new(key, b"observatoire-clauses key fingerprint", hashlib.sha256).hexdigest()[:16]


def check_lake_key(settings: Settings, store: ObjectStore) -> str:
    """Refuse to pseudonymise with another key than the lake's: the same person would get two keys across
    months (counted twice, outcomes linked to no contract). The first load records the key's fingerprint;
    ``rotate-key`` moves a lake to a new key. Returns the fingerprint."""
    current = key_fingerprint(settings.pseudonymization_key_bytes())
    uri = f"{key_mark_dir(settings)}/fingerprint.json"
    if not store.exists(uri):
        store.put_bytes(json.dumps({"fingerprint": current}).encode(), uri)
        return current
    recorded = json.loads(store.get_bytes(uri))["fingerprint"]
    if recorded != current:
        raise KeyMismatchError(
            f"the persons of the lake {settings.lake_uri} were pseudonymised with another key (fingerprint "
            f"{recorded}, configured key {current}): set OBS_PSEUDONYMIZATION_KEY to the lake's key, or move the "
            "lake to the new key with `python -m jobs.pipeline rotate-key` (README, key rotation)")
    return current
