"""Land files dropped in the inbox into the raw zone, unchanged, with a manifest.

Inbox layout: ``<inbox>/<source>/<file>`` (undated: registers, manual drops) and
``<inbox>/<source>/<YYYY-MM>/<file>`` (the deliveries of a month). A run for month M lands the undated
files and the month folders up to M (``until``), from an optional first month (``since``): late files of
earlier months are caught up, files of later months wait for their run.

Key: ``raw/<source>/landed_date=<YYYY-MM-DD>/<sha256 prefix>_<file name>``. The manifest entry
``raw/_manifest/<source>/<sha256>.json`` is written last and makes landing idempotent: a file whose
checksum is already in the manifest is skipped, whatever its name.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from jobs.settings import Settings
from jobs.storage import ObjectStore

MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")


@dataclass
class LandingResult:
    source: str
    landed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # already landed (same checksum)
    refused: list[dict] = field(default_factory=list)  # unsafe names, links, unreadable files

    def as_dict(self) -> dict:
        return asdict(self)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def safe_name(name: str) -> str | None:
    """The name under which a file may be landed, or None if it must be refused.

    Accents are folded to ASCII and spaces become underscores; anything that could climb out of the
    zone or hide (``..``, ``/``, control characters, leading dot) is refused.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "/" in name or "\\" in name or ".." in name:
        return None
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace(" ", "_")
    return folded if _SAFE_NAME.match(folded) else None


def manifest_uri(settings: Settings, source: str, sha256: str) -> str:
    return f"{settings.zone_uri('raw')}/_manifest/{source}/{sha256}.json"


def read_manifest(settings: Settings, source: str, store: ObjectStore | None = None) -> list[dict]:
    store = store or ObjectStore(settings)
    prefix = f"{settings.zone_uri('raw')}/_manifest/{source}"
    return [json.loads(store.get_bytes(u)) for u in store.list(prefix) if u.endswith(".json")]


def inbox_candidates(inbox: Path, since: str | None = None, until: str | None = None) -> list[tuple[Path, str | None]]:
    """(path, month) of the inbox entries a run selects: undated entries, and the files of the month
    folders (``YYYY-MM``) within [since, until] (``None``: unbounded)."""
    out: list[tuple[Path, str | None]] = []
    for path in sorted(inbox.iterdir()):
        if path.is_dir() and not path.is_symlink() and MONTH_FOLDER.match(path.name):
            if (since is None or path.name >= since) and (until is None or path.name <= until):
                out += [(f, path.name) for f in sorted(path.iterdir())]
        else:
            out.append((path, None))
    return out


def land_inbox(settings: Settings, source: str, landing_id: str, now: datetime, since: str | None = None,
               until: str | None = None) -> LandingResult:
    store = ObjectStore(settings)
    store.ensure_bucket()
    inbox = Path(settings.inbox_dir) / source
    result = LandingResult(source)
    if not inbox.is_dir():
        return result
    for path, month in inbox_candidates(inbox, since, until):
        if path.name.endswith(IGNORED_SUFFIXES) or path.name.startswith("."):
            continue  # partial downloads and hidden files are not ready to land
        name = safe_name(path.name)
        if path.is_symlink() or not path.is_file() or name is None:
            reason = "symbolic link" if path.is_symlink() else "not a regular file" if not path.is_file() \
                else "unsafe file name (control characters, path elements or unsupported characters)"
            result.refused.append({"name": path.name, "reason": reason})
            continue
        sha = sha256_of(path)
        m_uri = manifest_uri(settings, source, sha)
        if store.exists(m_uri):
            result.skipped.append({"name": path.name, "sha256": sha, "reason": "already landed (same checksum)"})
            continue
        key = f"raw/{source}/landed_date={now:%Y-%m-%d}/{sha[:16]}_{name}"
        uri = f"{settings.lake_uri}/{key}"
        store.put_file(path, uri)
        entry = {
            "source": source,
            "original_name": path.name,
            "uri": uri,
            "key": key,
            "sha256": sha,
            "size": path.stat().st_size,
            "landed_at": now.isoformat(),
            "landing_id": landing_id,
            "period": month,
        }
        store.put_bytes(json.dumps(entry, ensure_ascii=False, indent=1).encode(), m_uri)
        result.landed.append(entry)
    return result
