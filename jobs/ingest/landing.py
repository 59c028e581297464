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

from jobs.core.context import RunContext
from jobs.core.settings import Settings
from jobs.core.storage import ObjectStore

MAX_NAME = 200
MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")


class LandingInterrupted(RuntimeError):
    """Storage failed mid-batch. Nothing partial is visible (the manifest is written last); a rerun lands
    the files that were not landed and skips the others."""


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


def name_problem(name: str) -> str | None:
    """Why a file name may not be landed (None when it may).

    Refused: anything that could climb out of the zone or hide (``..``, ``/``, ``\\``, control and invisible
    characters such as a right-to-left override, a leading dot or dash), letters of other scripts that
    look like Latin ones (a Cyrillic ``е`` in ``rapport.csv``) and names too long for the object key.
    """
    if not name:
        return "empty file name"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "control or invisible characters in the file name"
    if any(x in candidate for candidate in (name, unicodedata.normalize("NFKC", name)) for x in ("/", "\\", "..")):
        return "path elements in the file name"
    if name[0] in ".-":
        return "file name starting with a dot or a dash"
    for c in unicodedata.normalize("NFKD", name):
        if ord(c) > 127 and unicodedata.category(c).startswith("L") and "LATIN" not in unicodedata.name(c, ""):
            return f"letter of a non-Latin script in the file name ({unicodedata.name(c, hex(ord(c)))})"
    folded = _fold(name)
    if len(folded) > MAX_NAME:
        return f"file name longer than {MAX_NAME} characters"
    if not _SAFE_NAME.match(folded):
        return "unsupported characters in the file name (letters, digits, . _ - and spaces only)"
    return None


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace(" ", "_")


def safe_name(name: str) -> str | None:
    """The name under which a file may be landed (accents folded to ASCII, spaces to underscores), or
    None if it must be refused (see ``name_problem``)."""
    return None if name_problem(name) else _fold(name)


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
        name, problem = safe_name(path.name), name_problem(path.name)
        if path.is_symlink() or not path.is_file() or problem:
            reason = "symbolic link" if path.is_symlink() else "not a regular file" if not path.is_file() \
                else f"unsafe file name: {problem}"
            result.refused.append({"name": path.name, "reason": reason})
            continue
        sha = sha256_of(path)
        m_uri = manifest_uri(settings, source, sha)
        if store.exists(m_uri):
            result.skipped.append({"name": path.name, "sha256": sha, "reason": "already landed (same checksum)"})
            continue
        key = f"raw/{source}/landed_date={now:%Y-%m-%d}/{sha[:16]}_{name}"
        uri = f"{settings.lake_uri}/{key}"
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
        try:
            store.put_file(path, uri)
            store.put_bytes(json.dumps(entry, ensure_ascii=False, indent=1).encode(), m_uri)
        except Exception as exc:
            raise LandingInterrupted(
                f"landing of {source} stopped at {path.name}: storage failed ({type(exc).__name__}: {exc}); "
                f"{len(result.landed)} file(s) landed before it, none partially; rerun to land the rest"
            ) from exc
        result.landed.append(entry)
    return result


def run(ctx: RunContext, source: str, since: str | None = None, until: str | None = None) -> dict:
    """Reads the source's inbox folder (undated files and the month folders in [since, until]); writes each
    new file unchanged into ``raw/<source>/landed_date=<day>/`` with its manifest entry. Files already landed
    (same SHA-256) are skipped; unsafe names are refused with the reason."""
    result = land_inbox(ctx.settings, source, ctx.run_id, ctx.now, since=since, until=until)
    return {"stage": "landing", "source": source, "since": since, "until": until,
            "landed": len(result.landed), "skipped": len(result.skipped),
            "refused": result.refused, "files": [e["key"] for e in result.landed]}
