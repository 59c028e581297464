"""Download configured source files over HTTP(S) into the inbox, safely.

The body is streamed to a hidden ``.part`` file (which landing ignores), its length and SHA-256 checked,
and only then renamed into ``<inbox>/<source>/``: a partial or corrupt download is never landed.
Connection errors, timeouts, 429/5xx answers and truncated bodies are retried with exponential backoff.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests
import yaml

from jobs.core.context import RunContext
from jobs.ingest.landing import name_problem, safe_name

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    pass


class FinalDownloadError(DownloadError):
    """An answer that another attempt will not change (404, 403...)."""


@dataclass(frozen=True)
class DownloadSpec:
    source: str
    url: str
    name: str | None = None  # file name in the inbox (default: last segment of the URL path)
    sha256: str | None = None  # expected checksum, when the publisher gives one


def load_specs(path: str | None) -> list[DownloadSpec]:
    """Download list from a YAML/JSON file: ``{source: [{url, name?, sha256?}, ...]}``."""
    if not path or not Path(path).is_file():
        return []
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [DownloadSpec(source, **item) for source, items in data.items() for item in (items or [])]


def target_name(spec: DownloadSpec) -> str:
    raw = spec.name or unquote(Path(urlparse(spec.url).path).name)
    problem = name_problem(raw)
    if problem:
        raise DownloadError(f"refused download name {raw!r} from {spec.url}: {problem}")
    if name_problem(spec.source):
        raise DownloadError(f"refused source folder {spec.source!r}: {name_problem(spec.source)}")
    return safe_name(raw)


def download(spec: DownloadSpec, inbox: Path, *, attempts: int = 4, backoff: float = 1.0,
             timeout: float = 30.0, session: requests.Session | None = None) -> dict:
    """Fetch one file into ``inbox/<source>/``; returns what was written (name, size, sha256, attempts)."""
    if urlparse(spec.url).scheme not in ("http", "https"):
        raise DownloadError(f"only http(s) URLs are downloaded, not {spec.url!r}")
    name = target_name(spec)
    folder = inbox / spec.source
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    http = session or requests.Session()
    last_error = "no attempt"
    for attempt in range(1, attempts + 1):
        try:
            with http.get(spec.url, stream=True, timeout=timeout) as response:
                if response.status_code in RETRYABLE_STATUS:
                    raise DownloadError(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    raise FinalDownloadError(f"HTTP {response.status_code}")
                expected_length = response.headers.get("Content-Length")
                digest, size = hashlib.sha256(), 0
                with part.open("wb") as out:
                    for chunk in response.iter_content(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            if expected_length is not None and int(expected_length) != size:
                raise DownloadError(f"truncated body: {size} of {expected_length} bytes")
            sha = digest.hexdigest()
            if spec.sha256 and sha != spec.sha256.lower():
                raise DownloadError(f"checksum mismatch: got {sha}, expected {spec.sha256}")
            final = folder / name
            os.replace(part, final)
            return {"source": spec.source, "url": spec.url, "name": name, "size": size, "sha256": sha,
                    "attempts": attempt}
        except (requests.RequestException, DownloadError) as exc:
            part.unlink(missing_ok=True)
            last_error = str(exc)
            if isinstance(exc, FinalDownloadError):
                break
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise DownloadError(f"download of {spec.url} failed after {attempt} attempt(s): {last_error}")


def download_all(specs: list[DownloadSpec], inbox: Path, source: str, **kwargs) -> dict:
    """Download the specs of one source; a failed URL is reported, the others still come in."""
    done, failed = [], []
    for spec in (s for s in specs if s.source == source):
        try:
            done.append(download(spec, inbox, **kwargs))
        except DownloadError as exc:
            failed.append({"url": spec.url, "error": str(exc)})
    return {"source": source, "downloaded": done, "failed": failed}


def run(ctx: RunContext, source: str) -> dict:
    """Reads the source's URLs from ``OBS_DOWNLOADS_FILE``; writes each download into the inbox (through a
    hidden ``.part`` file, checked before it is moved in). A failed URL is reported, the others come in."""
    report = download_all(load_specs(ctx.settings.downloads_file), ctx.settings.inbox_path, source)
    return {"stage": "download", **report}

